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
}

/** Every 50th tenant has a quarantined job; every 25th (offset 1) has 12 failed provisioning events in its logs. */
export function benchScenario({ tenants, latencyMs }: WorldOptions): Scenario {
  return {
    name: `bench-${tenants}`,
    app: { clientId: guidFrom('bench-app'), clientSecret: 'bench-secret~1' },
    // Graph's documented limits (the defaults) and a round trip per answer.
    graphLimits: { latencyMs },
    tenants: Array.from({ length: tenants }, (_, i) => {
      const id = guidFrom(`bench-tenant-${i}`);
      const sps = Array.from({ length: JOBS_PER_TENANT }, (_, k) => guidFrom(`bench-sp-${i}-${k}`));
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
            i % 50 === 0 && k === 0
              ? {
                  id: jobIdFor('Azure2Azure', id, sp),
                  templateId: 'Azure2Azure',
                  state: 'quarantined' as const,
                  quarantine: { reason: 'EncounteredQuarantineException' },
                }
              : { id: jobIdFor('Azure2Azure', id, sp), templateId: 'Azure2Azure', state: 'healthy' as const },
          ],
        })),
        provisioningEvents:
          i % 25 === 1
            ? [
                {
                  job: jobIdFor('Azure2Azure', id, sps[1]!),
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
