/**
 * The worlds `npm run bench` measures: N tenants, each with five cross-tenant synchronization
 * configurations (one job each) and provisioning logs, behind Graph's latency and limits
 * (emulators/throttle.ts). Deterministic: the same N gives the same world.
 */
import { guidFrom, jobIdFor, type Scenario } from '../../emulators';

const CROSS_TENANT = '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7';
export const JOBS_PER_TENANT = 5;

export interface WorldOptions {
  tenants: number;
  /** Milliseconds per Graph (and token) answer. */
  latencyMs: number;
  jobsPerTenant?: number;
}

/**
 * The 5 % of tenants in trouble, as an MSP's day has them: every 40th tenant has a quarantined job
 * (2.5 %), and every 40th from the 20th on a job whose runs end EntryLevelErrors with 12 objects in
 * escrow and 12 failed events in its provisioning logs (2.5 %). Both show in the job status, so the
 * cycle reads these tenants' logs every cycle (lib/cycle/log-plan.ts); the others only on their turn.
 */
type Trouble = 'quarantined' | 'failing';

function troubleOf(index: number): Trouble | undefined {
  if (index % 40 === 0) return 'quarantined';
  if (index % 40 === 20) return 'failing';
  return undefined;
}

/** The tenant ID of the bench world's tenant `index` (the same in every process). */
export const benchTenantId = (index: number): string => guidFrom(`bench-tenant-${index}`);

/** The tenants of an N-tenant world that are in trouble (lower-case IDs). */
/** The index of a tenant never in trouble at or after `index`. */
export function healthyTenantFrom(index: number): number {
  let i = index;
  while (troubleOf(i)) i++;
  return i;
}

export function troubledTenants(tenants: number): Set<string> {
  const ids = new Set<string>();
  for (let i = 0; i < tenants; i++) if (troubleOf(i)) ids.add(benchTenantId(i).toLowerCase());
  return ids;
}

/** The job of the k-th configuration of the i-th tenant. */
export function benchJobId(i: number, k: number): string {
  return jobIdFor('Azure2Azure', benchTenantId(i), guidFrom(`bench-sp-${i}-${k}`));
}

/** A world of N tenants, 5 % of them in trouble (troubleOf); `jobsPerTenant` configurations each (default JOBS_PER_TENANT). */
export function benchScenario({ tenants, latencyMs, jobsPerTenant = JOBS_PER_TENANT }: WorldOptions): Scenario {
  return {
    name: `bench-${tenants}`,
    app: { clientId: guidFrom('bench-app'), clientSecret: 'bench-secret~1' },
    // Graph's documented limits (the defaults) and a round trip per answer.
    graphLimits: { latencyMs },
    tenants: Array.from({ length: tenants }, (_, i) => {
      const id = benchTenantId(i);
      const trouble = troubleOf(i);
      const sps = Array.from({ length: jobsPerTenant }, (_, k) => guidFrom(`bench-sp-${i}-${k}`));
      return {
        id,
        displayName: `Tenant ${i + 1}`,
        grants: ['Application.Read.All', 'Synchronization.Read.All', 'AuditLog.Read.All'],
        servicePrincipals: sps.map((sp, k) => ({
          id: sp,
          appId: guidFrom(`bench-app-${i}-${k}`),
          displayName: `Partner ${k + 1} to Tenant ${i + 1}`,
          applicationTemplateId: CROSS_TENANT,
          jobs: [
            trouble === 'quarantined' && k === 0
              ? {
                  id: jobIdFor('Azure2Azure', id, sp),
                  templateId: 'Azure2Azure',
                  state: 'quarantined' as const,
                  quarantine: { reason: 'EncounteredQuarantineException' },
                }
              : trouble === 'failing' && k === 0
                ? {
                    id: jobIdFor('Azure2Azure', id, sp),
                    templateId: 'Azure2Azure',
                    state: 'failing' as const,
                    escrowed: 12,
                  }
                : { id: jobIdFor('Azure2Azure', id, sp), templateId: 'Azure2Azure', state: 'healthy' as const },
          ],
        })),
        provisioningEvents:
          trouble === 'failing'
            ? [
                {
                  job: jobIdFor('Azure2Azure', id, sps[0]!),
                  count: 12,
                  status: 'failure' as const,
                  errorCode: 'EntryConflict',
                  minutesAgo: 2,
                  spreadMinutes: 20,
                },
              ]
            : undefined,
      };
    }),
  } as Scenario;
}
