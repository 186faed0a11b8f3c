import Ajv from 'ajv';
import { beforeEach, describe, expect, it } from 'vitest';
import type { EmailContent } from '../../lib/model';
import type { ChannelMessage } from '../../lib/notify/channels/message';
import { digestEmail } from '../../lib/notify/channels/email/digest';
import { TEAMS_CARD_BUDGET_BYTES } from '../../lib/notify/channels/teams';
import { noticeViews, type NoticeView } from '../../lib/notify/notice';
import webhookSchema from '../../schemas/webhook-v1.json';
import { ALERT_FIXTURES, CONTOSO, noticeOf, NOW, RENDER_CONTEXT } from '../fixtures/alerts';
import { DIRECTION_CONTROLS, FOREIGN_LINK, hostileQuarantine, LONG_NAME, MARKUP } from '../fixtures/hostile';
import { channelDigest, channelMessage, TEAMS, WEBHOOK } from '../support/channel-templates';
import { digestTemplates } from '../support/digest-templates';

/**
 * Hostile text from Graph and the config in every channel besides email: a Teams card (whose text
 * is Markdown) and a webhook payload (whose receivers may render it). It must stay inert text.
 */

const hostileTenant = new Map([
  [CONTOSO, `Contoso\r\nX-Evil: 1 \u202e[click](https://evil.example) ${'T'.repeat(10_000)}`],
]);
/** Each case's views are built in the test that reads them, not at load (see ALERT_FIXTURES). */
const cases: (readonly [string, () => NoticeView[]])[] = [
  ...(['firing', 'reminder', 'resolved'] as const).map(
    (kind) => [kind, () => noticeViews([noticeOf(hostileQuarantine(), kind)], RENDER_CONTEXT)] as const,
  ),
  [
    'grouped',
    () =>
      noticeViews(
        [noticeOf(hostileQuarantine(), 'firing'), noticeOf(ALERT_FIXTURES['deletion-threshold']!, 'firing')],
        RENDER_CONTEXT,
      ),
  ] as const,
  [
    'hostile tenant name',
    () => noticeViews([noticeOf(hostileQuarantine(), 'firing')], { ...RENDER_CONTEXT, tenantNames: hostileTenant }),
  ] as const,
  [
    'markdown link in a name',
    () => {
      const hostile = hostileQuarantine();
      return noticeViews(
        [
          noticeOf(
            {
              ...hostile,
              annotations: {
                ...hostile.annotations,
                servicePrincipalName: 'Reset [your password](https://evil.example/x) **now**',
                errorMessage: 'See [docs](https://learn.microsoft.com/entra/) and <https://evil.example>',
              },
            },
            'firing',
          ),
        ],
        RENDER_CONTEXT,
      );
    },
  ] as const,
];

/** Every string in a parsed JSON value, with the key it sits under. */
function strings(value: unknown, key = ''): [string, string][] {
  if (typeof value === 'string') return [[key, value]];
  if (Array.isArray(value)) return value.flatMap((v) => strings(v, key));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => strings(v, k));
  return [];
}

const validate = new Ajv({ allErrors: true }).compile(webhookSchema);
const microsoft = (href: string) =>
  /^(?:[a-z0-9-]+\.)*(?:microsoft\.com|microsoftonline\.com)$/.test(new URL(href).hostname);

describe.each(cases)('hostile text in a %s Teams card', (_name, views) => {
  let body: string;
  let card: { body: unknown; fallbackText: string };
  let texts: [string, string][];
  beforeEach(() => {
    body = channelMessage(TEAMS, views(), { now: NOW }).body;
    card = JSON.parse(body).attachments[0].content;
    texts = strings(card.body).filter(([key]) => key === 'text' || key === 'title' || key === 'value');
  });

  it("never becomes a Markdown link, and every button opens Microsoft's admin center or docs", () => {
    for (const [, text] of texts) expect(text).not.toMatch(/\]\(|<https?:/);
    const urls = strings(card.body)
      .filter(([key]) => key === 'url')
      .map(([, url]) => url);
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.every(microsoft)).toBe(true);
  });

  it('shows foreign URLs defanged, and markup as text', () => {
    const all = texts.map(([, t]) => t).join('\n');
    expect(all).not.toMatch(/https?:\/\/evil|www\.evil/);
    if (_name !== 'resolved' && _name !== 'markdown link in a name') {
      expect(all).toContain('hxxps://evil[.]example/reset-password');
      expect(all).toContain(MARKUP.slice(0, 20));
    }
  });

  it('loses line breaks in headings, control and direction characters everywhere', () => {
    for (const [, text] of strings(card)) {
      // eslint-disable-next-line no-control-regex -- looking for control characters is the point
      expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      expect(text).not.toMatch(DIRECTION_CONTROLS);
    }
    expect(card.fallbackText).not.toMatch(/[\r\n]/);
  });

  it("stays within Teams' size limit, cut to size", () => {
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(TEAMS_CARD_BUDGET_BYTES);
    expect(body).not.toContain(LONG_NAME.slice(0, 2000));
  });
});

describe.each(cases)('hostile text in a %s webhook payload', (_name, views) => {
  let body: string;
  let payload: unknown;
  beforeEach(() => {
    body = channelMessage(WEBHOOK, views(), { now: NOW, id: 'x' }).body;
    payload = JSON.parse(body);
  });

  it('still validates against the schema', () => {
    expect(validate(payload), JSON.stringify(validate.errors)).toBe(true);
  });

  it('links only to Microsoft over https, and shows foreign URLs defanged', () => {
    const hrefs = strings(payload)
      .filter(([key]) => key === 'href')
      .map(([, h]) => h);
    expect(hrefs.every(microsoft)).toBe(true);
    expect(body).not.toMatch(/https?:\/\/evil|www\.evil/);
    expect(body).not.toContain(FOREIGN_LINK);
  });

  it('keeps markup as plain text (JSON-escaped, for the receiver to escape), without control or direction characters', () => {
    for (const [key, text] of strings(payload)) {
      // eslint-disable-next-line no-control-regex -- looking for control characters is the point
      expect(text, key).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
      expect(text, key).not.toMatch(DIRECTION_CONTROLS);
      if (['heading', 'stem', 'subject', 'title', 'about', 'label', 'tenantName', 'app'].includes(key))
        expect(text, key).not.toContain('\n');
    }
  });

  it('is cut to size', () => {
    expect(body.length).toBeLessThan(60_000);
    expect(body).not.toContain(LONG_NAME.slice(0, 2000));
  });
});

describe('hostile text in a daily digest, in every channel', () => {
  let email: EmailContent;
  let teams: ChannelMessage;
  let webhook: unknown;
  beforeEach(() => {
    const digest = digestTemplates().find((t) => t.name === 'digest.hostile')!.digest;
    email = digestEmail(digest, RENDER_CONTEXT);
    teams = channelDigest(TEAMS, digest, { now: NOW });
    webhook = JSON.parse(channelDigest(WEBHOOK, digest, { now: NOW, id: 'x' }).body);
  });

  it('an email: no markup, no foreign link, single-line subject and headers, no direction controls, bounded', () => {
    expect(email.html).not.toMatch(/<script|<img|<h1>injected|\son(error|mouseover)="/i);
    expect(email.html).toContain('&lt;script&gt;');
    expect(email.html.replace(/<[^>]*>/g, ' ')).not.toMatch(/https?:\/\/evil/);
    // The only links are the alert's own page in the admin center (made by the monitor, not taken from Graph).
    const hrefs = [...email.html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
    expect(hrefs.length).toBeGreaterThan(0);
    for (const href of hrefs) expect(href).toMatch(/^https:\/\/entra\.microsoft\.com\/[0-9a-f-]{36}\/#view\//);
    for (const value of [email.subject, ...Object.values(email.headers ?? {})]) expect(value).toMatch(/^[\x20-\x7e]+$/);
    for (const part of [email.html, email.plainText]) expect(part).not.toMatch(DIRECTION_CONTROLS);
    expect(email.html).not.toContain(LONG_NAME.slice(0, 2000));
  });

  it('a Teams card: no Markdown link, no control or direction characters, within the size limit', () => {
    for (const [, text] of strings(JSON.parse(teams.body))) {
      expect(text).not.toMatch(/\]\(|https?:\/\/evil/);
      expect(text).not.toMatch(DIRECTION_CONTROLS);
    }
    expect(Buffer.byteLength(teams.body)).toBeLessThanOrEqual(TEAMS_CARD_BUDGET_BYTES);
  });

  it('a webhook payload: valid, plain, bounded', () => {
    expect(validate(webhook), JSON.stringify(validate.errors)).toBe(true);
    for (const [key, text] of strings(webhook)) {
      expect(text, key).not.toMatch(DIRECTION_CONTROLS);
      expect(text, key).not.toMatch(/https?:\/\/evil/);
    }
  });
});
