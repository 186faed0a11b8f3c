import type { DeliveredEmail } from '../../emulators/acs';

/**
 * What was delivered, notice by notice: `<fingerprint>:firing` or `<fingerprint>:resolved` →
 * how many emails carried it. An email's footer names its alerts ("Alert IDs: ..."); its subject says whether it is
 * a resolved notice (the tests that use this send no mixed emails and no reminders).
 */
export function deliveredNotices(messages: DeliveredEmail[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) {
    // An end notice (`Ended: …`, `Ended (no longer watched): …`) is the resolved kind too.
    const kind = /\b(resolved|ended)\b/i.test(m.subject) ? 'resolved' : 'firing';
    for (const fp of alertIdsOf(m)) counts.set(`${fp}:${kind}`, (counts.get(`${fp}:${kind}`) ?? 0) + 1);
  }
  return counts;
}

/** The fingerprints of the alerts an email is about, from its footer (`Alert ID: …` or `Alert IDs: …, …`). */
export function alertIdsOf(message: DeliveredEmail): string[] {
  const footer = /Alert IDs?: ([0-9a-f, ]+)\s*$/.exec(message.plainText ?? '')?.[1] ?? '';
  return footer.split(', ').filter(Boolean);
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
