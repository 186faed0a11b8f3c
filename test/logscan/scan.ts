/**
 * Finds secrets in log text: the static ones (client secrets, access keys, SAS signatures) by
 * plain search, and access tokens (thousands of them in a run) by pulling every token-shaped
 * string out of the logs once and looking each up, so the scan stays fast. A token's signature
 * part alone counts as a leak too.
 */
export interface Secret {
  kind: string;
  value: string;
}

export interface Leak {
  kind: string;
  /** Where it was found (a log file's name). */
  where: string;
}

const JWT = /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{20,}/g;
const WORD = /[A-Za-z0-9_-]{40,}/g;

export function parseLedger(text: string): Secret[] {
  return text
    .split('\n')
    .filter((line) => line.includes('\t'))
    .map((line) => {
      const tab = line.indexOf('\t');
      return { kind: line.slice(0, tab), value: line.slice(tab + 1) };
    });
}

/** Every secret of `secrets` that appears in any of `logs` (name → text), by kind and log; never the secret itself. */
export function findLeaks(secrets: Secret[], logs: Map<string, string>): Leak[] {
  /** A token, or a token's signature, → the token it belongs to. */
  const tokens = new Map<string, { token: string; part: 'whole' | 'signature' }>();
  const plain: Secret[] = [];
  for (const s of secrets) {
    if (s.kind === 'access-token') {
      tokens.set(s.value, { token: s.value, part: 'whole' });
      const signature = s.value.split('.')[2];
      if (signature && signature.length >= 40) tokens.set(signature, { token: s.value, part: 'signature' });
    } else if (s.value.length >= 8) plain.push(s);
  }
  const leaks: Leak[] = [];
  for (const [where, text] of logs) {
    for (const s of plain) if (text.includes(s.value)) leaks.push({ kind: s.kind, where });
    // Each token once per log: whole if it is there whole, else its signature.
    const found = new Map<string, 'whole' | 'signature'>();
    for (const candidate of new Set([...(text.match(JWT) ?? []), ...(text.match(WORD) ?? [])])) {
      const hit = tokens.get(candidate);
      if (hit && found.get(hit.token) !== 'whole') found.set(hit.token, hit.part);
    }
    for (const part of found.values())
      leaks.push({ kind: part === 'whole' ? 'access-token' : 'access-token signature', where });
  }
  return leaks;
}
