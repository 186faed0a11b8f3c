import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { runCycle, type CycleDeps } from '../../lib/cycle/cycle';
import { type CyclePoint } from '../../lib/model';
import { stateStores } from '../../lib/store/state-table';
import { withSlowWrites } from '../support/slow-table';
import { startWorld, type World } from '../support/world';
import { alertIdsOf } from '../support/notices';
import { CONTOSO, FABRIKAM_JOB, freshStart, NORTHWIND, NORTHWIND_JOB, quarantine, recover } from '../support/demo';

/** Every alert named in every delivered email, with how many emails named it. */
function deliveredAlerts(world: World): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of world.cloud.acs.messages()) {
    for (const fp of alertIdsOf(m)) counts.set(fp, (counts.get(fp) ?? 0) + 1);
  }
  return counts;
}

describe('instances that overlap', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());
  beforeEach(() => freshStart(world, 'o'));

  const quarantined = (tenant: string, job: string) =>
    quarantine(world, tenant, job, { reason: 'EncounteredQuarantineException' });

  it('deliver each alert once when the first instance writes its outbox slowly and the second saw more (the race of issue #8)', async () => {
    quarantined(CONTOSO, FABRIKAM_JOB);
    let second: Promise<unknown> | undefined;
    let slow = false;
    // The first outbox write after the trigger is the one made slow: the write the race hinges on.
    const slowPlan = (_method: string, partition: string | undefined) => {
      if (!slow || partition !== 'outbox') return false;
      slow = false;
      return true;
    };
    const slowState = stateStores(
      withSlowWrites(
        TableClient.fromConnectionString(inject('storageConnectionString'), `${world.tableName}state`, {
          allowInsecureConnection: true,
        }),
        1500,
        slowPlan,
      ),
    );
    const first = runCycle(
      world.deps({
        ...slowState,
        probe: (point: CyclePoint) => {
          if (point !== 'state-written' || second) return;
          // The first instance has written its alert state and is about to plan; now a second job
          // breaks and a second instance starts and sees both.
          slow = true;
          quarantined(NORTHWIND, NORTHWIND_JOB);
          second = runCycle(world.deps());
        },
      } as Partial<CycleDeps>),
    );
    await first;
    await second;
    const delivered = deliveredAlerts(world);
    expect([...delivered.values()]).toEqual([1, 1]);
    expect(delivered.size).toBe(2);
  });

  it('three instances at once deliver each notice once, through trip and recovery', async () => {
    quarantined(CONTOSO, FABRIKAM_JOB);
    quarantined(NORTHWIND, NORTHWIND_JOB);
    await Promise.all([runCycle(world.deps()), runCycle(world.deps()), runCycle(world.deps())]);
    expect([...deliveredAlerts(world).values()]).toEqual([1, 1]);
    recover(world, CONTOSO, FABRIKAM_JOB);
    recover(world, NORTHWIND, NORTHWIND_JOB);
    await Promise.all([runCycle(world.deps()), runCycle(world.deps()), runCycle(world.deps())]);
    const kinds = world.cloud.acs.messages().map((m) => m.headers?.['X-Entra-Sync-Watch-Kind']);
    expect(kinds.filter((k) => k === 'resolved')).toHaveLength(1);
    expect([...deliveredAlerts(world).values()]).toEqual([2, 2]);
  });
});
