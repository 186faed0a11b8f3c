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
  it('gives one alert a stable stem with its severity, name and tenant, and a prefix per kind', () => {
    const subject = (kind: NotificationItem['kind']) => renderEmail([noticeOf(quarantine, kind)], ctx).subject;
    expect(subject('firing')).toBe('[Critical] Quarantined: Woodgrove to Contoso (Contoso)');
    expect(subject('reminder')).toBe('Reminder: [Critical] Quarantined: Woodgrove to Contoso (Contoso)');
    expect(subject('changed')).toBe('Changed: [Critical] Quarantined: Woodgrove to Contoso (Contoso)');
    expect(subject('resolved')).toBe('Resolved: [Critical] Quarantined: Woodgrove to Contoso (Contoso)');
  });

  it('names a tenant the config does not by its ID or domain, once for a tenant-wide alert', () => {
    expect(renderEmail([noticeOf(unreadable, 'firing')], ctx).subject).toBe(
      `[Critical] Cannot monitor: tenant ${FABRIKAM}`,
    );
    const unnamed = renderEmail([noticeOf(quarantine, 'firing')], { ...ctx, tenantNames: new Map() });
    expect(unnamed.subject).toBe(`[Critical] Quarantined: Woodgrove to Contoso (${CONTOSO})`);
  });

  it('sums up a grouped email by condition with the tenants by name, and says "Reminder:" once for reminders only', () => {
    const firing = renderEmail([noticeOf(trip, 'firing'), noticeOf(quarantine, 'firing')], ctx);
    expect(firing.subject).toBe('[Critical] 1 deletion hold, 1 quarantined: Contoso');
    const reminders = renderEmail([noticeOf(trip, 'reminder'), noticeOf(quarantine, 'reminder')], ctx);
    expect(reminders.subject).toBe('Reminder: [Critical] 1 deletion hold, 1 quarantined: Contoso');
    const mixed = renderEmail(
      [noticeOf(trip, 'firing'), noticeOf(quarantine, 'reminder'), noticeOf(unreadable, 'firing')],
      ctx,
    );
    expect(mixed.subject).toBe(
      `[Critical] 1 tenant unreadable, 1 deletion hold, 1 still quarantined: ${FABRIKAM}, Contoso`,
    );
    const resolved = renderEmail([noticeOf(trip, 'resolved'), noticeOf(quarantine, 'resolved')], ctx);
    expect(resolved.subject).toBe('Resolved: [Critical] 1 deletion hold, 1 quarantined: Contoso');
  });

  it('shows an alert once when two routes to the same people both carry it', () => {
    const a = noticeOf(trip, 'firing');
    const b = noticeOf(trip, 'firing', 'root.0');
    expect(renderEmail([a, b], ctx).subject).toBe(
      '[Critical] Deletion threshold tripped: Fabrikam to Contoso (Contoso)',
    );
  });

  it('never says "Resolved" for an alert that ended badly', () => {
    const notice = noticeOf(quarantine, 'resolved');
    const view = { ...viewOf(notice.alert, ctx), ended: 'ended because Entra disabled the job', endedWell: false };
    const email = emailFromViews([noticeView(notice, ctx, view)], ctx);
    expect(email.subject).toBe('Ended: [Critical] Quarantined: Woodgrove to Contoso (Contoso)');
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
    expect(email.plainText).toContain('Since: 2026-11-27 02:40 UTC, 4 h 30 min ago (as Entra reports it)');
    expect(email.plainText).not.toContain('4 h 5 min');
  });

  it('says when the monitor first saw an alert for which Entra gives no time', () => {
    expect(renderEmail([noticeOf(unreadable, 'firing')], ctx).plainText).toContain(
      'Since: 2026-11-27 03:05 UTC, 4 h 5 min ago (when the monitor first saw it)',
    );
    // A rule that gives the monitor's own start as `since` is not passed off as Entra's time.
    const notice = noticeOf(quarantine, 'firing');
    const view = { ...viewOf(notice.alert, ctx), since: '2026-11-27T03:05:00Z' };
    expect(noticeView(notice, ctx, view).when).toBe(
      '2026-11-27 03:05 UTC, 4 h 5 min ago (when the monitor first saw it)',
    );
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

  it('explains a deletion-threshold trip and how to approve or reject the held deletes', () => {
    const text = renderEmail([noticeOf(trip, 'firing')], ctx).plainText;
    expect(text).toContain('"resetScope":"ForceDeletes"');
    expect(text).toContain('StagedDelete');
    expect(text).toContain('Do not restart before fixing');
    expect(text).toContain(`- Tenant: Contoso (${CONTOSO})`);
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

  it('has a section per alert in a grouped email, new before reminders, and a line per alert up top', () => {
    const email = renderEmail([noticeOf(quarantine, 'reminder'), noticeOf(trip, 'firing')], ctx);
    expect(email.plainText.indexOf('NEW ALERT: Deletion threshold tripped')).toBeLessThan(
      email.plainText.indexOf('REMINDER: Quarantined'),
    );
    expect(email.plainText).toContain(
      '- New alert: Deletion threshold tripped: Fabrikam to Contoso (Contoso)\n- Reminder: Quarantined: Woodgrove to Contoso (Contoso)',
    );
    expect(email.html.match(/<h2/g)).toHaveLength(2);
  });
});

describe('renderEmail: a mass incident', () => {
  it('says what to do once when several alerts share a runbook', () => {
    const another = alertOf(
      'quarantine',
      { ...quarantine.annotations, servicePrincipalName: 'Tailspin to Contoso' },
      { jobId: 'Azure2Azure.other' },
    );
    const email = renderEmail([noticeOf(quarantine, 'firing'), noticeOf(another, 'firing')], ctx);
    expect(email.plainText.match(/Automatically redeem invitations with the tenant/g)).toHaveLength(2); // both steps, once
    expect(email.plainText).toContain(
      'What to do now: the same as for Quarantined: Tailspin to Contoso (Contoso) above.',
    );
    expect(email.html).toContain('The same as for Quarantined: Tailspin to Contoso (Contoso) above.');
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

  it('opens with a severity banner and says the same in the plain-text part', () => {
    expect(html).toMatch(/background:#a4262c;[^>]*>Critical · New alert</);
    expect(renderEmail([noticeOf(quarantine, 'firing')], ctx).plainText.split('\n')[0]).toBe('CRITICAL · NEW ALERT');
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

  it('refers a grouped email to the thread of each of its alerts', () => {
    const grouped = renderEmail([noticeOf(trip, 'firing'), noticeOf(quarantine, 'firing')], ctx).headers!;
    const tripRoot = renderEmail([noticeOf(trip, 'firing')], ctx).headers!['Message-ID'];
    expect(grouped.References!.split(' ')).toEqual([tripRoot, root['Message-ID']]);
    expect(grouped['Message-ID']).toMatch(/^<notice\./);
  });

  it('starts a new thread when the alert fires again later', () => {
    const again = { ...quarantine, startsAt: '2026-11-28T01:00:00.000Z' };
    expect(renderEmail([noticeOf(again, 'firing')], ctx).headers!['Message-ID']).not.toBe(root['Message-ID']);
  });

  it('marks every email auto-generated, and critical alerts (not their resolved notices) as important', () => {
    expect(root).toMatchObject({
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
      Importance: 'high',
      'X-Priority': '1',
    });
    const resolved = messageIds[2]!;
    expect(resolved['Auto-Submitted']).toBe('auto-generated');
    expect(resolved.Importance).toBeUndefined();
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
