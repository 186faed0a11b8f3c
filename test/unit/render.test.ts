import { beforeEach, describe, expect, it } from 'vitest';
import type { NotificationItem } from '../../lib/model';
import { noticeView } from '../../lib/notify/notice';
import { emailFromViews, renderEmail } from '../../lib/notify/render';
import { viewOf } from '../../lib/evaluate/view';
import { headerSafe } from '../../lib/util/text';
import { ALERT_FIXTURES, alertOf, CONTOSO, FABRIKAM, noticeOf, RENDER_CONTEXT } from '../fixtures/alerts';

const trip = ALERT_FIXTURES['deletion-threshold']!;
const quarantine = ALERT_FIXTURES.quarantine!;
const unreadable = ALERT_FIXTURES['tenant-unreadable']!;
const ctx = RENDER_CONTEXT;

describe('renderEmail: subjects', () => {
  it('gives one alert one subject for its whole firing: the tenant first, then what and where, then since when; Re: after the first', () => {
    const subject = (kind: NotificationItem['kind']) => renderEmail([noticeOf(quarantine, kind)], ctx).subject;
    const stem = 'Contoso: Quarantined: Woodgrove to Contoso (since 27 Nov 03:05 UTC)';
    expect(subject('firing')).toBe(stem);
    expect(subject('reminder')).toBe(`Re: ${stem}`);
    expect(subject('changed')).toBe(`Re: ${stem}`);
    expect(subject('resolved')).toBe(`Re: ${stem}`);
  });

  it('names a tenant the config does not by its ID or domain, once for a tenant-wide alert', () => {
    expect(renderEmail([noticeOf(unreadable, 'firing')], ctx).subject).toBe(
      `${FABRIKAM}: Cannot monitor (since 27 Nov 03:05 UTC)`,
    );
    const unnamed = renderEmail([noticeOf(quarantine, 'firing')], { ...ctx, tenantNames: new Map() });
    expect(unnamed.subject).toBe(`${CONTOSO}: Quarantined: Woodgrove to Contoso (since 27 Nov 03:05 UTC)`);
  });

  it('names a grouped email by its tenants, its most urgent alert and how many more, with the kind when all share it', () => {
    const firing = renderEmail([noticeOf(trip, 'firing'), noticeOf(quarantine, 'firing')], ctx);
    expect(firing.subject).toBe('Contoso: Deletion threshold tripped: Fabrikam to Contoso (+1 more)');
    const reminders = renderEmail([noticeOf(trip, 'reminder'), noticeOf(quarantine, 'reminder')], ctx);
    expect(reminders.subject).toBe('Contoso: Reminder: Deletion threshold tripped: Fabrikam to Contoso (+1 more)');
    const mixed = renderEmail(
      [noticeOf(trip, 'firing'), noticeOf(quarantine, 'reminder'), noticeOf(unreadable, 'firing')],
      ctx,
    );
    expect(mixed.subject).toBe(`${FABRIKAM} +1 tenant: Cannot monitor (+2 more)`);
    const resolved = renderEmail([noticeOf(trip, 'resolved'), noticeOf(quarantine, 'resolved')], ctx);
    expect(resolved.subject).toBe('Contoso: Resolved: Deletion threshold tripped: Fabrikam to Contoso (+1 more)');
  });

  it('shows an alert once when two routes to the same people both carry it', () => {
    const a = noticeOf(trip, 'firing');
    const b = noticeOf(trip, 'firing', 'root.0');
    expect(renderEmail([a, b], ctx).subject).toBe(
      'Contoso: Deletion threshold tripped: Fabrikam to Contoso (since 27 Nov 03:05 UTC)',
    );
  });

  it('never says "Resolved" for an alert that ended badly', () => {
    const notice = noticeOf(quarantine, 'resolved');
    const view = { ...viewOf(notice.alert, ctx), ended: 'ended because Entra disabled the job', endedWell: false };
    const email = emailFromViews([noticeView(notice, ctx, view)], ctx);
    expect(email.subject).toBe('Re: Contoso: Quarantined: Woodgrove to Contoso (since 27 Nov 03:05 UTC)');
    expect(email.plainText).toMatch(/^ENDED\n/);
    expect(email.plainText).toContain(
      'Ended because Entra disabled the job at 2026-11-27 07:05 UTC, after 4 h 25 min.',
    );
    const shown = email.html.replace(/<style>[\s\S]*?<\/style>/, '');
    expect(`${email.subject}\n${email.plainText}\n${shown}`).not.toMatch(/resolved/i);
    expect(email.headers?.['X-Entra-Sync-Watch-Kind']).toBe('ended');
  });
});

describe('renderEmail: what each notice says', () => {
  it('counts "since" from Entra\'s times, not from when the monitor first saw the alert', () => {
    const email = renderEmail([noticeOf(quarantine, 'reminder')], ctx);
    // seriesBegan 02:40; the monitor first saw it at 03:05; now is 07:10.
    expect(email.plainText).toContain(
      'Since: 2026-11-27 02:40 UTC (as Entra reports it), for 4 h 30 min when this was sent',
    );
    expect(email.plainText).not.toContain('4 h 5 min');
    expect(email.plainText).not.toMatch(/\bago\b/);
  });

  it('says when the monitor first saw an alert for which Entra gives no time', () => {
    expect(renderEmail([noticeOf(unreadable, 'firing')], ctx).plainText).toContain(
      'Since: 2026-11-27 03:05 UTC (when the monitor first saw it), for 4 h 5 min when this was sent',
    );
    // A rule that gives the monitor's own start as `since` is not passed off as Entra's time.
    const notice = noticeOf(quarantine, 'firing');
    const view = { ...viewOf(notice.alert, ctx), since: '2026-11-27T03:05:00Z' };
    expect(noticeView(notice, ctx, view).when).toBe(
      '2026-11-27 03:05 UTC (when the monitor first saw it), for 4 h 5 min when this was sent',
    );
  });

  it("shows every time in the route's time zone with the zone named, its subject's start too", () => {
    const berlin = { ...ctx, timeZone: 'Europe/Berlin' };
    const email = renderEmail([noticeOf(quarantine, 'firing')], berlin);
    expect(email.subject).toBe('Contoso: Quarantined: Woodgrove to Contoso (since 27 Nov 04:05 UTC+1)');
    expect(email.plainText).toContain(
      'Since: 2026-11-27 03:40 Europe/Berlin (UTC+1) (as Entra reports it), for 4 h 30 min when this was sent',
    );
    // The rule's own times (Entra's next attempt, the day it disables the job) and the details too.
    expect(email.plainText).toContain('Entra tries again at 2026-11-27 13:40 Europe/Berlin (UTC+1)');
    expect(email.plainText).toContain('(2026-12-25 03:40 Europe/Berlin (UTC+1))');
    expect(email.plainText).toContain('- Current attempt since: 2026-11-27 07:40 Europe/Berlin (UTC+1)');
    expect(email.plainText).toContain('Sent by Entra Sync Watch at 2026-11-27 08:10 Europe/Berlin (UTC+1).');
    expect(email.plainText).not.toMatch(/\d\d:\d\d UTC\b(?!\+)/);
  });

  it('says what Entra does next: the next attempt and when it disables a job left in quarantine', () => {
    const text = renderEmail([noticeOf(quarantine, 'firing')], ctx).plainText;
    expect(text).toContain('Entra tries again at 2026-11-27 12:40 UTC');
    expect(text).toContain('If it stays quarantined, Entra disables this job in 28 days (2026-12-25 02:40 UTC).');
  });

  it("says how a resolved alert ended and how long it lasted from Entra's start", () => {
    const text = renderEmail([noticeOf(quarantine, 'resolved')], ctx).plainText;
    expect(text).toContain(
      'Left quarantine at 2026-11-27 07:05 UTC, after 4 h 25 min. It began 2026-11-27 02:40 UTC (as Entra reports it).',
    );
    expect(text).not.toContain('What to do now');
  });

  it('explains a deletion-threshold trip and how to approve or reject the held deletes, the Graph requests for scripts last', () => {
    const text = renderEmail([noticeOf(trip, 'firing')], ctx).plainText;
    expect(text).toContain('StagedDelete');
    expect(text).toContain('Do not restart before fixing');
    const scripts = text.slice(text.indexOf('Details for scripts:'));
    expect(text.indexOf('Details for scripts:')).toBeGreaterThan(text.indexOf('What to do now'));
    expect(scripts).toContain('"resetScope":"ForceDeletes"');
    expect(scripts).toContain(`- Tenant ID: ${CONTOSO}`);
    expect(text.slice(0, text.indexOf('Details for scripts:'))).not.toMatch(/POST \/|GET \/|Azure2Azure\.3f2a/);
  });

  it('says nothing twice: no Reason beside an equal Error code, no since or next attempt among the details', () => {
    const text = renderEmail([noticeOf(trip, 'firing')], ctx).plainText;
    const details = text.slice(text.indexOf('Details:'), text.indexOf('Details for scripts:'));
    expect(details).toContain('- Error code: TooManyDeletes');
    expect(details).not.toContain('- Reason:');
    expect(details).not.toMatch(/Quarantined since|Next attempt|Entra disables the job|- Tenant:|- Configuration:/);
  });

  it('gives a quarantine with the B2B policy error the cross-tenant access runbook, not the credentials one', () => {
    const text = renderEmail([noticeOf(quarantine, 'firing')], ctx).plainText;
    expect(text).toContain('Automatically redeem invitations');
    expect(text).toContain('The credentials are fine.');
    expect(text).not.toContain('credentials are invalid');
  });

  it('names the monitoring app, its client ID and the missing permission when a tenant cannot be read', () => {
    const text = renderEmail([noticeOf(unreadable, 'firing')], ctx).plainText;
    expect(text).toContain('- Likely missing: Synchronization.Read.All');
    expect(text).toContain('- Monitoring app (client ID): 5b8f2a1c-3d4e-4f60-8a7b-9c0d1e2f3a4b');
    expect(text).toContain(
      `https://login.microsoftonline.com/${FABRIKAM}/adminconsent?client_id=5b8f2a1c-3d4e-4f60-8a7b-9c0d1e2f3a4b`,
    );
  });

  it('tells throttling apart from missing access when a tenant cannot be read', () => {
    const throttled = alertOf(
      'tenant-unreadable',
      { problem: '429 TooManyRequests: slow down while reading servicePrincipals', problemKind: 'transient' },
      { servicePrincipalId: '-', jobId: '-' },
    );
    const text = renderEmail([noticeOf(throttled, 'firing')], ctx).plainText;
    expect(text).toContain('Graph kept failing');
    expect(text).toContain('service health');
    expect(text).not.toContain('adminconsent');
  });

  it('has a section per cause in a grouped email, new before reminders, and a line per cause up top', () => {
    const email = renderEmail([noticeOf(quarantine, 'reminder'), noticeOf(trip, 'firing')], ctx);
    expect(email.plainText.indexOf('NEW ALERT · CRITICAL: ACT NOW: Deletion threshold tripped')).toBeLessThan(
      email.plainText.indexOf('REMINDER 1 · CRITICAL: ACT NOW: Quarantined'),
    );
    expect(email.plainText).toContain(
      'In this email: 2 alerts, by cause:\n- New · Critical: Deletion threshold tripped: Fabrikam to Contoso (Contoso)\n- Reminder · Critical: Quarantined: Woodgrove to Contoso (Contoso)',
    );
    expect(email.html.match(/<h2/g)).toHaveLength(2);
  });
});

describe('renderEmail: a mass incident', () => {
  const partner = (n: number, annotations = quarantine.annotations) =>
    alertOf('quarantine', { ...annotations, servicePrincipalName: `Partner ${n}` }, { jobId: `Azure2Azure.p${n}` });

  it('lists alerts of one cause in one section with one runbook, in natural order', () => {
    const email = renderEmail(
      [14, 4, 1, 23].map((n) => noticeOf(partner(n), 'firing')),
      ctx,
    );
    expect(email.plainText.match(/Automatically redeem invitations with the tenant/g)).toHaveLength(2); // both steps, once
    expect(email.plainText).toContain(
      'NEW ALERT · CRITICAL: ACT NOW: 4 quarantined · AzureDirectoryB2BManagementPolicyCheckFailure · Contoso',
    );
    const list = email.plainText.slice(email.plainText.indexOf('4 configurations:'));
    const order = ['- Partner 1,', '- Partner 4,', '- Partner 14,', '- Partner 23,'].map((name) => list.indexOf(name));
    expect(order.every((at, i) => at > 0 && (i === 0 || at > (order[i - 1] as number)))).toBe(true);
    expect(email.html.match(/<h2/g)).toHaveLength(1);
  });

  it('says what to do once when two causes share a runbook', () => {
    const unknown = (n: number, reason: string) =>
      alertOf(
        'quarantine',
        { ...quarantine.annotations, reason, errorCode: undefined, servicePrincipalName: `Partner ${n}` },
        { jobId: `Azure2Azure.p${n}` },
      );
    const email = renderEmail(
      [noticeOf(unknown(1, 'NewReasonA'), 'firing'), noticeOf(unknown(2, 'NewReasonB'), 'firing')],
      ctx,
    );
    expect(email.plainText.match(/read the quarantine details/g)).toHaveLength(1);
    expect(email.plainText).toContain('What to do now: the same as for Quarantined: Partner 1 (Contoso) above.');
  });
});

describe('renderEmail: layout for every mail client', () => {
  let html: string;
  beforeEach(() => {
    html = renderEmail([noticeOf(quarantine, 'firing')], ctx).html;
  });

  it('is a bounded-width, table-based document with a viewport and a dark-mode declaration', () => {
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain('<meta name="color-scheme" content="light dark">');
    expect(html).toContain('max-width:600px');
    expect(html).toContain('<!--[if mso]><table role="presentation" width="600"');
    expect(html).not.toMatch(/display:\s*(flex|grid)/);
  });

  it('breaks long IDs instead of running off a phone screen', () => {
    expect(html).toMatch(/overflow-wrap:anywhere[^"]*">Azure2Azure\.3f2a7c1e/);
  });

  it('opens with a banner that says how bad in words, and says the same in the plain-text part', () => {
    expect(html).toMatch(/background:#a4262c;[^>]*>Critical: act now · New alert</);
    expect(renderEmail([noticeOf(quarantine, 'firing')], ctx).plainText.split('\n')[0]).toBe(
      'CRITICAL: ACT NOW · NEW ALERT',
    );
  });

  it("puts the primary button (the job's Provisioning page) before the runbook, the details and the IDs", () => {
    const button = html.indexOf('class="esw-primary"');
    expect(html.slice(button, button + 400)).toContain('ProvisioningMenuBlade');
    for (const later of ['What to do now', '>Details<', 'Details for scripts'])
      expect(html.indexOf(later), later).toBeGreaterThan(button);
  });
});

describe('renderEmail: threading headers', () => {
  let root: Record<string, string>;
  let messageIds: Record<string, string>[];
  beforeEach(() => {
    root = renderEmail([noticeOf(quarantine, 'firing')], ctx).headers!;
    messageIds = (['reminder', 'changed', 'resolved'] as const).map(
      (kind) => renderEmail([noticeOf(quarantine, kind)], ctx).headers!,
    );
  });

  it("makes the firing email the root of the alert's thread, on the sender's domain", () => {
    expect(root['Message-ID']).toMatch(/^<alert\.[0-9a-f]{32}\.\d+@watch\.contoso\.example>$/);
    expect(root['In-Reply-To']).toBeUndefined();
  });

  it('threads reminders, changes and the resolved notice under that root, each with a Message-ID of its own', () => {
    for (const headers of messageIds) {
      expect(headers['In-Reply-To']).toBe(root['Message-ID']);
      expect(headers.References).toBe(root['Message-ID']);
      expect(headers['Message-ID']).not.toBe(root['Message-ID']);
    }
    expect(new Set(messageIds.map((h) => h['Message-ID'])).size).toBe(3);
  });

  it('starts a thread of its own for a grouped email: no references to roots no email carried', () => {
    const grouped = renderEmail([noticeOf(trip, 'firing'), noticeOf(quarantine, 'firing')], ctx).headers!;
    expect(grouped['Message-ID']).toMatch(/^<notice\./);
    expect(grouped.References).toBeUndefined();
    expect(grouped['In-Reply-To']).toBeUndefined();
  });

  it('starts a new thread when the alert fires again later', () => {
    const again = { ...quarantine, startsAt: '2026-11-28T01:00:00.000Z' };
    expect(renderEmail([noticeOf(again, 'firing')], ctx).headers!['Message-ID']).not.toBe(root['Message-ID']);
  });

  it('marks every email auto-generated, and only what asks to act now (a critical first notice or change) as important', () => {
    expect(root).toMatchObject({
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
      Importance: 'high',
      'X-Priority': '1',
    });
    const [reminder, changed, resolved] = messageIds as [
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
    ];
    expect(resolved['Auto-Submitted']).toBe('auto-generated');
    expect(resolved.Importance).toBeUndefined();
    expect(reminder.Importance).toBeUndefined();
    expect(changed).toMatchObject({ Importance: 'high', 'X-Priority': '1' });
    const warning = renderEmail([noticeOf({ ...quarantine, severity: 'warning' }, 'firing')], ctx).headers!;
    expect(warning.Importance).toBeUndefined();
  });

  it("falls back to a .invalid domain when the sender's is unknown", () => {
    expect(
      renderEmail([noticeOf(quarantine, 'firing')], { ...ctx, messageIdDomain: undefined }).headers!['Message-ID'],
    ).toMatch(/@entra-sync-watch\.invalid>$/);
    expect(
      renderEmail([noticeOf(quarantine, 'firing')], { ...ctx, messageIdDomain: 'bad domain>' }).headers!['Message-ID'],
    ).toMatch(/@entra-sync-watch\.invalid>$/);
  });
});

describe('headerSafe', () => {
  it('removes every kind of line break and bounds the length', () => {
    expect(headerSafe('a\r\nb\u2028c\u0085d\te')).toBe('a b c d e');
    expect(headerSafe('x'.repeat(300), 50)).toHaveLength(50);
  });
});
