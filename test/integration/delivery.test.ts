import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCycle } from '../../lib/cycle';
import type { AlertRecord } from '../../lib/reconcile/types';
import { AlertStore } from '../../lib/store/alert-store';
import { startWorld, type World } from '../support/world';

const CONTOSO = '3f2a7c1e-9b4d-4e8a-a6c5-1d2e3f405a6b';
const FABRIKAM_JOB = 'Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e01';

/** A store that fails the first write after an email went out: the process "crashed" before the record. */
function crashAfterSend(store: AlertStore): AlertStore {
  let armed = true;
  const wrapper = Object.create(store) as AlertStore;
  wrapper.save = async (record: AlertRecord) => {
    if (armed && record.lastNotifiedAt) {
      armed = false;
      throw new Error('simulated crash after the send, before the record');
    }
    return store.save(record);
  };
  return wrapper;
}

describe('delivery', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());
  beforeEach(() => {
    world.cloud.control.reset();
    world.cloud.acs.reset();
    world.tableName = `d${Math.random().toString(36).slice(2)}`;
  });

  function trip() {
    world.cloud.control.setJob(CONTOSO, FABRIKAM_JOB, { state: 'quarantined', quarantine: { reason: 'TooManyDeletes' } });
  }

  it('a crash after the send and before the record does not send the email twice', async () => {
    trip();
    const deps = world.deps();
    const crashed = await runCycle({ ...deps, store: crashAfterSend(deps.store) });
    expect(crashed.errors.join()).toContain('simulated crash');
    expect(world.cloud.acs.messages()).toHaveLength(1);

    const next = await runCycle(world.deps());
    expect(next.errors).toEqual([]);
    // The retry went to ACS with the same Operation-Id, which delivered nothing new.
    const sends = world.cloud.acs.requests().filter((r) => r.method === 'POST');
    expect(sends).toHaveLength(2);
    expect(sends[0]!.operationId).toBe(sends[1]!.operationId);
    expect(world.cloud.acs.messages()).toHaveLength(1);
    expect((await runCycle(world.deps())).notificationsSent).toBe(0);
  });

  it('an email ACS refuses is kept and sent next cycle', async () => {
    trip();
    world.cloud.acs.injectFault({ status: 400, times: 1, path: 'send' });
    const failed = await runCycle(world.deps());
    expect(failed.errors.join()).toMatch(/sending the firing notice .* failed, will retry next cycle/);
    expect(failed.notificationsPending).toBe(1);
    expect(world.cloud.acs.messages()).toHaveLength(0);

    const retried = await runCycle(world.deps());
    expect(retried.errors).toEqual([]);
    expect(retried.notificationsSent).toBe(1);
    expect(world.cloud.acs.messages()).toHaveLength(1);
  });

  it('an email ACS accepts and then drops is sent again under a new Operation-Id', async () => {
    trip();
    world.cloud.acs.injectFault({ status: 202, times: 1, operationStatus: 'Failed' });
    const failed = await runCycle(world.deps());
    expect(failed.errors.join()).toContain('EmailDropped');
    expect(world.cloud.acs.messages()).toHaveLength(0);

    await runCycle(world.deps());
    expect(world.cloud.acs.messages()).toHaveLength(1);
    const ids = world.cloud.acs.requests().filter((r) => r.method === 'POST').map((r) => r.operationId);
    expect(new Set(ids).size).toBe(2);
  });

  it('with ACS down the state still moves, and the notices go out in order once it is back', async () => {
    trip();
    world.cloud.acs.injectFault({ status: 503, retryAfterSeconds: 0, times: 100, path: 'send' });
    const deps = world.deps();
    const down = await runCycle(deps);
    expect(down.alertsFiring).toBe(1);
    world.cloud.control.setJob(CONTOSO, FABRIKAM_JOB, { state: 'healthy' });
    const stillDown = await runCycle(deps);
    expect(stillDown.alertsFiring).toBe(0);
    expect(stillDown.notificationsPending).toBe(2);

    world.cloud.acs.reset();
    const back = await runCycle(world.deps());
    expect(back.notificationsSent).toBe(2);
    expect(world.cloud.acs.messages().map((m) => m.subject.split(':')[0])).toEqual([
      '[Entra Sync Watch] Deletion threshold tripped',
      '[Entra Sync Watch] Resolved',
    ]);
  });
});
