import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { runCycle, type CycleDeps } from '../../lib/cycle/cycle';
import { type CyclePoint } from '../../lib/model';
import { stateStores } from '../../lib/store/state-table';
import { withSlowWrites } from '../support/slow-table';
import { startWorld, type World } from '../support/world';
import { alertIdsOf } from '../support/notices';

const CONTOSO = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const NORTHWIND = '8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d';
const FABRIKAM_JOB = 'Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e01';
const NORTHWIND_JOB = 'Azure2Azure.8d1b6e425c3a4f7eb9d02a4c6e8f0b1d.7d2e1f3a-9b4c-4d6e-8f0a-1b2c3d4e5f01';

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
  beforeEach(() => {
    world.cloud.control.reset();
    world.cloud.acs.reset();
    world.tableName = `o${Math.random().toString(36).slice(2)}`;
  });

  const quarantine = (tenant: string, job: string) =>
    world.cloud.control.setJob(tenant, job, {
      state: 'quarantined',
      quarantine: { reason: 'EncounteredQuarantineException' },
    });

  it('deliver each alert once when the first instance writes its outbox slowly and the second saw more (the race of issue #8)', async () => {
    quarantine(CONTOSO, FABRIKAM_JOB);
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
          quarantine(NORTHWIND, NORTHWIND_JOB);
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
    quarantine(CONTOSO, FABRIKAM_JOB);
    quarantine(NORTHWIND, NORTHWIND_JOB);
    await Promise.all([runCycle(world.deps()), runCycle(world.deps()), runCycle(world.deps())]);
    expect([...deliveredAlerts(world).values()]).toEqual([1, 1]);
    world.cloud.control.setJob(CONTOSO, FABRIKAM_JOB, { state: 'healthy' });
    world.cloud.control.setJob(NORTHWIND, NORTHWIND_JOB, { state: 'healthy' });
    await Promise.all([runCycle(world.deps()), runCycle(world.deps()), runCycle(world.deps())]);
    const subjects = world.cloud.acs.messages().map((m) => m.subject.replace(/:.*/, ''));
    expect(subjects.filter((s) => /resolved/i.test(s))).toHaveLength(1);
    expect([...deliveredAlerts(world).values()]).toEqual([2, 2]);
  });
});
