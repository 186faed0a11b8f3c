import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { runCycle } from '../../lib/cycle/cycle';
import { startWorld, type World } from '../support/world';
import { CONTOSO, quarantine, recover } from '../support/demo';

/** The header block of an .eml, folded lines unfolded, as name → value. */
function emlHeaders(path: string): Map<string, string> {
  const head = readFileSync(path, 'utf8')
    .split('\r\n\r\n')[0]!
    .replace(/\r\n[ \t]+/g, ' ');
  return new Map(
    head
      .split('\r\n')
      .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
}

/**
 * The firing email, the reminder and the resolved notice of one alert, sent by real cycles through
 * the real ACS SDK: one thread in a mail client, from the headers ACS carried into the .eml files.
 */
describe('email threading, end to end', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(() => world.stop());

  it('threads the firing email, the reminder and the resolved notice of an alert, and marks them auto-generated', async () => {
    const later = () => new Date(Date.now() + 5 * 3600_000); // past the 4 h repeat interval
    // The monitor's clock jumps ahead while the emulator's job times do not: healthy jobs would look stalled.
    // The route shows times in Berlin's zone: the subject's start, the email's times and its footer.
    const policy = buildPolicy(
      { rules: { 'job-stalled': { enabled: false } }, route: { timeZone: 'Europe/Berlin' } },
      { emailTo: ['ops@contoso.com'] },
    );
    quarantine(world);
    await runCycle(world.deps({ policy }));
    await runCycle(world.deps({ clock: later, policy }));
    recover(world);
    await runCycle(world.deps({ clock: later, policy }));

    const [firing, reminder, resolved, ...rest] = world.cloud.acs.messages();
    expect(rest).toEqual([]);
    // One subject by Gmail's rule (the same apart from `Re:`), tenant first, no severity tag.
    const stem = firing!.subject;
    expect(stem).toMatch(
      new RegExp(
        `^${CONTOSO}: Deletion threshold tripped: Fabrikam to Contoso \\(since \\d{1,2} \\w{3,4} \\d\\d:\\d\\d UTC\\+[12]\\)$`,
      ),
    );
    expect([reminder!.subject, resolved!.subject]).toEqual([`Re: ${stem}`, `Re: ${stem}`]);
    expect(firing!.plainText).toMatch(/^Since: \d{4}-\d\d-\d\d \d\d:\d\d Europe\/Berlin \(UTC\+[12]\) /m);
    expect(resolved!.plainText).toMatch(/^Sent by Entra Sync Watch at .* Europe\/Berlin \(UTC\+[12]\)\./m);
    expect([firing, reminder, resolved].map((m) => m!.headers?.['X-Entra-Sync-Watch-Kind'])).toEqual([
      'firing',
      'reminder',
      'resolved',
    ]);

    // ACS kept the Message-ID we set: the firing email is the root of the thread.
    const root = firing!.messageId;
    expect(root).toMatch(/^alert\.[0-9a-f]{32}\.\d+@watch\.contoso\.com$/);
    const [first, second, third] = [firing!, reminder!, resolved!].map((m) => emlHeaders(m.emlPath!));
    expect(first!.get('message-id')).toBe(`<${root}>`);
    for (const reply of [second!, third!]) {
      expect(reply.get('in-reply-to')).toBe(`<${root}>`);
      expect(reply.get('references')).toBe(`<${root}>`);
      expect(reply.get('message-id')).not.toBe(`<${root}>`);
      expect(reply.get('auto-submitted')).toBe('auto-generated');
    }
    expect(first!.get('auto-submitted')).toBe('auto-generated');
    expect(first!.get('importance')).toBe('high');
    expect(second!.get('importance')).toBeUndefined();
    expect(third!.get('importance')).toBeUndefined();
    // The .eml carries the subject and the kind as sent, for the mail client and its rules.
    expect(third!.get('subject')).toBe(`Re: ${stem}`);
    expect(third!.get('x-entra-sync-watch-kind')).toBe('resolved');
    expect(world.cloud.acs.messages().every((m) => m.userEngagementTrackingDisabled === true)).toBe(true);

    // Links open Contoso's own directory, in the cloud of GRAPH_ENDPOINT (the emulator's counts as global).
    expect(firing!.html).toContain(
      `href="https://entra.microsoft.com/${CONTOSO}/#view/Microsoft_AAD_Connect_Provisioning/ProvisioningMenuBlade/~/Overview/objectId/`,
    );
  });
});
