import { mkdirSync, rmSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { join } from 'node:path';
import type { Browser, CDPSession, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailTemplates } from '../support/email-templates';
import { launchChromium } from '../support/chromium';
import { UPDATING } from '../support/golden';

/**
 * Every email template in headless Chromium as a phone (375 px) shows it, every layout as a desktop
 * (1200 px) shows it, and each colour scheme in dark mode twice: the way clients that honour
 * `prefers-color-scheme` draw it (our dark styles) and the way clients that force dark mode draw it
 * (Chromium's automatic dark mode, as the Gmail and Outlook apps do). It fails when anything runs
 * off the screen or out of the card sideways, or clips its content. Screenshots go to
 * test-artifacts/screenshots/ (not committed); `UPDATE_GOLDEN=1` also refreshes the one in docs/
 * that the README and docs/channels.md show.
 *
 * Needs Debian's chromium (`apt-get install chromium`; .ci/run installs it), or CHROMIUM_PATH.
 */

const ROOT = join(__dirname, '..', '..');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'screenshots');
/** The phone's first screen the README shows: the demo's five-alert email at 375 × 667. */
const README_SHOT = { template: 'incident.firing', file: join(ROOT, 'docs', 'email-phone.png') };
/** An iPhone SE's viewport (Chrome DevTools' emulated device list): what a phone shows before any scrolling. */
const FIRST_SCREEN = { width: 375, height: 667 };
/** Emails with nothing to do, so no button: a digest of a healthy day. */
const NOTHING_TO_DO = ['digest.healthy'];

interface Mode {
  name: string;
  width: number;
  dark?: 'preferred' | 'forced';
  /** Which templates: every one, one per kind of layout (reminders and changes differ from firing notices only in words), or one per colour scheme. */
  templates: 'all' | 'layouts' | 'colours';
  /** Without the `<style>` block, as clients that drop it (Gmail for non-Google accounts, some webmail) show the email. */
  withoutStyleSheet?: boolean;
}
/** Dark modes change colours, not layout, so one template per colour scheme shows them. */
const COLOUR_TEMPLATES = ['quarantine.firing', 'grouped.resolved', 'quarantine.ended-badly', 'hostile.firing'];
const MODES: Mode[] = [
  { name: '375', width: 375, templates: 'all' },
  { name: '1200', width: 1200, templates: 'layouts' },
  { name: '375-dark', width: 375, dark: 'preferred', templates: 'colours' },
  { name: '375-forced-dark', width: 375, dark: 'forced', templates: 'colours' },
  { name: '375-no-style-sheet', width: 375, templates: 'layouts', withoutStyleSheet: true },
];

// The functions below run inside Chromium; the project compiles without the DOM library, so they
// declare the little of it they use.
interface Box {
  left: number;
  right: number;
  top: number;
  width: number;
  height: number;
}
interface PageElement {
  tagName: string;
  className: unknown;
  textContent: string | null;
  scrollWidth: number;
  clientWidth: number;
  getBoundingClientRect(): Box;
  closest(selector: string): PageElement | null;
}
declare const document: {
  documentElement: PageElement & { scrollHeight: number; clientWidth: number };
  body: { querySelectorAll(selector: string): ArrayLike<PageElement> };
  querySelector(selector: string): PageElement | null;
};
declare function getComputedStyle(element: PageElement): { overflowX: string };

/** What runs off the screen, out of the email's card, or is cut off inside its box. Runs in the page. */
function findOverflow(): string[] {
  const viewport = document.documentElement.clientWidth;
  const card = document.querySelector('.esw-card')?.getBoundingClientRect();
  const describe = (el: PageElement) =>
    `<${el.tagName.toLowerCase()}${el.className ? ` class="${String(el.className)}"` : ''}> "${(el.textContent ?? '').trim().slice(0, 40)}"`;
  const problems: string[] = [];
  if (document.documentElement.scrollWidth > viewport)
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px in a ${viewport} px screen`);
  if (!card) problems.push('no .esw-card');
  for (const el of Array.from(document.body.querySelectorAll('*'))) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.left < -0.5 || box.right > viewport + 0.5)
      problems.push(
        `${describe(el)} spans ${Math.round(box.left)}..${Math.round(box.right)} px of a ${viewport} px screen`,
      );
    else if (
      card &&
      el !== document.querySelector('.esw-card') &&
      card.right > 0 &&
      el.closest('.esw-card') &&
      (box.left < card.left - 0.5 || box.right > card.right + 0.5)
    ) {
      problems.push(
        `${describe(el)} sticks out of the card: ${Math.round(box.left)}..${Math.round(box.right)} px, card ${Math.round(card.left)}..${Math.round(card.right)} px`,
      );
    }
    const style = getComputedStyle(el);
    if (style.overflowX !== 'visible' && el.scrollWidth > el.clientWidth + 1)
      problems.push(`${describe(el)} cuts off its content: ${el.scrollWidth} px in ${el.clientWidth} px`);
  }
  return problems.slice(0, 10);
}

/**
 * The colour the reader sees at a point, from a 1x1 PNG screenshot: the only way to see Chromium's
 * automatic dark mode, which repaints without changing any computed style. For a single pixel every
 * PNG filter leaves the bytes as they are, so the pixel follows the filter-type byte.
 */
async function luminanceAt(page: Page, x: number, y: number): Promise<number> {
  const png = Buffer.from(
    await page.screenshot({ type: 'png', clip: { x, y, width: 1, height: 1 }, captureBeyondViewport: false }),
  );
  let offset = 8;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    if (png.toString('latin1', offset + 4, offset + 8) === 'IDAT')
      idat.push(png.subarray(offset + 8, offset + 8 + length));
    offset += 12 + length;
  }
  const [, r, g, b] = inflateSync(Buffer.concat(idat));
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

const templates = emailTemplates();
let browser: Browser;
let page: Page;

beforeAll(async () => {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
  page = await browser.newPage();
  // Nothing in an alert email may load anything: no images, fonts or trackers.
  await page.setRequestInterception(true);
  page.on('request', (request) => void (request.url().startsWith('data:') ? request.continue() : request.abort()));
}, 30_000);

afterAll(async () => {
  await browser?.close();
});

describe.each(MODES)('emails at $name', (mode) => {
  // Chromium drops an emulation when the session that set it goes, so one session serves the whole mode.
  let session: CDPSession;
  beforeAll(async () => {
    await page.emulateMediaFeatures([
      { name: 'prefers-color-scheme', value: mode.dark === 'preferred' ? 'dark' : 'light' },
    ]);
    session = await page.createCDPSession();
  });
  afterAll(() => session.detach());

  const chosen = templates.filter((t) =>
    mode.templates === 'all'
      ? true
      : mode.templates === 'layouts'
        ? !/\.(reminder|changed)$/.test(t.name)
        : COLOUR_TEMPLATES.includes(t.name),
  );
  it.each(chosen.map((t) => [t.name, t.email.html] as const))(
    '%s fits without horizontal overflow',
    async (name, html) => {
      await page.setViewport({ width: mode.width, height: 800 });
      // Set anew for every page: a full-page screenshot resets it.
      if (mode.dark === 'forced') await session.send('Emulation.setAutoDarkModeOverride', { enabled: true });
      await page.setContent(mode.withoutStyleSheet ? html.replace(/<style>[\s\S]*?<\/style>/, '') : html, {
        waitUntil: 'load',
      });
      expect(await page.evaluate(findOverflow)).toEqual([]);
      if (mode.name === '375') {
        // The first screen holds the primary action: its button starts above the fold of a 375 × 667 phone.
        const primary = await page.evaluate(() => {
          const a = document.querySelector('a.esw-primary');
          if (!a) return undefined;
          const box = a.getBoundingClientRect();
          return { top: box.top, height: box.height, width: box.width };
        });
        if (NOTHING_TO_DO.includes(name)) expect(primary, 'no button in an email with nothing to do').toBeUndefined();
        else {
          expect(primary, 'a primary button').toBeDefined();
          expect(primary!.top, `the first button starts at ${Math.round(primary!.top)} px`).toBeLessThan(
            FIRST_SCREEN.height,
          );
          // A thumb's target: at least 44 px tall, and most of the width.
          expect(primary!.height).toBeGreaterThanOrEqual(44);
          expect(primary!.width).toBeGreaterThan(FIRST_SCREEN.width / 2);
        }
      }
      // The card's background just right of the title: white in light mode, dark in either dark mode.
      const point = await page.evaluate(() => {
        const title = document.querySelector('h1')!.getBoundingClientRect();
        const card = document.querySelector('.esw-card')!.getBoundingClientRect();
        return { x: Math.floor(card.right - 6), y: Math.floor(title.top + 2) };
      });
      const luminance = await luminanceAt(page, point.x, point.y);
      if (mode.dark) expect(luminance, 'dark mode shows a dark card').toBeLessThan(80);
      else expect(luminance, 'light mode shows a white card').toBeGreaterThan(240);
      if (mode.withoutStyleSheet) return; // checked for overflow only: the same layout without the phone padding
      const readme = UPDATING && name === README_SHOT.template && mode.name === '375';
      // JPEG: a third faster than PNG for artifacts nobody compares pixel by pixel.
      // At desktop width, the card and a margin around it: the grey sides say nothing and cost time.
      const card = await page.evaluate(() => {
        const box = document.querySelector('.esw-card')!.getBoundingClientRect();
        return {
          x: Math.max(0, box.left - 24),
          width: Math.min(document.documentElement.clientWidth, box.width + 48),
          height: document.documentElement.scrollHeight,
        };
      });
      const clip = mode.width > 600 ? { x: card.x, y: 0, width: card.width, height: card.height } : undefined;
      await page.screenshot({
        path: join(ARTIFACTS, `${name}.${mode.name}.jpeg`) as `${string}.jpeg`,
        type: 'jpeg',
        quality: 80,
        fullPage: !clip,
        clip,
        captureBeyondViewport: true,
        optimizeForSpeed: true,
      });
      if (readme) {
        await page.setViewport(FIRST_SCREEN);
        await page.screenshot({ path: README_SHOT.file as `${string}.png` });
      }
    },
  );
});
