import { describe, expect, it } from 'vitest';
import { loadSettings, SettingsError } from '../../lib/settings/settings';
import { createHash } from 'node:crypto';
import { LINK_LIFETIME_MS, readSnoozeLink, snoozable, snoozeLinks, snoozeParams } from '../../lib/snooze/links';
import { linkFields, newLink } from '../../lib/util/signed-links';
import { confirmPage } from '../../lib/snooze/page';
import { ALERT_FIXTURES, NOW } from '../fixtures/alerts';

/** Snooze links: signed, expiring, for one alert and one of two durations; and the settings that switch them on. */

const settings = { key: 'k'.repeat(40), baseUrl: 'https://watch.example.net' };
const alert = ALERT_FIXTURES.quarantine!;
const [fourHours, oneDay] = snoozeLinks(alert, settings, NOW);
const fields = (href: string) => Object.fromEntries(new URL(href).searchParams.entries());

/** A link of the earlier format (t, a, d, e, s), as emails sent before this release carry them. */
function legacyLink(duration: '4h' | '1d', expires = Math.floor((NOW.getTime() + LINK_LIFETIME_MS) / 1000)) {
  return snoozeParams(
    { tenantId: alert.labels.tenantId, fingerprint: alert.fingerprint, duration, expires },
    settings.key,
  );
}

describe('snooze links', () => {
  it('offer 4 h and 1 day for the alert, each a signed link of purpose snooze, expiring a week after the message', () => {
    expect([fourHours?.label, oneDay?.label]).toEqual(['Snooze 4 h', 'Snooze 1 day']);
    expect(fourHours?.href).toMatch(
      /^https:\/\/watch\.example\.net\/api\/snooze\?t=[^&]+&a=[0-9a-f]+&d=4h&i=[A-Za-z0-9_-]{22}&e=\d+&k=[A-Za-z0-9_-]{8}&s=[A-Za-z0-9_-]{43}$/,
    );
    const read = readSnoozeLink(fields(oneDay!.href), settings.key, NOW);
    expect(read).toEqual({
      ok: true,
      link: {
        request: {
          tenantId: alert.labels.tenantId,
          fingerprint: alert.fingerprint,
          duration: '1d',
          expires: Math.floor((NOW.getTime() + LINK_LIFETIME_MS) / 1000),
        },
        linkId: fields(oneDay!.href).i,
        fields: fields(oneDay!.href),
        format: 'signed-link',
      },
    });
  });

  it('refuse a link changed in any field: another alert, a longer snooze, a later expiry, another key', () => {
    const f = fields(fourHours!.href);
    for (const changed of [
      { a: '0'.repeat(32) },
      { d: '1d' },
      { e: String(Number(f.e) + 86_400) },
      { t: 'fabrikam.onmicrosoft.com' },
    ]) {
      expect(readSnoozeLink({ ...f, ...changed }, settings.key, NOW)).toMatchObject({ ok: false, status: 403 });
    }
    expect(readSnoozeLink(f, 'x'.repeat(40), NOW)).toMatchObject({ ok: false, status: 403 });
  });

  it('refuse a decide link, even signed with the same key: each purpose signs with its own derived key', () => {
    const decide = newLink('decide', { t: 'x', a: 'y', d: '4h' }, NOW, 3600_000);
    expect(readSnoozeLink(linkFields(decide, settings.key), settings.key, NOW)).toMatchObject({
      ok: false,
      status: 403,
      reason: expect.stringContaining('not made by this monitor for snoozing'),
    });
  });

  it('refuse an expired link (410) and an incomplete one (400)', () => {
    const f = fields(fourHours!.href);
    expect(readSnoozeLink(f, settings.key, new Date(NOW.getTime() + LINK_LIFETIME_MS + 1000))).toMatchObject({
      ok: false,
      status: 410,
      reason: expect.stringContaining('expired'),
    });
    expect(readSnoozeLink({ ...f, s: undefined }, settings.key, NOW)).toMatchObject({ ok: false, status: 400 });
    expect(readSnoozeLink({ ...f, d: undefined }, settings.key, NOW)).toMatchObject({ ok: false, status: 400 });
  });

  it('keep working for links of the earlier format until they expire, under the identity their use was stored by', () => {
    const legacy = legacyLink('1d');
    const read = readSnoozeLink(legacy, settings.key, NOW);
    expect(read).toMatchObject({ ok: true, link: { format: 'legacy', fields: legacy, request: { duration: '1d' } } });
    // The earlier release's link id: sha256 of fingerprint, duration and signature, 32 hex.
    const expected = createHash('sha256').update(`${alert.fingerprint}\n1d\n${legacy.s}`).digest('hex').slice(0, 32);
    expect(read.ok && read.link.linkId).toBe(expected);
    expect(readSnoozeLink({ ...legacy, d: '4h' }, settings.key, NOW)).toMatchObject({ ok: false, status: 403 });
    expect(readSnoozeLink(legacy, settings.key, new Date(NOW.getTime() + LINK_LIFETIME_MS + 1000))).toMatchObject({
      ok: false,
      status: 410,
    });
  });

  it('are not made for an alert a silence could not match exactly (a * in a label)', () => {
    const wild = { ...alert, labels: { ...alert.labels, jobId: 'job*' } };
    expect(snoozable(wild)).toBe(false);
    expect(snoozeLinks(wild, settings, NOW)).toEqual([]);
  });

  it("confirm on a page that escapes the alert's name and posts the same signed fields", () => {
    const page = confirmPage({
      heading: '<script>alert(1)</script> "x"',
      duration: '4 hours',
      until: NOW,
      fields: fields(fourHours!.href),
    });
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &quot;x&quot;');
    expect(page).toContain('<form method="post">');
    expect(page).toMatch(/<input type="hidden" name="s" value="[A-Za-z0-9_-]+">/);
    expect(page).toMatch(/<input type="hidden" name="i" value="[A-Za-z0-9_-]{22}">/);
  });
});

describe('snooze settings', () => {
  const valid = {
    ALERT_EMAIL_TO: 'ops@contoso.com',
    ALERT_EMAIL_FROM: 'DoNotReply@contoso.com',
    ACS_ENDPOINT: 'https://acs.communication.azure.com',
  };
  const problems = (env: Record<string, string>) => {
    try {
      loadSettings({ ...valid, ...env });
      return [];
    } catch (error) {
      return (error as SettingsError).problems;
    }
  };

  it("are off without a key, and point at SNOOZE_BASE_URL or the Function App's own host", () => {
    expect(loadSettings(valid).snooze).toBeUndefined();
    expect(
      loadSettings({ ...valid, SNOOZE_SIGNING_KEY: 'k'.repeat(32), WEBSITE_HOSTNAME: 'sync-watch.azurewebsites.net' })
        .snooze,
    ).toEqual({ key: 'k'.repeat(32), baseUrl: 'https://sync-watch.azurewebsites.net' });
    expect(
      loadSettings({
        ...valid,
        SNOOZE_SIGNING_KEY: 'k'.repeat(32),
        SNOOZE_BASE_URL: 'https://alerts.contoso.com/watch/',
        WEBSITE_HOSTNAME: 'x.azurewebsites.net',
      }).snooze?.baseUrl,
    ).toBe('https://alerts.contoso.com/watch');
  });

  it('name every mistake: a short key, no address, plain http, an address without a key', () => {
    expect(problems({ SNOOZE_SIGNING_KEY: 'short', WEBSITE_HOSTNAME: 'x.azurewebsites.net' })).toEqual([
      expect.stringContaining('SNOOZE_SIGNING_KEY is 5 characters; use at least 32'),
    ]);
    expect(problems({ SNOOZE_SIGNING_KEY: 'k'.repeat(32) })).toEqual([expect.stringContaining('set SNOOZE_BASE_URL')]);
    expect(problems({ SNOOZE_SIGNING_KEY: 'k'.repeat(32), SNOOZE_BASE_URL: 'http://localhost:7071' })).toEqual([
      expect.stringContaining('SNOOZE_BASE_URL="http://localhost:7071" must use https://'),
    ]);
    expect(problems({ SNOOZE_BASE_URL: 'https://x.example' })).toEqual([
      expect.stringContaining('SNOOZE_BASE_URL is set without SNOOZE_SIGNING_KEY'),
    ]);
    expect(problems({ SNOOZE_SIGNING_KEY: 'k'.repeat(32), SNOOZE_BASE_URL: 'https://x.example' }).join()).not.toContain(
      'k'.repeat(32),
    );
  });
});
