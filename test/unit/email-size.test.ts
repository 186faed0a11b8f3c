import { describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../lib/model';
import { EMAIL_HTML_BUDGET_BYTES } from '../../lib/notify/channels/email/html';
import { MAX_ALERTS_PER_EMAIL } from '../../lib/notify/channels/email';
import { renderEmail } from '../../lib/notify/render';
import { ALERT_FIXTURES, alertOf, noticeOf, RENDER_CONTEXT, type NoticeKind } from '../fixtures/alerts';
import { hostileQuarantine } from '../fixtures/hostile';

/**
 * A mass incident's email stays readable: Gmail hides what comes after 102 KB of HTML, so an email
 * of many alerts shows the first ones in full and the rest in brief, and never loses one.
 */

/** `count` alerts of `condition` on different jobs, as one email's notices. */
function incident(
  count: number,
  condition = 'quarantine',
  kind: NoticeKind = 'firing',
  base: AlertRecord = ALERT_FIXTURES[condition]!,
) {
  const alerts = Array.from({ length: count }, (_, i) =>
    alertOf(
      condition,
      { ...base.annotations, servicePrincipalName: `Partner ${String(i).padStart(3, '0')} to Contoso` },
      { jobId: `${base.labels.jobId}.${i}` },
    ),
  );
  return {
    alerts,
    email: renderEmail(
      alerts.map((a) => noticeOf(a, kind)),
      RENDER_CONTEXT,
    ),
  };
}

const bytes = (html: string) => Buffer.byteLength(html);
/** Sections in full have a "Details" heading; brief lines do not. */
const fullSections = (html: string) => html.match(/>Details<\/h3>/g)?.length ?? 0;

describe('email size', () => {
  it('a few alerts are all shown in full, with no brief section', () => {
    const { email } = incident(3);
    expect(fullSections(email.html)).toBe(3);
    expect(email.html).not.toContain('More alerts');
  });

  it.each(['quarantine', 'job-failing', 'provisioning-failures', 'deletion-threshold'])(
    '%s: the largest email (%#) stays within the budget, first alerts in full and every alert named',
    (condition) => {
      const { alerts, email } = incident(MAX_ALERTS_PER_EMAIL, condition);
      expect(bytes(email.html)).toBeLessThanOrEqual(EMAIL_HTML_BUDGET_BYTES);
      expect(EMAIL_HTML_BUDGET_BYTES).toBeLessThan(102 * 1024);
      const shown = fullSections(email.html);
      expect(shown).toBeGreaterThanOrEqual(2);
      expect(shown).toBeLessThan(MAX_ALERTS_PER_EMAIL);
      expect(email.html).toContain(`${MAX_ALERTS_PER_EMAIL - shown} more alerts are shown in brief`);
      // Every alert is named in the overview and again in full or in brief, and its ID is in the footer.
      for (const alert of alerts) {
        const name = alert.annotations.servicePrincipalName as string;
        expect(email.html.split(name).length - 1, name).toBeGreaterThanOrEqual(2);
        expect(email.html).toContain(alert.fingerprint);
      }
      // The plain-text part keeps every detail of every alert.
      expect(email.plainText.match(/^What to do now|^Details/gm)?.length ?? 0).toBeGreaterThanOrEqual(
        MAX_ALERTS_PER_EMAIL,
      );
    },
  );

  it('uses the budget: one more alert in full would not have fitted', () => {
    const { email } = incident(MAX_ALERTS_PER_EMAIL);
    const shown = fullSections(email.html);
    const oneSection = bytes(incident(2).email.html) - bytes(incident(1).email.html);
    expect(bytes(email.html) + oneSection).toBeGreaterThan(EMAIL_HTML_BUDGET_BYTES);
    expect(shown).toBeGreaterThan(1);
  });

  it("a brief line links the alert's own Provisioning page and says since when", () => {
    const { email } = incident(MAX_ALERTS_PER_EMAIL);
    const brief = email.html.slice(email.html.indexOf('More alerts'));
    const line = brief.slice(brief.indexOf('Partner 049'));
    expect(brief).toMatch(/<a href="https:\/\/entra\.microsoft\.com\/[^"]+"[^>]*>Quarantined: Partner 049 to Contoso/);
    expect(line).toMatch(/Since 2026-11-27/);
  });

  it('resolved notices in brief say how they ended', () => {
    const { email } = incident(MAX_ALERTS_PER_EMAIL, 'quarantine', 'resolved');
    expect(bytes(email.html)).toBeLessThanOrEqual(EMAIL_HTML_BUDGET_BYTES);
    const brief = email.html.slice(email.html.indexOf('More alerts'));
    expect(brief).not.toContain('Since ');
    expect(brief).toMatch(/Resolved/);
  });

  it('one alert is always shown in full, however large; hostile text stays inert in brief lines too', () => {
    const hostile = hostileQuarantine();
    const single = renderEmail([noticeOf(hostile, 'firing')], RENDER_CONTEXT);
    expect(fullSections(single.html)).toBe(1);
    const { email } = incident(MAX_ALERTS_PER_EMAIL - 1, 'quarantine', 'firing', hostile);
    expect(bytes(email.html)).toBeLessThanOrEqual(EMAIL_HTML_BUDGET_BYTES);
    expect(email.html).not.toMatch(/<script|<img|href="https:\/\/evil/i);
    expect(email.html).toContain('more alerts are shown in brief');
  });
});
