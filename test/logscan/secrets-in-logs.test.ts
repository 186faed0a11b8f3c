import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findLeaks, parseLedger } from './scan';

/**
 * Runs after the whole test suite (`npm test`): every secret the emulators handed out during the
 * run (the app's client secret, ACS access keys, every bearer token, SAS signatures the tests
 * used) is looked for in everything the run logged (the product's log lines, the output of every
 * `npm run cycle` process, the console). One found is a failure naming its kind and the log.
 */

const ledger = process.env.EMULATOR_SECRET_LEDGER as string;
const logDir = process.env.TEST_LOG_DIR as string;

describe('no secret or token in the logs of this test run', () => {
  it('the scan finds a planted secret and a planted token (so it can fail)', () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJ0aWQiOiJ4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1pbi1iYXNlNjR1cmw';
    const secrets = [
      { kind: 'client-secret', value: 'esw~Planted.Secret.0123' },
      { kind: 'access-token', value: token },
      { kind: 'sas-signature', value: 'Planted-Sig_0123456789' },
      { kind: 'webhook-secret', value: 'planted0webhook0secret0hex' },
    ];
    const logs = new Map([
      ['a.log', 'error: AADSTS7000215 for secret esw~Planted.Secret.0123'],
      ['b.log', `Authorization: Bearer ${token}`],
      ['c.log', `sig ${token.split('.')[2]} only`],
      ['d.log', 'nothing here'],
      // A receiver's error page echoing a Teams Workflows URL, and a webhook's signing secret.
      ['e.log', 'answered HTTP 400: POST hxxps://h/workflows/ops/invoke?sv=1.0&sig=Planted-Sig_0123456789 failed'],
      ['f.log', 'answered HTTP 400: configured secret=planted0webhook0secret0hex'],
    ]);
    expect(
      findLeaks(secrets, logs)
        .map((l) => `${l.where}:${l.kind}`)
        .sort(),
    ).toEqual([
      'a.log:client-secret',
      'b.log:access-token',
      'c.log:access-token signature',
      'e.log:sas-signature',
      'f.log:webhook-secret',
    ]);
  });

  it('the run recorded its secrets and its logs', () => {
    expect(existsSync(ledger), `no ledger at ${ledger}: run the test suite first (npm test does)`).toBe(true);
    const kinds = new Set(parseLedger(readFileSync(ledger, 'utf8')).map((s) => s.kind));
    for (const kind of ['client-secret', 'acs-access-key', 'access-token']) expect(kinds).toContain(kind);
    expect(readdirSync(logDir).length).toBeGreaterThan(0);
  });

  it('none of them appears in any log', () => {
    const secrets = parseLedger(readFileSync(ledger, 'utf8'));
    const logs = new Map(readdirSync(logDir).map((name) => [name, readFileSync(join(logDir, name), 'utf8')]));
    const leaks = findLeaks(secrets, logs);
    expect(leaks.map((l) => `${l.kind} in ${l.where}`)).toEqual([]);
  });
});
