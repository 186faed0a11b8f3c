import { TableClient } from '@azure/data-tables';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { runCycle } from '../../lib/cycle/cycle';
import { startWorld, type World } from '../support/world';
import { CONTOSO, NORTHWIND, NORTHWIND_JOB, postSubjects, quarantine } from '../support/demo';

/**
 * Stored data is a contract: a deployed instance upgrades with alerts, route logs and outbox rows
 * already in Table Storage. These rows were written by the release before the channel registry
 * (test/fixtures/stored-rows-v1.json, captured from a run of that code mid-incident): an email whose
 * send was started and never answered (its attempt written down), Teams posts that failed, a
 * digest still owed to Teams, notices already sent by email (route logs `root.0`, `root.1`) and by
 * webhook (`root.0~webhook:OPS_WEBHOOK_URL`). The current code must deliver what is owed, once,
 * and send nothing that was sent.
 */

interface StoredRows {
  capturedAt: string;
  alerts: Record<string, unknown>[];
  state: Record<string, unknown>[];
}

const rows = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'stored-rows-v1.json'), 'utf8')) as StoredRows;

/**
 * The config the rows were written under (its addresses now on contoso.com: example domains are
 * refused since; the stored messages keep the recipients they were planned for).
 */
const policy = buildPolicy(
  {
    tenants: { [CONTOSO]: { name: 'Contoso' }, [NORTHWIND]: { name: 'Northwind' } },
    route: {
      to: ['ops@contoso.com'],
      repeatInterval: '30d',
      channels: [
        { type: 'teams', urlSetting: 'TEAMS_OPS_URL' },
        { type: 'webhook', urlSetting: 'OPS_WEBHOOK_URL', secretSetting: 'OPS_WEBHOOK_SECRET' },
      ],
      digest: { at: '00:00', timeZone: 'UTC' },
      routes: [
        { match: { tenant: CONTOSO }, to: ['contoso-ops@contoso.com'], continue: true },
        { match: { condition: 'deletion-threshold' }, to: ['holds@contoso.com'] },
      ],
    },
    // The clock below is the capture's, behind the emulator's: a running job would look stalled.
    rules: { 'job-stalled': { enabled: false } },
  },
  { emailTo: ['ops@contoso.com'] },
);

async function load(table: string, entities: Record<string, unknown>[]): Promise<void> {
  const client = TableClient.fromConnectionString(inject('storageConnectionString'), table, {
    allowInsecureConnection: true,
  });
  await client.createTable();
  for (const entity of entities)
    await client.createEntity(entity as { partitionKey: string; rowKey: string } & Record<string, unknown>);
}

describe('upgrade: rows written by the release before the channel registry', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
    world.tableName = `up${Math.random().toString(36).slice(2)}`;
    // The jobs as they stood when the rows were written.
    quarantine(world);
    quarantine(world, NORTHWIND, NORTHWIND_JOB, { reason: 'EncounteredQuarantineException' });
    await load(`${world.tableName}alerts`, rows.alerts);
    await load(`${world.tableName}state`, rows.state);
  });
  afterAll(() => world.stop());

  /** Five minutes after the capture: the old instance's planning lease has run out. */
  const later = (minutes: number) =>
    world.deps({ policy, clock: () => new Date(Date.parse(rows.capturedAt) + minutes * 60_000) });

  it('asks ACS about the email whose send was never answered, then sends each owed message once and nothing sent before', async () => {
    const first = await runCycle(later(5));
    expect(first.errors).toEqual([]);
    // The email's attempt was asked about before anything was sent (the operation is unknown to this ACS: never arrived).
    const operationId = JSON.parse(
      String(rows.state.find((r) => typeof r.attempt === 'string' && r.attempt !== '')?.attempt),
    ).operationId;
    const asked = world.cloud.acs.requests().findIndex((r) => r.method === 'GET' && r.operationId === operationId);
    const sentAt = world.cloud.acs.requests().findIndex((r) => r.method === 'POST');
    expect(asked).toBeGreaterThanOrEqual(0);
    expect(asked).toBeLessThan(sentAt);
    expect(world.cloud.acs.messages().map((m) => [m.to.map((t) => t.address).join(), m.subject])).toEqual([
      // The recipients the stored row was planned with (rows captured from the release before: stored data is a contract).
      ['ops@contoso.example', 'Northwind: Quarantined: Contoso to Northwind (since 6 Dec 09:05 UTC)'],
    ]);
    expect(world.cloud.acs.messages()[0]?.operationId).toBe(operationId);
    expect(postSubjects(world).sort()).toEqual([
      // The digest as it stood when it was planned (one alert open then).
      'teams:Contoso: Deletion threshold tripped: Fabrikam to Contoso (since 6 Dec 09:00 UTC)',
      'teams:Contoso: Deletion threshold tripped: Fabrikam to Contoso (since 6 Dec 09:00 UTC)',
      'teams:Contoso: daily digest 2026-12-06, 1 open alert (1 critical)',
      'teams:Northwind: Quarantined: Contoso to Northwind (since 6 Dec 09:05 UTC)',
      'webhook:Northwind: Quarantined: Contoso to Northwind (since 6 Dec 09:05 UTC)',
    ]);

    const second = await runCycle(later(10));
    expect(second.errors).toEqual([]);
    expect([second.notificationsSent, second.notificationsPending]).toEqual([0, 0]);
    expect(world.cloud.acs.messages()).toHaveLength(1);
    expect(world.cloud.webhooks.accepted()).toHaveLength(5);
  });

  it('keeps the route logs where they were: email under the bare route id, each channel under its own', async () => {
    const alerts = await world.deps().alerts.loadAll();
    const logs = Object.fromEntries(
      [...alerts.values()].map((a) => [a.labels.tenantId, Object.keys(a.notified).sort()]),
    );
    expect(logs).toEqual({
      [CONTOSO]: [
        'root.0',
        'root.0~teams:TEAMS_OPS_URL',
        'root.0~webhook:OPS_WEBHOOK_URL',
        'root.1',
        'root.1~teams:TEAMS_OPS_URL',
        'root.1~webhook:OPS_WEBHOOK_URL',
      ],
      [NORTHWIND]: ['root', 'root~teams:TEAMS_OPS_URL', 'root~webhook:OPS_WEBHOOK_URL'],
    });
  });
});
