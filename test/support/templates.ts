import { CONDITIONS } from '../../lib/evaluate/rules';
import type { Acknowledgement, AlertRecord, DigestAlert, NotificationItem } from '../../lib/model';
import { noticeView, noticeViews, type NoticeView } from '../../lib/notify/notice';
import type { StillOpen } from '../../lib/notify/still-open';
import { viewOf } from '../../lib/evaluate/view';
import { decideLinkFor } from '../../lib/actions/links';
import { ACTION_NAMES } from '../../lib/settings/actions';
import { snoozeLinks } from '../../lib/snooze/links';
import { acknowledgeLink } from '../../lib/acknowledge/links';
import { ALERT_FIXTURES, alertOf, CONTOSO, KINDS, noticeOf, RENDER_CONTEXT } from '../fixtures/alerts';
import { hostileQuarantine } from '../fixtures/hostile';

/**
 * Every message the product can send, as notice views from the fixtures: each condition in each
 * kind, grouped ones, an alert that ended badly, and one full of hostile text. Each channel lays
 * them out (email-templates.ts, channel-templates.ts) and the golden-file tests compare the result.
 */
export interface NoticeTemplate {
  /** File-name-safe: `quarantine.firing`, `grouped.resolved`. */
  name: string;
  /** Built when read, so a test that reads it runs the rules and the renderer itself (see ALERT_FIXTURES). */
  readonly views: NoticeView[];
  /** For a message of resolved notices: what delivery finds still open in the route. */
  stillOpen?: StillOpen;
}

/** A template whose `views` are built on each read. */
const lazy = (name: string, views: () => NoticeView[], stillOpen?: StillOpen): NoticeTemplate => ({
  name,
  get views() {
    return views();
  },
  ...(stillOpen ? { stillOpen } : {}),
});

/** Four more tenants for the mass incident, with names from the config. */
const TENANTS: [string, string][] = [
  [CONTOSO, 'Contoso'],
  ['8d1b6e42-5c3a-4f7e-b9d0-2a4c6e8f0b1d', 'Northwind'],
  ['5a0c1e2d-3b4f-4a6e-8c7d-9e0f1a2b3c4d', 'Fabrikam'],
  ['6b1d2f3e-4c5a-4b7f-9d8e-0f1a2b3c4d5e', 'Tailspin'],
  ['7c2e3a4f-5d6b-4c8a-8e9f-1a2b3c4d5e6f', 'Woodgrove'],
];
const MASS_CONTEXT = { ...RENDER_CONTEXT, tenantNames: new Map(TENANTS) };

/** Alerts like `base` on `count` other jobs, `Partner 1` to `Partner {count}` over the five tenants. */
function partners(base: AlertRecord, count: number, from = 1): AlertRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const n = from + i;
    const [tenantId] = TENANTS[n % TENANTS.length] as [string, string];
    const spId = `11a2b3c4-d5e6-4f70-8a91-${String(n).padStart(12, '0')}`;
    return {
      ...alertOf(
        base.labels.condition,
        { ...base.annotations, servicePrincipalName: `Partner ${n}`, appId: spId.replace(/^11/, '21') },
        { tenantId, servicePrincipalId: spId, jobId: `${base.labels.jobId}.${n}` },
      ),
      severity: base.severity,
    };
  });
}

/**
 * What is still open in the route when the demo's incident resolves: ServiceNow's failures, and
 * Northwind's quarantine, muted by a silence (as delivery finds them with openInScope).
 */
const fixtureStillOpen = (): StillOpen => {
  const failures = ALERT_FIXTURES['provisioning-failures']!;
  const open: DigestAlert = {
    fingerprint: failures.fingerprint,
    severity: 'warning',
    condition: 'provisioning-failures',
    heading: 'Provisioning failures: ServiceNow (Contoso)',
    tenant: 'Contoso',
    since: '2026-11-27T06:20:00.000Z',
  };
  const muted: DigestAlert = {
    fingerprint: 'd39aac08cea82aedb52138846b19c814',
    severity: 'critical',
    condition: 'quarantine',
    heading: 'Quarantined: Contoso to Northwind (Northwind)',
    tenant: 'Northwind',
    since: '2026-11-27T05:00:00.000Z',
    mutedBy:
      'silence by bob@contoso.com until 2099-01-01 00:00 UTC: "CHG-4711: Northwind moves its directory; quarantine expected during the move"',
  };
  return { open: [open], muted: [muted] };
};

/** The demo's incident: a deletion hold, a quarantine, a stalled and a failing job, and provisioning failures. */
const INCIDENT = ['deletion-threshold', 'quarantine', 'job-stalled', 'job-failing', 'provisioning-failures'];

/** Snooze links as a deployment with SNOOZE_SIGNING_KEY makes them (a fixed key and link ids, so the golden files stay put). */
const SNOOZE_SETTINGS = {
  key: 'golden-snooze-signing-key-0123456789abcdef',
  baseUrl: 'https://sync-watch.azurewebsites.net',
};

/** Decide links as a deployment with WATCH_ACTIONS on makes them (a fixed key and link id, so the golden files stay put). */
const ACTIONS_SETTINGS = {
  actions: [...ACTION_NAMES],
  signingKey: 'golden-actions-signing-key-0123456789abcdef',
  baseUrl: 'https://sync-watch.azurewebsites.net',
  linkLifetimeMs: 24 * 3600_000,
  signIn: {
    tenantId: 'contoso.com',
    clientId: '00000000-0000-4000-8000-0000000000aa',
    authorityHost: 'https://login.microsoftonline.com',
  },
};

/** A decision as the cycle reads it from the audit (lib/actions/audit.ts alertDecisions). */
const DECISION = {
  linkId: 'GoldenDecideLinkId0000',
  title: 'Deletes approved',
  by: 'Adele Vance (adele.vance@contoso.com)',
  at: '2026-11-27T07:12:00.000Z',
  detail: 'Graph accepted the restart with resetScope ForceDeletes (204); the job carries it out when it next runs.',
};

export function noticeTemplates(ctx = RENDER_CONTEXT): NoticeTemplate[] {
  const templates: NoticeTemplate[] = [];
  const conditions = CONDITIONS.filter((c) => Object.hasOwn(ALERT_FIXTURES, c));
  const fixture = (condition: string) => ALERT_FIXTURES[condition]!;
  for (const condition of conditions) {
    for (const kind of KINDS)
      templates.push(
        lazy(
          `${condition}.${kind}`,
          () => noticeViews([noticeOf(fixture(condition), kind)], ctx),
          // A resolved notice says what else is open in its route: nothing, here.
          kind === 'resolved' ? { open: [], muted: [] } : undefined,
        ),
      );
  }
  // Every condition at once (13 alerts in two tenants).
  for (const kind of ['firing', 'reminder', 'resolved'] as const) {
    templates.push(
      lazy(
        `grouped.${kind}`,
        () =>
          noticeViews(
            conditions.map((c) => noticeOf(fixture(c), kind)),
            ctx,
          ),
        kind === 'resolved' ? { open: [], muted: [] } : undefined,
      ),
    );
  }
  // The demo's incident: five alerts at once, then four of them resolved while ServiceNow still fails and Northwind is muted.
  templates.push(
    lazy('incident.firing', () =>
      noticeViews(
        INCIDENT.map((c) => noticeOf(fixture(c), 'firing')),
        ctx,
      ),
    ),
    lazy(
      'incident.resolved',
      () =>
        noticeViews(
          INCIDENT.filter((c) => c !== 'provisioning-failures').map((c) => noticeOf(fixture(c), 'resolved')),
          ctx,
        ),
      fixtureStillOpen(),
    ),
  );
  // A mass incident in one email: 35 quarantines with one error code in five tenants, 10 stalled jobs, 5 deletion holds.
  templates.push(
    lazy('mass.firing', () =>
      noticeViews(
        [
          ...partners(fixture('quarantine'), 35),
          ...partners(fixture('job-stalled'), 10, 36),
          ...partners(fixture('deletion-threshold'), 5, 46),
        ].map((a) => noticeOf(a, 'firing')),
        MASS_CONTEXT,
      ),
    ),
  );
  // An alert that ended badly (AlertView.endedWell false): a quarantine that ended because Entra disabled the job.
  templates.push(
    lazy('quarantine.ended-badly', () => {
      const quarantine = noticeOf(fixture('quarantine'), 'resolved');
      const view = {
        ...viewOf(quarantine.alert, ctx),
        ended: 'ended because Entra disabled the job',
        endedWell: false,
      };
      return [noticeView(quarantine, ctx, view)];
    }),
  );
  // With snooze links (SNOOZE_SIGNING_KEY set): buttons that open a confirmation page.
  const snooze = {
    ...ctx,
    snooze: (alert: Parameters<typeof snoozeLinks>[0], now: Date) =>
      snoozeLinks(alert, SNOOZE_SETTINGS, now, ['GoldenSnooze4hLinkId00', 'GoldenSnooze1dLinkId00']),
  };
  templates.push(
    lazy('quarantine.firing.snooze', () => noticeViews([noticeOf(fixture('quarantine'), 'firing')], snooze)),
  );
  // With decisions from the alert (WATCH_ACTIONS on): the "Review and decide" button of a deletion hold.
  const decide = {
    ...ctx,
    decide: (alert: Parameters<typeof decideLinkFor>[0], now: Date) =>
      decideLinkFor(alert, ACTIONS_SETTINGS, now, 'GoldenDecideLinkId0000'),
  };
  templates.push(
    lazy('deletion-threshold.firing.decide', () =>
      noticeViews([noticeOf(fixture('deletion-threshold'), 'firing')], decide),
    ),
  );
  // A decision from the alert's message, told to its routes; then its resolved notice, naming who decided.
  const decided = (kind: 'decided' | 'resolved') => {
    const notice = noticeOf(fixture('deletion-threshold'), kind === 'decided' ? 'firing' : 'resolved');
    return {
      ...notice,
      item: { ...notice.item, kind, key: `${notice.item.key}:decision`, decisions: [DECISION] },
    };
  };
  templates.push(lazy('deletion-threshold.decided', () => noticeViews([decided('decided')], ctx)));
  templates.push(
    lazy('deletion-threshold.resolved.decided', () => noticeViews([decided('resolved')], ctx), { open: [], muted: [] }),
  );
  // With an Acknowledge link beside them (the same key): the button that says "I'm on it".
  const links = {
    ...snooze,
    acknowledge: (alert: AlertRecord, item: NotificationItem, now: Date) =>
      acknowledgeLink(alert, item, SNOOZE_SETTINGS, now),
  };
  const quarantine = fixture('quarantine');
  // Acknowledged by someone whose comment has markup in it (escaped everywhere).
  const acknowledged: Acknowledgement = {
    startsAt: quarantine.startsAt as string,
    by: 'alice@contoso.com',
    at: '2026-11-27T06:40:00.000Z',
    comment: 'On it: <b>restarting</b> after the fix [link](https://evil.example)',
    via: 'root',
    linkId: 'AAAAAAAAAAAAAAAAAAAAAA',
  };
  templates.push(
    lazy('quarantine.firing.acknowledge', () => noticeViews([noticeOf(quarantine, 'firing')], links)),
    lazy('quarantine.changed.acknowledged', () => {
      // A new error code cleared the acknowledgement: the change notice says who had it, and offers the link again.
      const cleared = {
        ...acknowledged,
        cleared: { at: '2026-11-27T07:10:00.000Z', why: 'the alert changed (a new reason or error code)' },
      };
      return noticeViews([noticeOf({ ...quarantine, acknowledged: cleared }, 'changed')], links);
    }),
    lazy(
      'quarantine.resolved.acknowledged',
      () => noticeViews([noticeOf({ ...quarantine, acknowledged }, 'resolved')], links),
      { open: [], muted: [] },
    ),
    lazy('quarantine.escalation', () => {
      const notice = noticeOf(quarantine, 'escalation', 'root.escalate.0');
      notice.item.escalation = { step: 0, afterMs: 30 * 60_000, unacknowledgedSince: quarantine.startsAt as string };
      return noticeViews([notice], links);
    }),
  );
  // Markup, foreign links, line breaks, direction controls and 10 kB names from Graph (test/fixtures/hostile.ts).
  templates.push(lazy('hostile.firing', () => noticeViews([noticeOf(hostileQuarantine(), 'firing')], ctx)));
  return templates;
}

/**
 * `count` quarantine notices of long-named apps with long errors: more than a Teams card holds, so it
 * is laid out with less of each text and, past the smallest layout, with "And N more alert(s)".
 */
export function oversizedNotices(count: number, nameLength: number, ctx = RENDER_CONTEXT): NoticeView[] {
  const base = ALERT_FIXTURES.quarantine!;
  return Array.from({ length: count }, (_, i): AlertRecord => ({
    ...base,
    fingerprint: `f${i}`,
    labels: { ...base.labels, jobId: `${base.labels.jobId}.${i}` },
    annotations: {
      ...base.annotations,
      servicePrincipalName: `Partner ${i} ${'n'.repeat(nameLength)}`,
      errorMessage: 'e'.repeat(3000),
    },
  })).map((alert) => noticeView(noticeOf(alert, 'firing'), ctx));
}
