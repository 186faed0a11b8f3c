import { describe, expect, it } from 'vitest';
import { ruleFor } from '../../lib/evaluate/rules';
import type { AlertRecord, NotificationItem } from '../../lib/model';
import { afterSent, neededNotification } from '../../lib/dispatch/dedup';
import { noticeView } from '../../lib/notify/notice';
import { renderEmail } from '../../lib/notify/render';
import { ALERT_FIXTURES, RENDER_CONTEXT, NOW } from '../fixtures/alerts';
import { channelMessage, TEAMS, WEBHOOK } from '../support/channel-templates';
import { route } from '../support/policy';

/**
 * A change notice (a quarantine's new reason or error code, a new failing error code, a token
 * nearer its expiry) says what it was before, so the reader need not find the last email.
 */

const describe_ = (condition: string, before: string, after: string) =>
  ruleFor(condition)!.describeChange!(before, after);

describe('what each rule says changed', () => {
  it('a quarantine: the reason, the error code, each only when it changed, and the start of its last week', () => {
    expect(describe_('quarantine', 'EncounteredQuarantineException|A', 'EncounteredQuarantineException|B')).toBe(
      'The error code was A; it is now B.',
    );
    expect(describe_('quarantine', 'EncounteredEscrowProportionThreshold|A', 'EncounteredQuarantineException|A')).toBe(
      'The reason was EncounteredEscrowProportionThreshold; it is now EncounteredQuarantineException.',
    );
    expect(describe_('quarantine', '|', 'EncounteredQuarantineException|')).toBe(
      'The reason was not given; it is now EncounteredQuarantineException.',
    );
    expect(describe_('quarantine', 'R|A', 'R|')).toBe('The error code was A; it is now none.');
    expect(describe_('quarantine', 'R|A', 'R|A|final-week')).toBe(
      'Its last week before Entra disables the job has begun, so the alert is now critical.',
    );
    expect(describe_('quarantine', 'R|A', 'S|B|final-week')).toBe(
      'The reason was R; it is now S. The error code was A; it is now B. Its last week before Entra disables the job has begun, so the alert is now critical.',
    );
    // Leaving the last week (a config change, a new quarantine series) says nothing of weeks.
    expect(describe_('quarantine', 'R|A|final-week', 'R|A')).toBeUndefined();
  });

  it('a failing job: the error code of its last run', () => {
    expect(describe_('job-failing', 'SchemaAttributeNotFound', 'EntryConflict')).toBe(
      'The error code of its last run was SchemaAttributeNotFound; it is now EntryConflict.',
    );
    expect(describe_('job-failing', '', 'EntryConflict')).toBe(
      'The error code of its last run was none; it is now EntryConflict.',
    );
  });

  it("Entra's notification email: off or on without recipients", () => {
    expect(describe_('notification-email-off', 'no recipients', 'off')).toBe(
      "Entra's notification email was on without recipients; it is now off.",
    );
    expect(describe_('notification-email-off', 'off', 'no recipients')).toBe(
      "Entra's notification email was off; it is now on without recipients.",
    );
    expect(describe_('notification-email-off', '', 'something new')).toBe(
      "Entra's notification email was not known; it is now something new.",
    );
  });

  it('a secret token: how near its expiry it was and is', () => {
    expect(describe_('scim-token-expiring', 'warning', 'critical')).toBe(
      'The token was expiring (a warning); it is now about to expire (critical).',
    );
    expect(describe_('scim-token-expiring', 'critical', 'expired')).toBe(
      'The token was about to expire (critical); it is now expired.',
    );
    expect(describe_('scim-token-expiring', '', 'odd')).toBe('The token was not known; it is now odd.');
  });

  it('provisioning failures: the error codes that are new, and a higher multiple of the threshold', () => {
    expect(
      describe_('provisioning-failures', 'EntryConflict|tier 0', 'EntryConflict,MandatoryFieldsMissing|tier 0'),
    ).toBe('New error code since the last notice: MandatoryFieldsMissing.');
    expect(describe_('provisioning-failures', 'A|tier 0', 'A,B,C|tier 0')).toBe(
      'New error codes since the last notice: B, C.',
    );
    expect(describe_('provisioning-failures', 'A|tier 0', 'A|tier 1')).toBe(
      'The failures have passed 10 times the threshold.',
    );
    expect(describe_('provisioning-failures', 'A|tier 1', 'A,B|tier 2')).toBe(
      'New error code since the last notice: B. The failures have passed 100 times the threshold.',
    );
    // A code that went away, or a lower tier, is no news.
    expect(describe_('provisioning-failures', 'A,B|tier 1', 'A|tier 0')).toBeUndefined();
    expect(describe_('provisioning-failures', '|tier 0', '|tier 0')).toBeUndefined();
  });

  it('the rules whose alerts carry no material have nothing to say', () => {
    for (const condition of ['job-stalled', 'job-disabled', 'tenant-unreadable', 'deletion-threshold'])
      expect(ruleFor(condition)?.describeChange, condition).toBeUndefined();
  });
});

describe('a change notice carries what the route heard before, to every channel', () => {
  const root = route('root');
  const told = (alert: AlertRecord) =>
    afterSent(alert, neededNotification(alert, root, NOW) as NotificationItem, NOW.toISOString());
  const quarantine = (material: string): AlertRecord => ({ ...ALERT_FIXTURES.quarantine!, material, notified: {} });

  it("dedup puts the route's last material on a change notice, and on no other kind", () => {
    const before = told(quarantine('EncounteredQuarantineException|A'));
    expect(neededNotification(before, root, NOW)).toBeUndefined();
    const change = neededNotification({ ...before, material: 'EncounteredQuarantineException|B' }, root, NOW);
    expect(change).toMatchObject({
      kind: 'changed',
      material: 'EncounteredQuarantineException|B',
      previousMaterial: 'EncounteredQuarantineException|A',
    });
    expect(neededNotification(quarantine('X|Y'), root, NOW)).toMatchObject({
      kind: 'firing',
      previousMaterial: undefined,
    });
    const reminder = neededNotification(before, root, new Date(NOW.getTime() + 30 * 86_400_000));
    expect(reminder).toMatchObject({ kind: 'reminder', previousMaterial: undefined });
  });

  it('every channel says it first; a notice planned before routes kept their material says nothing of it', () => {
    const before = told(quarantine('EncounteredQuarantineException|A'));
    const alert = { ...before, material: 'EncounteredQuarantineException|B' };
    const item = neededNotification(alert, root, NOW) as NotificationItem;
    const sentence = 'The error code was A; it is now B.';
    expect(noticeView({ item, alert }, RENDER_CONTEXT).change).toBe(sentence);
    const email = renderEmail([{ item, alert }], RENDER_CONTEXT);
    expect(email.plainText).toContain(`What changed: ${sentence}`);
    expect(email.plainText.indexOf('What changed')).toBeLessThan(email.plainText.indexOf('Entra quarantined'));
    expect(email.html).toContain('What changed');
    expect(email.html).toContain(sentence);
    const views = [noticeView({ item, alert }, RENDER_CONTEXT)];
    expect(channelMessage(TEAMS, views, { now: NOW }).body).toContain(`What changed: ${sentence}`);
    expect(JSON.parse(channelMessage(WEBHOOK, views, { now: NOW, id: 'x' }).body).notices[0].change).toBe(sentence);

    const legacy = { ...item, previousMaterial: undefined };
    expect(noticeView({ item: legacy, alert }, RENDER_CONTEXT).change).toBeUndefined();
    expect(renderEmail([{ item: legacy, alert }], RENDER_CONTEXT).plainText).not.toContain('What changed');
    expect(
      JSON.parse(
        channelMessage(WEBHOOK, [noticeView({ item: legacy, alert }, RENDER_CONTEXT)], { now: NOW, id: 'x' }).body,
      ).notices[0].change,
    ).toBeNull();
  });

  it('escapes what Graph put in the material, like any other Graph text', () => {
    const before = told(quarantine('R|<b>A</b>'));
    const alert = { ...before, material: 'R|B & "C"' };
    const item = neededNotification(alert, root, NOW) as NotificationItem;
    const { html } = renderEmail([{ item, alert }], RENDER_CONTEXT);
    expect(html).toContain('The error code was &lt;b&gt;A&lt;/b&gt;; it is now B &amp; &quot;C&quot;.');
    expect(html).not.toContain('<b>A</b>');
  });
});
