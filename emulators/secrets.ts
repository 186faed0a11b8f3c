import { appendFileSync } from 'node:fs';

/**
 * The secrets the local private cloud hands out or holds (the app's client secret, ACS access
 * keys, every access token it mints, its signing key), written down one per line in the file that
 * `EMULATOR_SECRET_LEDGER` names, when it names one. The test run's log scan (test/logscan/) reads
 * it and fails if any of them reached a log. Not part of any real service: test plumbing.
 */
export type SecretKind =
  | 'client-secret'
  | 'acs-access-key'
  | 'access-token'
  | 'signing-key'
  | 'sas-signature'
  | 'webhook-secret'
  | 'authorization-code'
  | 'routing-key';

export function recordSecret(kind: SecretKind, value: string): void {
  const ledger = process.env.EMULATOR_SECRET_LEDGER;
  if (!ledger || !value) return;
  appendFileSync(ledger, `${kind}\t${value}\n`);
}
