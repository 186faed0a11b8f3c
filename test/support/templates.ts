import { CONDITIONS } from '../../lib/evaluate/rules';
import type { AlertRecord } from '../../lib/model';
import { noticeView, noticeViews, type NoticeView } from '../../lib/notify/notice';
import { viewOf } from '../../lib/evaluate/view';
import { snoozeLinks } from '../../lib/snooze/links';
import { ALERT_FIXTURES, KINDS, noticeOf, RENDER_CONTEXT } from '../fixtures/alerts';
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
}

/** A template whose `views` are built on each read. */
const lazy = (name: string, views: () => NoticeView[]): NoticeTemplate => ({
  name,
  get views() {
    return views();
  },
});

/** Snooze links as a deployment with SNOOZE_SIGNING_KEY makes them (a fixed key, so the golden files stay put). */
const SNOOZE_SETTINGS = {
  key: 'golden-snooze-signing-key-0123456789abcdef',
  baseUrl: 'https://sync-watch.azurewebsites.net',
};

export function noticeTemplates(ctx = RENDER_CONTEXT): NoticeTemplate[] {
  const templates: NoticeTemplate[] = [];
  const conditions = CONDITIONS.filter((c) => Object.hasOwn(ALERT_FIXTURES, c));
  const fixture = (condition: string) => ALERT_FIXTURES[condition]!;
  for (const condition of conditions) {
    for (const kind of KINDS)
      templates.push(lazy(`${condition}.${kind}`, () => noticeViews([noticeOf(fixture(condition), kind)], ctx)));
  }
  for (const kind of ['firing', 'reminder', 'resolved'] as const) {
    templates.push(
      lazy(`grouped.${kind}`, () =>
        noticeViews(
          conditions.map((c) => noticeOf(fixture(c), kind)),
          ctx,
        ),
      ),
    );
  }
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
    snooze: (alert: Parameters<typeof snoozeLinks>[0], now: Date) => snoozeLinks(alert, SNOOZE_SETTINGS, now),
  };
  templates.push(
    lazy('quarantine.firing.snooze', () => noticeViews([noticeOf(fixture('quarantine'), 'firing')], snooze)),
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
