import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status } from '../../functions/status';
import { watch } from '../../functions/watch';
import { captureLog } from '../support/log-capture';
import { runTypeScript } from '../support/process';
import { DEMO_SCENARIO, ownStorage, startWorld, type World } from '../support/world';
import { forgetKeptCredentials } from '../../lib/clients/credentials';
import { CONTOSO, quarantine } from '../support/demo';

/** `npm run cycle` as a user runs it: a new process each time, settings from the environment. */
async function npmRunCycle(
  env: Record<string, string | undefined>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, out, err } = await runTypeScript('lib/cli/cycle.ts', {
    env: { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS, ...env },
    label: 'npm run cycle',
  });
  return { code, stdout: out, stderr: err };
}

describe('entry points run the same cycle', () => {
  let world: World;
  beforeAll(async () => {
    // The CLI and the timer use the production table names: in a storage account of this file's own.
    world = await startWorld(DEMO_SCENARIO, { AzureWebJobsStorage: ownStorage('entrypoints') });
  });
  afterAll(() => world.stop());

  it('npm run cycle: state survives between processes, and the exit code tells whether the cycle did its job', async () => {
    const env = { ...world.env, ACS_CONNECTION_STRING: '', ACS_ENDPOINT: world.cloud.acsEndpoint };
    quarantine(world);
    const first = await npmRunCycle(env);
    // The emulated app signs in with a client secret: the one thing said on stderr is that warning.
    expect(first.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^warning: the monitoring app signs in with a client secret \(AZURE_CLIENT_SECRET\)/),
    ]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('cycle: 2 tenant(s) checked, 9 job(s) seen, 1 alert(s) firing, 1 email(s) sent');
    const second = await npmRunCycle(env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('0 email(s) sent');
    expect(world.cloud.acs.messages()).toHaveLength(1);
    // Entra auth to ACS: the bearer token came from the authority for the ACS audience.
    expect(world.cloud.acs.requests().every((r) => r.auth === 'bearer')).toBe(true);

    world.cloud.control.setGrants('8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d', ['Application.Read.All']);
    const partial = await npmRunCycle(env);
    expect(partial.code).toBe(1);
    expect(partial.stderr).toContain('cannot monitor: 401 UnknownError');
    expect(partial.stderr).toContain('likely missing Synchronization.Read.All');
  }, 60_000);

  it('npm run cycle: bad settings stop it with exit code 2 and name each setting', async () => {
    const result = await npmRunCycle({ ...world.env, ALERT_EMAIL_TO: 'not-an-address', WATCH_SCHEDULE: 'hourly' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ALERT_EMAIL_TO holds "not-an-address", which is not an email address');
    expect(result.stderr).toContain('WATCH_SCHEDULE="hourly" is not an NCRONTAB expression');
    expect(result.stdout).toBe('');
  });

  it('the timer function runs a cycle and fails the invocation when a tenant cannot be read', async () => {
    const saved = { ...process.env };
    const logs: string[] = [];
    const context = new InvocationContext({
      functionName: 'watch',
      logHandler: (level, ...args) => {
        logs.push(`${level}: ${args.join(' ')}`);
        captureLog('timer function', `${level}: ${args.join(' ')}`);
      },
    });
    const timer = {
      isPastDue: false,
      schedule: { adjustForDST: false },
      scheduleStatus: { last: '', next: '', lastUpdated: '' },
    };
    try {
      Object.assign(process.env, world.env, { WATCH_TENANTS: `${CONTOSO},8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d` });
      world.cloud.control.reset();
      await watch(timer, context);
      expect(logs.join('\n')).toMatch(/information: cycle: 2 tenant\(s\) checked, 9 job\(s\) seen/);

      world.cloud.control.setConsented('8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d', false);
      // As on a new instance: a kept token would be refused by Graph this cycle and renewed at the next (token-reuse.test.ts).
      forgetKeptCredentials();
      await expect(watch(timer, context)).rejects.toThrow(
        /cycle incomplete, 1 problem\(s\): tenant 8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d: cannot monitor: AADSTS700016/,
      );
      expect(logs.join('\n')).toContain('error: tenant 8d1b6e42');

      // The status endpoint shows the last cycle and what fires, from stored state.
      const response = await status(new HttpRequest({ method: 'GET', url: 'https://localhost/api/status' }), context);
      expect(response.status).toBe(200);
      const body = response.jsonBody as { lastCycle: { tenantsUnreadable: string[] }; firing: { condition: string }[] };
      expect(body.lastCycle.tenantsUnreadable).toEqual(['8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d']);
      expect(body.firing.map((f) => f.condition)).toContain('tenant-unreadable');
    } finally {
      process.env = saved;
    }
  });
});
