import { CONDITIONS } from '../../lib/evaluate/rules';
import type { EmailContent } from '../../lib/model';
import { noticeView } from '../../lib/notify/notice';
import { emailFromViews, renderEmail } from '../../lib/notify/render';
import { viewOf } from '../../lib/notify/view';
import { ALERT_FIXTURES, KINDS, noticeOf, RENDER_CONTEXT } from '../fixtures/alerts';
import { hostileQuarantine } from '../fixtures/hostile';

/** Every email the product can send, from the fixtures: each condition in each kind, grouped ones, an alert that ended badly, and one full of hostile text. */
export interface EmailTemplate {
  /** File-name-safe: `quarantine.firing`, `grouped.resolved`. */
  name: string;
  email: EmailContent;
}

export function emailTemplates(): EmailTemplate[] {
  const templates: EmailTemplate[] = [];
  const fixtures = CONDITIONS.filter((c) => ALERT_FIXTURES[c]).map((c) => ALERT_FIXTURES[c]!);
  for (const alert of fixtures) {
    for (const kind of KINDS) templates.push({ name: `${alert.labels.condition}.${kind}`, email: renderEmail([noticeOf(alert, kind)], RENDER_CONTEXT) });
  }
  for (const kind of ['firing', 'reminder', 'resolved'] as const) {
    templates.push({ name: `grouped.${kind}`, email: renderEmail(fixtures.map((a) => noticeOf(a, kind)), RENDER_CONTEXT) });
  }
  // An alert that ended badly (AlertView.endedWell false): a quarantine that ended because Entra disabled the job.
  const quarantine = noticeOf(ALERT_FIXTURES.quarantine!, 'resolved');
  const view = { ...viewOf(quarantine.alert, RENDER_CONTEXT), ended: 'ended because Entra disabled the job', endedWell: false };
  templates.push({ name: 'quarantine.ended-badly', email: emailFromViews([noticeView(quarantine, RENDER_CONTEXT, view)], RENDER_CONTEXT) });
  // Markup, foreign links, line breaks, direction controls and 10 kB names from Graph (test/fixtures/hostile.ts).
  templates.push({ name: 'hostile.firing', email: renderEmail([noticeOf(hostileQuarantine(), 'firing')], RENDER_CONTEXT) });
  return templates;
}
