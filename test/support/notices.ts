import type { DeliveredEmail } from '../../emulators/acs';

/**
 * What was delivered, notice by notice: `<fingerprint>:firing` or `<fingerprint>:resolved` →
 * how many emails carried it. An email's details for scripts name its alerts (`Alert ID: …`, or
 * `Alert IDs, in the order listed: … …` for a cause or the alerts in brief); its
 * X-Entra-Sync-Watch-Kind header says whether it is a resolved notice (the tests that use this send
 * no mixed emails and no reminders).
 */
export function deliveredNotices(messages: DeliveredEmail[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) {
    // An end notice (`ended`: no longer watched, configuration gone) is the resolved kind too.
    const kind = /\b(resolved|ended)\b/.test(m.headers?.['X-Entra-Sync-Watch-Kind'] ?? '') ? 'resolved' : 'firing';
    for (const fp of alertIdsOf(m)) counts.set(`${fp}:${kind}`, (counts.get(`${fp}:${kind}`) ?? 0) + 1);
  }
  return counts;
}

/** The fingerprints of the alerts an email is about, from its details for scripts, each once. */
export function alertIdsOf(message: DeliveredEmail): string[] {
  const text = message.plainText ?? '';
  const ids = [...text.matchAll(/^- Alert IDs?(?:, in the order listed)?: ([0-9a-f ]+)$/gm)].flatMap((m) =>
    (m[1] ?? '').split(' ').filter(Boolean),
  );
  return [...new Set(ids)];
}

/** Every notice delivered exactly once: none lost (`expected` all there) and none doubled. */
export function expectEachOnce(
  messages: DeliveredEmail[],
  expected: number,
): { notices: Map<string, number>; doubled: string[] } {
  const notices = deliveredNotices(messages);
  const doubled = [...notices].filter(([, n]) => n > 1).map(([k]) => k);
  if (doubled.length > 0 || notices.size !== expected) {
    throw new Error(
      `expected ${expected} notice(s) delivered once each, got ${notices.size}${doubled.length ? `, doubled: ${doubled.join(', ')}` : ''}`,
    );
  }
  return { notices, doubled };
}
