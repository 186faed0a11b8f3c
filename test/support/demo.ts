import type { QuarantineSpec } from '../../emulators/jobs';
import type { World } from './world';

/**
 * The demo scenario's tenants and jobs (emulators/scenarios/demo.json) that the integration tests
 * drive, and the story steps and readings they share: what used to be built again in each file.
 */

export const CONTOSO = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
export const NORTHWIND = '8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d';
/** Contoso's cross-tenant sync from Fabrikam ("Fabrikam to Contoso"). */
export const FABRIKAM_JOB = 'Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e01';
/** Contoso's cross-tenant sync from Woodgrove. */
export const WOODGROVE_JOB = 'Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e02';
/** Contoso's provisioning to ServiceNow (a SCIM app). */
export const SERVICENOW_JOB =
  'ServiceNowOutDelta.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e04';
/** Northwind's cross-tenant sync from Contoso ("Contoso to Northwind"). */
export const NORTHWIND_JOB = 'Azure2Azure.8d1b6e425c3a4f7eb9d02a4c6e8f0b1d.7d2e1f3a-9b4c-4d6e-8f0a-1b2c3d4e5f01';

/** A clean slate for the next test: the emulators' state, faults and records forgotten, and tables of its own. */
export function freshStart(world: World, prefix: string): void {
  world.cloud.control.reset();
  world.cloud.acs.reset();
  world.cloud.webhooks.reset();
  world.cloud.pagerduty.reset();
  world.cloud.logAnalytics.reset();
  world.tableName = `${prefix}${Math.random().toString(36).slice(2)}`;
}

/** A job quarantines (TooManyDeletes by default: Fabrikam to Contoso's deletion threshold trips). */
export function quarantine(
  world: World,
  tenant = CONTOSO,
  job = FABRIKAM_JOB,
  quarantine: QuarantineSpec = { reason: 'TooManyDeletes' },
): void {
  world.cloud.control.setJob(tenant, job, { state: 'quarantined', quarantine });
}

/** A job is healthy again. */
export function recover(world: World, tenant = CONTOSO, job = FABRIKAM_JOB): void {
  world.cloud.control.setJob(tenant, job, { state: 'healthy' });
}

/** The subjects of the emails ACS delivered, in order. */
export function emailSubjects(world: World): string[] {
  return world.cloud.acs.messages().map((m) => m.subject);
}

/** What each channel post the receivers took is called: `teams:<the card's fallback text>`, `webhook:<the payload's subject>`. */
export function postSubjects(world: World): string[] {
  return world.cloud.webhooks.accepted().map((p) => {
    const body = JSON.parse(p.body);
    return `${p.kind}:${p.kind === 'teams' ? body.attachments[0].content.fallbackText : body.summary.subject}`;
  });
}
