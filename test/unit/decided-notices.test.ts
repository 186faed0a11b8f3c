import { describe, expect, it } from 'vitest';
import { alertDecisions, type Decision } from '../../lib/actions/audit';
import { afterSent, alreadySent, neededNotifications } from '../../lib/dispatch/dedup';
import { dispatch } from '../../lib/dispatch/dispatch';
import type { AlertDecision, AlertRecord } from '../../lib/model';
import { groupNotices } from '../../lib/notify/group';
import { noticeViews, subjectOf, summarize } from '../../lib/notify/notice';
import { ALERT_FIXTURES, RENDER_CONTEXT } from '../fixtures/alerts';
import { policy, route } from '../support/policy';

/**
 * Decisions made from an alert's message, through the notification pipeline: dispatch plans one
 * decided notice per route that heard of the period, dedup keeps it to one, a mute does not hold
 * it, and the period's resolved notice names who decided.
 */

const alert = () => ALERT_FIXTURES['deletion-threshold'] as AlertRecord;
const ROOT = route('root');
const decision = (linkId = 'link-1', startsAt = alert().startsAt as string): AlertDecision => ({
  linkId,
  fingerprint: alert().fingerprint,
  startsAt,
  title: 'Deletes approved',
  by: 'Adele Vance (adele.vance@contoso.com)',
  at: '2026-11-27T07:12:00.000Z',
  detail: 'Graph accepted the restart with resetScope ForceDeletes (204); the job carries it out when it next runs.',
});
const NOW = new Date('2026-11-27T07:15:00Z');

/** The alert after its route heard of its firing notice. */
function told(record = alert()): AlertRecord {
  const [firing] = neededNotifications(record, ROOT, NOW);
  return afterSent(record, firing!, '2026-11-27T07:10:00.000Z');
}

describe('decided notices', () => {
  it('one per decision to each route that heard of the period, and not again once sent', () => {
    const heard = told();
    const [item, ...rest] = neededNotifications(heard, ROOT, NOW, [decision()]);
    expect(rest).toEqual([]);
    expect(item).toMatchObject({
      kind: 'decided',
      key: `${heard.fingerprint}:root:decided:${heard.startsAt}:link-1`,
      decisions: [{ linkId: 'link-1', title: 'Deletes approved', by: 'Adele Vance (adele.vance@contoso.com)' }],
    });
    const after = afterSent(heard, item!, NOW.toISOString());
    expect(alreadySent(after, item!)).toBe(true);
    expect(neededNotifications(after, ROOT, NOW, [decision()])).toEqual([]);
    // The route's reminder clock does not move for a decision.
    expect(after.notified.root?.lastAt).toBe(heard.notified.root?.lastAt);
    // A second decision (another link) is told too.
    expect(neededNotifications(after, ROOT, NOW, [decision(), decision('link-2')]).map((i) => i.kind)).toEqual([
      'decided',
    ]);
  });

  it('nothing to a route that never heard of the period, nor of another period', () => {
    expect(neededNotifications(alert(), ROOT, NOW, [decision()]).map((i) => i.kind)).toEqual(['firing']);
    expect(neededNotifications(told(), ROOT, NOW, [decision('link-1', '2026-11-20T00:00:00.000Z')])).toEqual([]);
  });

  it('the resolved notice of the period carries its decisions, and says who decided', () => {
    const heard = told();
    const resolved = { ...heard, state: 'resolved' as const, endsAt: '2026-11-27T07:30:00.000Z' };
    const [item] = neededNotifications(resolved, ROOT, NOW, [decision()]);
    expect(item).toMatchObject({ kind: 'resolved', decisions: [{ linkId: 'link-1' }] });
    const [view] = noticeViews([{ item: item!, alert: resolved }], RENDER_CONTEXT);
    expect(view?.when).toContain('Deletes approved by Adele Vance (adele.vance@contoso.com) at 2026-11-27 07:12 UTC.');
  });

  it('a mute does not hold a decided notice; it groups with the open alerts and reads "Decided"', () => {
    const heard = told();
    const muted = policy({
      route: ROOT,
      silences: [
        {
          matchers: { tenant: heard.labels.tenantId },
          startsAt: new Date('2026-11-27T00:00:00Z'),
          endsAt: new Date('2026-11-28T00:00:00Z'),
          createdBy: 'alice',
          comment: 'maintenance',
        },
      ],
    });
    const { notices } = dispatch([heard], muted, NOW, new Set(), new Map([[heard.fingerprint, [decision()]]]));
    expect(notices.map((n) => n.item.kind)).toEqual(['decided']);
    const [group] = groupNotices(notices);
    const views = noticeViews(
      group!.items.map((item) => ({ item, alert: heard })),
      RENDER_CONTEXT,
    );
    // In the alert's thread (`Re: ` and its subject), and said first in the email and its preview.
    expect(views[0]).toMatchObject({ status: 'Decided', prefix: 'Re: ' });
    // Nothing left to decide or snooze: the job's page only.
    expect(views[0]?.actions.map((a) => a.kind)).toEqual(['open']);
    expect(views[0]?.when).toMatch(
      /^Deletes approved by Adele Vance \(adele\.vance@contoso\.com\) at 2026-11-27 07:12 UTC\. Graph accepted/,
    );
    expect(views[0]?.decide).toBeUndefined();
    expect(subjectOf(views, summarize(views))).toBe(`Re: ${views[0]!.stem}`);
  });
});

describe('decisions as the cycle reads them from the audit', () => {
  const record = (status: 'done' | 'refused', action: 'approve-deletes' | 'verify-user' = 'approve-deletes') =>
    ({
      linkId: `link-${status}-${action}`,
      purpose: 'decide',
      claimedAt: '2026-11-27T07:11:00.000Z',
      expiresAt: '2026-11-28T07:11:00.000Z',
      keepUntil: '2027-12-31T00:00:00.000Z',
      etag: '',
      record: {
        v: 1,
        tenantId: 't',
        fingerprint: 'fp',
        alertStartsAt: '2026-11-27T03:05:00.000Z',
        condition: 'deletion-threshold',
        heading: 'h',
        servicePrincipalId: 'sp',
        jobId: 'j',
        configuration: 'Fabrikam to Contoso',
        status,
        attempts: [
          {
            n: 1,
            action,
            call: action === 'verify-user' ? 'provisionOnDemand' : 'restart',
            ...(action === 'verify-user'
              ? { subject: { objectId: 'o', objectTypeName: 'User', name: 'Alex Wilber' } }
              : { resetScope: 'ForceDeletes' }),
            by: { name: 'Adele Vance', upn: 'adele.vance@contoso.com', oid: 'x', via: 'app role SyncWatch.Operator' },
            startedAt: '2026-11-27T07:11:00.000Z',
            endedAt: '2026-11-27T07:12:00.000Z',
            status,
            stateHash: 'h',
            stateSeen: 's',
            graph: { status: status === 'done' ? (action === 'verify-user' ? 200 : 204) : 403 },
          },
        ],
        ...(action === 'verify-user' ? { result: { result: 'Success', steps: [] } } : {}),
      },
    }) as Decision;

  it('are the ones that took effect, titled and worded for the notices', () => {
    expect(alertDecisions([record('refused'), record('done'), record('done', 'verify-user')])).toEqual([
      {
        linkId: 'link-done-approve-deletes',
        fingerprint: 'fp',
        startsAt: '2026-11-27T03:05:00.000Z',
        title: 'Deletes approved',
        by: 'Adele Vance (adele.vance@contoso.com)',
        at: '2026-11-27T07:12:00.000Z',
        detail:
          'Graph accepted the restart with resetScope ForceDeletes (204); the job carries it out when it next runs.',
      },
      expect.objectContaining({
        linkId: 'link-done-verify-user',
        title: 'One user verified',
        detail: 'Graph provisioned Alex Wilber on demand: Success.',
      }),
    ]);
  });
});
