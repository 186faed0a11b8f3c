import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertRecord } from '../../lib/model';
import { ALERT_FIXTURES } from '../fixtures/alerts';
import { launchChromium } from '../support/chromium';
import { actionsWorld, BYSTANDER, formFields, OPERATOR } from '../support/actions-world';

/**
 * The decide endpoint's pages (decision, confirmation, refusal, result) in headless Chromium at
 * 375 px (a phone) and 1200 px: nothing may run off the screen sideways, with long names from
 * Graph. The pages come from the real handler (test/support/actions-world.ts). Screenshots go to
 * test-artifacts/decide-pages/; with UPDATE_SCREENSHOT=1 also to docs/, where the README shows them.
 */

const ROOT = join(__dirname, '..', '..');
// Beside, not inside, test-artifacts/screenshots: the email layout test empties that at its start.
const ARTIFACTS = join(ROOT, 'test-artifacts', 'decide-pages');
const WIDTHS = [375, 1200];

// Runs inside Chromium; the project compiles without the DOM library.
interface Box {
  left: number;
  right: number;
}
interface PageElement {
  tagName: string;
  textContent: string | null;
  getBoundingClientRect(): Box;
}
declare const document: {
  documentElement: { scrollWidth: number; clientWidth: number };
  body: { querySelectorAll(selector: string): ArrayLike<PageElement> };
};

function findOverflow(): string[] {
  const viewport = document.documentElement.clientWidth;
  const problems: string[] = [];
  if (document.documentElement.scrollWidth > viewport)
    problems.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} px in ${viewport} px`);
  for (const el of Array.from(document.body.querySelectorAll('*'))) {
    const box = el.getBoundingClientRect();
    if (box.right > viewport + 0.5 || box.left < -0.5)
      problems.push(
        `<${el.tagName.toLowerCase()}> "${(el.textContent ?? '').trim().slice(0, 40)}" runs off the screen`,
      );
  }
  return problems;
}

const LONG_NAME = 'Fabrikam Worldwide Holdings to Contoso Pharmaceuticals EMEA (production, migration wave 3)';

/** The four pages, as a person meets them after a deletion trip and after a quarantine. */
async function pages(): Promise<Record<string, string>> {
  const base = ALERT_FIXTURES['deletion-threshold'] as AlertRecord;
  const alert = { ...base, annotations: { ...base.annotations, servicePrincipalName: LONG_NAME } };
  const world = actionsWorld(alert);
  const link = world.linkFor(alert);
  const operator = world.cookieFor(OPERATOR);
  const decision = await world.get(link, operator);
  const confirmation = await world.post(formFields(decision.body, 'Approve the held deletes'), operator);
  const refusal = await world.get(link, world.cookieFor(BYSTANDER));

  const quarantine = ALERT_FIXTURES.quarantine as AlertRecord;
  const second = actionsWorld(quarantine);
  const cookie = second.cookieFor(OPERATOR);
  const page = await second.get(second.linkFor(quarantine), cookie);
  const confirm = await second.post(
    { ...formFields(page.body, 'Verify one user'), other: 'c1c1c1c1-0000-4000-8000-00000000abcd' },
    cookie,
  );
  const result = await second.post(formFields(confirm.body), cookie);
  for (const [name, response] of Object.entries({ decision, confirmation, refusal, result }))
    expect(response.status, `${name}: ${response.body}`).toBe(name === 'refusal' ? 403 : 200);
  return { decision: decision.body, confirmation: confirmation.body, refusal: refusal.body, result: result.body };
}

let browser: Browser;
let html: Record<string, string>;

beforeAll(async () => {
  html = await pages();
  browser = await launchChromium();
  mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe('the decide pages on a phone and a desktop', () => {
  for (const name of ['decision', 'confirmation', 'refusal', 'result'])
    for (const width of WIDTHS)
      it(`the ${name} page at ${width} px stays within the screen`, async () => {
        const page = await browser.newPage();
        await page.setViewport({ width, height: width === 375 ? 667 : 900 });
        await page.setContent(html[name] as string, { waitUntil: 'load' });
        expect(await page.evaluate(findOverflow)).toEqual([]);
        const file = `decide-${name}-${width}.png`;
        await page.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
        if (process.env.UPDATE_SCREENSHOT) await page.screenshot({ path: join(ROOT, 'docs', file), fullPage: true });
        await page.close();
      });
});
