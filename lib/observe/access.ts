import type { TenantObservation } from '../model/observation';

/**
 * Whether Graph refused this cycle's reads of a tenant for want of a permission or consent,
 * anywhere: the tenant itself, one configuration's jobs, a check the permissions skipped, or the
 * provisioning logs read with Graph. A token carries the permissions granted when it was issued,
 * so such a tenant's next token must be a new one, or a permission granted since would only take
 * effect when the cached token expires (up to an hour later).
 */
export function refusedAccess(observation: TenantObservation): boolean {
  if (observation.problem?.kind === 'access') return true;
  if (observation.servicePrincipalProblems.some((p) => p.problem.kind === 'access')) return true;
  if ((observation.degraded ?? []).some((d) => d.problem.kind === 'access')) return true;
  if (observation.secretsUnread && [...observation.secretsUnread.values()].some((p) => p.kind === 'access'))
    return true;
  return (observation.provisioning?.problems ?? []).some((p) => p.kind === 'access' && p.source === 'graph');
}
