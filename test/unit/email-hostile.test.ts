import { beforeEach, describe, expect, it } from 'vitest';
import type { EmailContent } from '../../lib/model';
import { renderEmail } from '../../lib/notify/render';
import { ALERT_FIXTURES, CONTOSO, noticeOf, RENDER_CONTEXT } from '../fixtures/alerts';
import { CRLF, DIRECTION_CONTROLS, hostileQuarantine, LONG_NAME } from '../fixtures/hostile';

/** Hostile text from Graph and the config in every part of an email: subject, headers, HTML, plain text. */

const kinds = ['firing', 'reminder', 'resolved'] as const;
/** Each email is rendered in the test that reads it, not at load (see ALERT_FIXTURES). */
const emails: [string, () => EmailContent][] = [
  ...kinds.map((kind): [string, () => EmailContent] => [
    kind,
    () => renderEmail([noticeOf(hostileQuarantine(), kind)], RENDER_CONTEXT),
  ]),
  [
    'grouped',
    () =>
      renderEmail(
        [noticeOf(hostileQuarantine(), 'firing'), noticeOf(ALERT_FIXTURES['deletion-threshold']!, 'firing')],
        RENDER_CONTEXT,
      ),
  ],
  [
    'hostile tenant name',
    () =>
      renderEmail([noticeOf(hostileQuarantine(), 'firing')], {
        ...RENDER_CONTEXT,
        tenantNames: new Map([[CONTOSO, `Contoso\r\nX-Evil: 1 \u202e${'T'.repeat(10_000)}`]]),
      }),
  ],
];
/** The HTML as a reader sees it: tags and the style sheet taken out. */
const visible = (html: string) => html.replace(/<style>[\s\S]*?<\/style>/, '').replace(/<[^>]*>/g, ' ');

describe.each(emails)('hostile text in a %s email', (_name, render) => {
  let email: EmailContent;
  beforeEach(() => {
    email = render();
  });
  it('never becomes markup or an attribute', () => {
    expect(email.html).not.toMatch(/<script|<img|<h1>injected/i);
    expect(email.html).not.toMatch(/\son(error|mouseover)="/i);
    expect(email.html).toContain('&lt;script&gt;');
    expect(email.html).toContain('&quot; onmouseover=&quot;');
  });

  it('never becomes a link to a foreign site, and is defanged where a mail client would make it one', () => {
    const hrefs = [...email.html.matchAll(/href="([^"]*)"/g)].map(
      (m) => new URL(m[1]!.replace(/&amp;/g, '&')).hostname,
    );
    expect(hrefs.every((host) => host.endsWith('.microsoft.com') || host === 'login.microsoftonline.com')).toBe(true);
    for (const part of [visible(email.html), email.plainText]) {
      expect(part).not.toMatch(/https?:\/\/evil|www\.evil/);
      // The troubleshooting URL and the error message show in the details of every notice but a resolved one.
      if (_name === 'resolved') continue;
      expect(part).toContain('hxxps://evil[.]example/reset-password');
      expect(part).toContain('www[.]evil[.]example');
      expect(part).toContain('https://learn.microsoft.com/entra/');
    }
  });

  it('adds no header line: the subject and every header are single printable lines', () => {
    expect(email.subject).not.toMatch(/[\r\n\u0085\u2028\u2029]/);
    for (const [name, value] of Object.entries(email.headers ?? {})) {
      expect(name).toMatch(/^[\x21-\x39\x3b-\x7e]+$/);
      expect(value).toMatch(/^[\x20-\x7e]+$/);
    }
    expect(email.plainText).not.toContain('\r');
  });

  it('loses its direction controls everywhere', () => {
    for (const part of [email.subject, email.html, email.plainText, ...Object.values(email.headers ?? {})])
      expect(part).not.toMatch(DIRECTION_CONTROLS);
  });

  it('is cut to size: a bounded subject that still names the tenant, and bounded bodies', () => {
    expect(email.subject.length).toBeLessThanOrEqual(200);
    expect(email.html.length).toBeLessThan(80_000);
    expect(email.plainText.length).toBeLessThan(30_000);
    expect(email.html).not.toContain(LONG_NAME.slice(0, 2000));
  });
});

describe('hostile text in subjects', () => {
  it('keeps the tenant in the subject however long the configuration name', () => {
    expect(renderEmail([noticeOf(hostileQuarantine(), 'firing')], RENDER_CONTEXT).subject).toMatch(
      /^Contoso: Quarantined: .{1,80}… \(since 27 Nov 03:05 UTC\)$/,
    );
  });

  it('turns line breaks in names into spaces rather than new lines', () => {
    const hostile = hostileQuarantine();
    const named = { ...hostile, annotations: { ...hostile.annotations, servicePrincipalName: CRLF } };
    expect(renderEmail([noticeOf(named, 'firing')], RENDER_CONTEXT).subject).toBe(
      'Contoso: Quarantined: Payroll Bcc: victim@example.com <h1>injected body</h1> (since 27 Nov 03:05 UTC)',
    );
  });
});
