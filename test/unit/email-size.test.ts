import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../lib/model';
import { EMAIL_HTML_BUDGET_BYTES } from '../../lib/notify/channels/email/html';
import { EMAIL_TEXT_BUDGET_BYTES } from '../../lib/notify/channels/email/text';
import { MAX_ALERTS_PER_EMAIL } from '../../lib/notify/channels/email';
import { splitIntoParts } from '../../lib/notify/group';
import { renderEmail } from '../../lib/notify/render';
import { ALERT_FIXTURES, alertOf, noticeOf, RENDER_CONTEXT, type NoticeKind } from '../fixtures/alerts';
import { hostileQuarantine } from '../fixtures/hostile';

/**
 * A mass incident's emails stay whole and readable: Gmail hides what comes after 102 KB of HTML, so
 * alerts of one cause are one compact section, sections that do not fit in full are named in brief,
 * and no email (HTML or plain text) ever passes 100 KB, however many alerts and however long their
 * names. A 1,000-alert incident is MAX_ALERTS_PER_EMAIL alerts an email.
 */

const GMAIL_CLIP_BYTES = 102 * 1024;
const LIMIT = 100 * 1024;

/** `count` alerts of `condition` on different jobs; with `distinct`, each with an error code of its own (a cause of its own). */
function alerts(
  count: number,
  condition = 'quarantine',
  base: AlertRecord = ALERT_FIXTURES[condition]!,
  distinct = false,
) {
  return Array.from({ length: count }, (_, i) =>
    alertOf(
      condition,
      {
        ...base.annotations,
        servicePrincipalName: `Partner ${String(i).padStart(3, '0')} to Contoso`,
        ...(distinct ? { errorCode: `SomeErrorCode${i}`, reason: `SomeReason${i}` } : {}),
      },
      { jobId: `${base.labels.jobId}.${i}` },
    ),
  );
}

const email = (list: AlertRecord[], kind: NoticeKind = 'firing') =>
  renderEmail(
    list.map((a) => noticeOf(a, kind)),
    RENDER_CONTEXT,
  );

const bytes = (text: string) => Buffer.byteLength(text);
/** Sections in full have a "Details" or a "configurations" heading; brief lines do not. */
const fullSections = (html: string) => html.match(/>Details<\/h3>|>\d+ configurations<\/h3>/g)?.length ?? 0;

describe('email size', () => {
  it('a few alerts of different causes are all shown in full, with no brief section', () => {
    const { html } = email(alerts(3, 'quarantine', undefined, true));
    expect(fullSections(html)).toBe(3);
    expect(html).not.toContain('More alerts');
  });

  it.each(['quarantine', 'job-failing', 'job-stalled', 'provisioning-failures', 'deletion-threshold'])(
    '%s: the largest email of one cause is one section with every configuration named and linked, within budget',
    (condition) => {
      const list = alerts(MAX_ALERTS_PER_EMAIL, condition);
      const { html, plainText } = email(list);
      expect(bytes(html)).toBeLessThanOrEqual(EMAIL_HTML_BUDGET_BYTES);
      expect(bytes(plainText)).toBeLessThanOrEqual(EMAIL_TEXT_BUDGET_BYTES);
      expect(EMAIL_HTML_BUDGET_BYTES).toBeLessThan(GMAIL_CLIP_BYTES);
      expect(html).not.toContain('More alerts');
      // One runbook for all of them.
      expect(html.match(/>What to do now<\/h3>/g)?.length ?? 0).toBeLessThanOrEqual(2);
      for (const alert of list) {
        const name = alert.annotations.servicePrincipalName as string;
        expect(html, name).toMatch(new RegExp(`<a href="https://entra\\.microsoft\\.com/[^"]+" [^>]*>${name}</a>`));
        expect(plainText, name).toContain(name);
        expect(html).toContain(alert.fingerprint);
      }
    },
  );

  it('alerts of as many causes as alerts: the first causes in full, the rest in brief, every alert named, within budget', () => {
    const list = alerts(MAX_ALERTS_PER_EMAIL, 'quarantine', undefined, true);
    const { html, plainText } = email(list);
    expect(bytes(html)).toBeLessThanOrEqual(EMAIL_HTML_BUDGET_BYTES);
    expect(bytes(plainText)).toBeLessThanOrEqual(EMAIL_TEXT_BUDGET_BYTES);
    const shown = fullSections(html);
    expect(shown).toBeGreaterThanOrEqual(2);
    expect(shown).toBeLessThan(MAX_ALERTS_PER_EMAIL);
    expect(html).toContain(`${MAX_ALERTS_PER_EMAIL - shown} more alerts are shown in brief`);
    for (const alert of list) {
      const name = alert.annotations.servicePrincipalName as string;
      expect(html, name).toContain(name);
      expect(plainText, name).toContain(name);
    }
    // It uses the budget: one more section in full would not have fitted.
    const oneSection = bytes(email(list.slice(0, 2)).html) - bytes(email(list.slice(0, 1)).html);
    expect(bytes(html) + oneSection).toBeGreaterThan(EMAIL_HTML_BUDGET_BYTES);
  });

  it("a brief line links the alert's own Provisioning page and says since when", () => {
    const { html } = email(alerts(MAX_ALERTS_PER_EMAIL, 'quarantine', undefined, true));
    const brief = html.slice(html.indexOf('More alerts'));
    expect(brief).toMatch(
      /<a href="https:\/\/entra\.microsoft\.com\/[^"]+"[^>]*>Partner 099 to Contoso \(Contoso\)<\/a>/,
    );
    expect(brief.slice(brief.indexOf('Partner 099'))).toMatch(/since 27 Nov 02:40 UTC/);
  });

  it('resolved notices in a list say how they ended', () => {
    const { html } = email(alerts(MAX_ALERTS_PER_EMAIL), 'resolved');
    expect(bytes(html)).toBeLessThanOrEqual(EMAIL_HTML_BUDGET_BYTES);
    const list = html.slice(html.indexOf('configurations</h3>'));
    expect(list).not.toContain('since 27 Nov');
    expect(list).toMatch(/Partner 000 to Contoso<\/a> <span[^>]*>· resolved after 4 h 25 min</);
  });

  it('one alert is always shown in full, however large; hostile text stays inert in lists too', () => {
    const hostile = hostileQuarantine();
    const single = renderEmail([noticeOf(hostile, 'firing')], RENDER_CONTEXT);
    expect(fullSections(single.html)).toBe(1);
    const { html } = email(alerts(MAX_ALERTS_PER_EMAIL - 1, 'quarantine', hostile));
    expect(bytes(html)).toBeLessThanOrEqual(EMAIL_HTML_BUDGET_BYTES);
    expect(html).not.toMatch(/<script|<img|href="https:\/\/evil/i);
  });

  it('the worst case, 1,000 alerts with hostile long names in hostile tenants: every email under 100 KB of HTML and of text, nothing lost', () => {
    const hostile = hostileQuarantine();
    const all = Array.from({ length: 1000 }, (_, i) =>
      alertOf(
        i % 2 ? 'quarantine' : 'job-stalled',
        { ...hostile.annotations, servicePrincipalName: `${String(hostile.annotations.servicePrincipalName)} #${i}` },
        { jobId: `${hostile.labels.jobId}.${i}`, tenantId: `tenant-${i % 7}-${'<b>x</b>'.repeat(40)}` },
      ),
    );
    const byKey = new Map(all.map((a) => [`${a.fingerprint}`, a]));
    const notices = all.map((a) => noticeOf(a, 'firing'));
    const parts = splitIntoParts(notices.map((n) => n.item));
    expect(parts).toHaveLength(Math.ceil(1000 / MAX_ALERTS_PER_EMAIL));
    const named = new Set<string>();
    for (const [i, items] of parts.entries()) {
      const part = renderEmail(
        items.map((item) => ({ item, alert: byKey.get(item.fingerprint)! })),
        { ...RENDER_CONTEXT, part: { index: i + 1, total: parts.length } },
      );
      expect(bytes(part.html), `part ${i + 1}`).toBeLessThan(LIMIT);
      expect(bytes(part.plainText), `part ${i + 1}`).toBeLessThan(LIMIT);
      expect(part.subject.length).toBeLessThanOrEqual(200);
      expect(part.subject.indexOf('tenant-')).toBe(0);
      for (const item of items) if (part.plainText.includes(item.fingerprint)) named.add(item.fingerprint);
      for (const match of part.plainText.matchAll(/#(\d+)\b/g)) named.add(all[Number(match[1])]!.fingerprint);
    }
    expect(named.size).toBe(1000);
  });
});
