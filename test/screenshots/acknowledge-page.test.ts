import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acknowledgedPage, confirmPage } from '../../lib/acknowledge/page';

/**
 * The acknowledge pages as a phone (375 px) and a desktop (1200 px) show them, with the longest
 * text they can hold (a 200-character alert name, long addresses, a 300-character comment): nothing
 * may run off the screen sideways, and the button must be on the page. Screenshots go to
 * test-artifacts/screenshots/ (not committed). Needs Debian's chromium, or CHROMIUM_PATH.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'screenshots');
const LONG_NAME = `Quarantined: ${'Woodgrove-Bank-HR-Directory-'.repeat(7)} (Contoso)`.slice(0, 200);
const FIELDS = { t: 'tenant', a: 'f'.repeat(32), p: '2026-11-27T03:00:00.000Z', r: 'root.0', form: 'x'.repeat(60) };

const PAGES: Record<string, string> = {
  'confirm-recipients': confirmPage({
    heading: LONG_NAME,
    since: '2026-11-27T03:00:00.000Z',
    who: {
      kind: 'recipients',
      recipients: ['identity-operations-on-call-team@contoso-managed-services.example.com', 'lead@contoso.com'],
    },
    fields: FIELDS,
    clearedBefore:
      'alice@contoso.com had acknowledged it at 2026-11-27 03:10 UTC, before the alert changed (a new reason or error code) at 2026-11-27 04:00 UTC.',
  }),
  'confirm-name': confirmPage({
    heading: LONG_NAME,
    since: '2026-11-27T03:00:00.000Z',
    who: { kind: 'name', where: 'a Teams channel' },
    fields: FIELDS,
  }),
  acknowledged: acknowledgedPage({
    heading: LONG_NAME,
    by: 'identity-operations-on-call-team@contoso-managed-services.example.com',
    at: '2026-11-27T03:12:00.000Z',
    comment: 'Restarting-the-job-after-fixing-the-cross-tenant-access-settings-'.repeat(5).slice(0, 300),
    already: false,
  }),
};

describe('acknowledge pages on a phone and a desktop', () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  });
  afterAll(() => browser?.close());

  const cases = Object.keys(PAGES).flatMap((name) => [375, 1200].map((width) => [name, width] as const));
  it.each(cases)('%s at %i px stays within the screen', async (name, width) => {
    const page = await browser.newPage();
    try {
      await page.setViewport({ width, height: 800 });
      await page.setJavaScriptEnabled(false);
      await page.setContent(PAGES[name] as string, { waitUntil: 'load' });
      const sizes = await page.evaluate(
        'JSON.stringify({ scroll: document.documentElement.scrollWidth, view: window.innerWidth, ' +
          'button: (() => { const b = document.querySelector("button"); if (!b) return null; const r = b.getBoundingClientRect(); return { left: r.left, right: r.right }; })() })',
      );
      const { scroll, view, button } = JSON.parse(sizes as string) as {
        scroll: number;
        view: number;
        button: { left: number; right: number } | null;
      };
      await page.screenshot({
        path: join(ARTIFACTS, `acknowledge-${name}-${width}.png`) as `${string}.png`,
        fullPage: true,
      });
      expect(scroll, `${name} scrolls sideways at ${width} px`).toBeLessThanOrEqual(view);
      if (name.startsWith('confirm')) {
        expect(button).not.toBeNull();
        expect(button!.left).toBeGreaterThanOrEqual(0);
        expect(button!.right).toBeLessThanOrEqual(view);
      }
    } finally {
      await page.close();
    }
  });
});
