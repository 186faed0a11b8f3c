import type { AlertRecord, Link } from '../model';
import type { PresentContext } from './rule';

/** Helpers the rules share to present their alerts. Values stay raw: channels escape them. */

export function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

/** `Fabrikam (3f6a…)` when the config names the tenant, else its id. */
export function tenantLabel(tenantId: string, ctx: PresentContext): string {
  const name = ctx.tenantName(tenantId);
  return name ? `${name} (${tenantId})` : tenantId;
}

/** The tenant's name when the config gives one, else its id. */
export function shortTenant(tenantId: string, ctx: PresentContext): string {
  return ctx.tenantName(tenantId) ?? tenantId;
}

/** The configuration's display name, or its service principal id. */
export function appName(alert: AlertRecord): string {
  return str(alert.annotations.servicePrincipalName) || alert.labels.servicePrincipalId;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The configuration in the Entra admin center. */
export function entraLinks(alert: AlertRecord): Link[] {
  const { servicePrincipalId } = alert.labels;
  const appId = str(alert.annotations.appId);
  if (!GUID.test(servicePrincipalId) || !GUID.test(appId)) return [];
  return [{
    label: 'Open the configuration in the Entra admin center',
    href: `https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Overview/objectId/${servicePrincipalId}/appId/${appId}`,
  }];
}

/** The tenant, configuration and job rows every job alert starts with. */
export function jobIdentityFacts(alert: AlertRecord, ctx: PresentContext): [string, string][] {
  const n = alert.annotations;
  return [
    ['Tenant', tenantLabel(alert.labels.tenantId, ctx)],
    ['Configuration', str(n.servicePrincipalName)],
    ['Job', `${alert.labels.jobId}${n.templateId ? ` (${str(n.templateId)})` : ''}`],
  ];
}

/** The tenant and configuration rows every alert about a whole configuration starts with. */
export function configurationFacts(alert: AlertRecord, ctx: PresentContext): [string, string][] {
  return [
    ['Tenant', tenantLabel(alert.labels.tenantId, ctx)],
    ['Configuration', `${appName(alert)} (service principal ${alert.labels.servicePrincipalId})`],
  ];
}

/** A runbook's steps with the advice for a well-known error code first, when there is one. */
export function withAdvice(steps: string[], advice: string | undefined): string[] {
  return advice ? [advice, ...steps] : steps;
}

/** Label and value pairs whose value is given (not undefined, empty, or a zero count). */
export function givenFacts(pairs: [string, unknown][]): [string, string][] {
  return pairs.filter(([, v]) => v !== undefined && v !== null && v !== '' && v !== 0).map(([k, v]) => [k, str(v)]);
}
