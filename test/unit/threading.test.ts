import { describe, expect, it } from 'vitest';
import { CONDITIONS } from '../../lib/evaluate/rules';
import type { EmailContent } from '../../lib/model';
import { renderEmail } from '../../lib/notify/render';
import { ALERT_FIXTURES, KINDS, noticeOf, RENDER_CONTEXT } from '../fixtures/alerts';
import { digestTemplates } from '../support/digest-templates';
import { emailTemplates } from '../support/email-templates';
import { noticeTemplates } from '../support/templates';

/**
 * Threading and mail rules (docs/channels.md, "Threading and mail rules"): the emails of one alert's life
 * (firing, reminder, change, resolved) thread in Gmail by its subject rule (the same subject apart
 * from `Re:`/`Fwd:`, Gmail Help "Group emails into conversations"), and in Outlook/Exchange and Apple
 * Mail by their headers (In-Reply-To and References to the first email's Message-ID); no subject
 * carries a severity tag, so a rule written for emergencies never matches a recovery; every
 * subject names the tenant within the 40 characters a phone's mail list shows.
 */

/** A subject as Gmail compares it: without any number of leading `Re:`, `Fw:` or `Fwd:`. */
function gmailSubject(subject: string): string {
  return subject.replace(/^(?:\s*(?:re|fwd?)\s*:\s*)+/i, '').trim();
}

/** A subject as Outlook normalises it ([MS-OXCMAIL] 2.2.3.2.6.1): a prefix of 1 to 3 characters and a colon is dropped. */
function outlookTopic(subject: string): string {
  const match = /^([^:\s\d]{1,3}):\s*/.exec(subject);
  return match ? subject.slice(match[0].length) : subject;
}

const lifeOf = (condition: string): Record<(typeof KINDS)[number], EmailContent> =>
  Object.fromEntries(
    KINDS.map((kind) => [kind, renderEmail([noticeOf(ALERT_FIXTURES[condition]!, kind)], RENDER_CONTEXT)]),
  ) as Record<(typeof KINDS)[number], EmailContent>;

describe("one alert's life is one thread", () => {
  it.each(CONDITIONS.filter((c) => ALERT_FIXTURES[c]))(
    "%s: firing, reminder, change and resolved have one subject by Gmail's rule and by Outlook's, and chain by their headers",
    (condition) => {
      const life = lifeOf(condition);
      const subjects = KINDS.map((kind) => life[kind].subject);
      expect(new Set(subjects.map(gmailSubject)).size, subjects.join('\n')).toBe(1);
      expect(new Set(subjects.map(outlookTopic)).size, subjects.join('\n')).toBe(1);
      // The first has no prefix; each later one exactly one `Re: ` (RFC 5322 §3.6.5).
      expect(life.firing.subject).not.toMatch(/^re:/i);
      for (const kind of ['reminder', 'changed', 'resolved'] as const)
        expect(life[kind].subject).toBe(`Re: ${life.firing.subject}`);
      const root = life.firing.headers!['Message-ID']!;
      expect(root).toMatch(/^<alert\.[0-9a-f]{32}\.\d+@watch\.contoso\.example>$/);
      expect(life.firing.headers!['In-Reply-To']).toBeUndefined();
      const ids = new Set([root]);
      for (const kind of ['reminder', 'changed', 'resolved'] as const) {
        const headers = life[kind].headers!;
        expect(headers['In-Reply-To']).toBe(root);
        expect(headers.References).toBe(root);
        ids.add(headers['Message-ID']!);
      }
      expect(ids.size).toBe(4);
    },
  );

  it('a new firing after a resolve is a new thread: another subject and another root', () => {
    const first = lifeOf('quarantine');
    const again = { ...ALERT_FIXTURES.quarantine!, startsAt: '2026-11-28T09:30:00.000Z' };
    const refire = renderEmail([noticeOf(again, 'firing')], RENDER_CONTEXT);
    expect(gmailSubject(refire.subject)).not.toBe(gmailSubject(first.firing.subject));
    expect(refire.headers!['Message-ID']).not.toBe(first.firing.headers!['Message-ID']);
  });

  it('says in headers what the subject no longer does: the kind and the severity, Importance high only to act now', () => {
    const life = lifeOf('quarantine');
    expect(KINDS.map((kind) => life[kind].headers!['X-Entra-Sync-Watch-Kind'])).toEqual(KINDS);
    for (const kind of KINDS) expect(life[kind].headers!['X-Entra-Sync-Watch-Severity']).toBe('critical');
    expect(KINDS.map((kind) => life[kind].headers!.Importance)).toEqual(['high', undefined, 'high', undefined]);
    // And in the body, for Gmail's filters, which cannot read headers.
    expect(life.resolved.plainText).toContain('Filter tags: esw-kind-resolved esw-sev-critical esw-cond-quarantine');
    expect(life.resolved.html).toContain('Filter tags: esw-kind-resolved esw-sev-critical esw-cond-quarantine');
  });
});

describe('every golden email', () => {
  const templates = emailTemplates();
  const tenantsOf = new Map([
    ...noticeTemplates().map((t) => [t.name, t.views.map((v) => v.tenant)] as const),
    ...digestTemplates().map((t) => [t.name, t.digest.open.map((a) => a.tenant)] as const),
  ]);

  it.each(templates.map((t) => [t.name, t] as const))(
    '%s: no severity tag, and its first tenant within 40 characters',
    (name, t) => {
      const { subject, headers } = t.email;
      expect(subject).not.toMatch(/\[(critical|warning)\]/i);
      const [tenant] = tenantsOf.get(name) ?? [];
      if (tenant) expect(subject.slice(0, 40), subject).toContain(tenant.slice(0, 30));
      else expect(subject).toMatch(/^All \d+ tenants? healthy: /);
      // A grouped email starts a thread of its own: it points at no alert's root.
      if ((tenantsOf.get(name)?.length ?? 0) > 1 && !name.startsWith('digest.')) {
        expect(headers?.References).toBeUndefined();
        expect(headers?.['In-Reply-To']).toBeUndefined();
      }
    },
  );

  it('no resolved email is Importance high or names a severity in its subject', () => {
    for (const t of templates.filter((x) => /resolved|ended/.test(x.name))) {
      expect(t.email.headers?.Importance, t.name).toBeUndefined();
      expect(t.email.subject, t.name).not.toMatch(/critical|warning/i);
    }
  });
});
