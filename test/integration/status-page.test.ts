import { HttpRequest, InvocationContext } from '@azure/functions';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status, wantsHtml } from '../../functions/status';
import { loadPolicy } from '../../lib/config/config';
import { loadSettings } from '../../lib/settings/settings';
import { runCycle } from '../../lib/cycle/cycle';
import { adminConsentUrl } from '../../lib/clients/consent';
import { readStatus, type StatusView } from '../../lib/status/status';
import { renderStatusPage } from '../../lib/status/page';
import { renderStatusText } from '../../lib/status/text';
import { launchChromium } from '../support/chromium';
import { demoScenario, ownStorage, startWorld, type World } from '../support/world';
import { forgetKeptCredentials } from '../../lib/clients/credentials';
import { CONTOSO, NORTHWIND } from '../support/demo';

/**
 * The status page an operator opens, rendered by headless Chromium from the state real cycles
 * left: open alerts by tenant with their age, route and silence, the tenant that cannot be read
 * with its consent link, silences with their ends, and the last cycles. A configuration named by a
 * hostile source tenant stays text. `UPDATE_SCREENSHOT=1` rewrites docs/status-page.png.
 */
const job = (n: string) => `Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e0${n}`;
const HOSTILE = '<img src=x onerror="window.__pwned=1">Tailspin & "Co"\u001b[2J';
const SCREENSHOT = join(__dirname, '..', '..', 'docs', 'status-page.png');

/** What the test reads from the rendered page, in the page (a string: this project compiles without DOM types). */
const READ_PAGE = `(() => {
  const clean = (t) => (t || '').replace(/\\s+/g, ' ').trim();
  const rows = (selector) => [...document.querySelectorAll(selector + ' tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => clean(td.innerText)));
  return {
    title: document.title,
    sections: [...document.querySelectorAll('h2')].map((h) => clean(h.textContent)),
    tenants: [...document.querySelectorAll('h3')].filter((h) => h.nextElementSibling?.matches('table.alerts')).map((h) => clean(h.textContent)),
    alerts: rows('table.alerts'),
    coverageTenants: [...document.querySelectorAll('h3')].filter((h) => h.nextElementSibling?.matches('table.coverage')).map((h) => clean(h.textContent)),
    coverage: [...document.querySelectorAll('table.coverage')].map((t) => [...t.querySelectorAll('tbody tr')].map((tr) => [...tr.querySelectorAll('td')].map((td) => clean(td.innerText)))),
    logsRead: [...document.querySelectorAll('p.logs-read')].map((p) => clean(p.textContent)),
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    coverageWidth: Math.max(...[...document.querySelectorAll('table.coverage')].map((t) => t.getBoundingClientRect().right)),
    unreadable: rows('table.unreadable'),
    consent: document.querySelector('table.unreadable a')?.getAttribute('href'),
    mutes: rows('table.mutes'),
    cycles: rows('table.cycles'),
    banner: document.querySelector('.banner')?.textContent,
    injected: document.querySelectorAll('img, script, iframe').length,
    pwned: window.__pwned,
  };
})()`;

interface PageReading {
  title: string;
  sections: string[];
  tenants: string[];
  alerts: string[][];
  coverageTenants: string[];
  coverage: string[][][];
  logsRead: string[];
  overflow: number;
  coverageWidth: number;
  unreadable: string[][];
  consent?: string;
  mutes: string[][];
  cycles: string[][];
  banner?: string;
  injected: number;
  pwned?: number;
}

let world: World;
let view: StatusView;
let html: string;
let browser: Browser;

function config(): string {
  const hour = 3600_000;
  const path = join(mkdtempSync(join(tmpdir(), 'esw-status-')), 'watch-config.json');
  writeFileSync(
    path,
    JSON.stringify({
      tenants: { [CONTOSO]: { name: 'Contoso' }, [NORTHWIND]: { name: 'Northwind' } },
      route: {
        to: ['identity-ops@contoso.com'],
        routes: [
          {
            match: { condition: 'deletion-threshold' },
            to: ['change-board@contoso.com'],
            cc: ['identity-ops@contoso.com'],
          },
        ],
      },
      silences: [
        {
          matchers: { app: 'Woodgrove*' },
          startsAt: new Date(Date.now() - hour).toISOString(),
          endsAt: new Date(Date.now() + 2 * hour).toISOString(),
          createdBy: 'alice@contoso.com',
          comment: 'CHG-20931 Woodgrove directory migration',
        },
        {
          matchers: { tenantName: 'Northwind' },
          startsAt: new Date(Date.now() + 24 * hour).toISOString(),
          endsAt: new Date(Date.now() + 30 * hour).toISOString(),
          createdBy: 'bob@contoso.com',
          comment: 'Northwind tenant move',
        },
      ],
      maintenanceWindows: [
        {
          name: 'Weekend patching',
          matchers: { tenantName: 'Contoso' },
          timeZone: 'Europe/Berlin',
          weekly: [{ days: ['sat'], start: '22:00', end: '06:00' }],
          createdBy: 'carol@contoso.com',
          comment: 'Patch night',
        },
      ],
    }),
  );
  return path;
}

beforeAll(async () => {
  const scenario = demoScenario();
  const contoso = scenario.tenants.find((t) => t.id === CONTOSO);
  const tailspin = contoso?.servicePrincipals.find((sp) => sp.displayName === 'Tailspin to Contoso');
  if (!tailspin) throw new Error('the demo scenario changed: no Tailspin to Contoso');
  tailspin.displayName = HOSTILE;
  world = await startWorld(scenario, { WATCH_CONFIG: config(), AzureWebJobsStorage: ownStorage('statuspage') });
  // Coverage worth looking at: Contoso's secrets are refused (its early warnings degraded), and its
  // logs are read by time only (Graph refuses the status filter).
  world.cloud.control.setSecretsPolicy(CONTOSO, '403');
  world.cloud.control.setProvisioningLogModes(CONTOSO, { statusFilter: 'refused' });

  const healthy = await runCycle(world.deps());
  expect(healthy.errors).toEqual([]);
  world.cloud.control.setJob(CONTOSO, job('1'), { state: 'quarantined', quarantine: { reason: 'TooManyDeletes' } });
  world.cloud.control.setJob(CONTOSO, job('2'), {
    state: 'quarantined',
    quarantine: { reason: 'EncounteredQuarantineException' },
  });
  world.cloud.control.setJob(CONTOSO, job('3'), {
    state: 'quarantined',
    quarantine: { reason: 'EncounteredEscrowProportionThreshold' },
  });
  world.cloud.control.setConsented(NORTHWIND, false);
  // As on a new instance: a kept token would be refused by Graph this cycle and renewed at the next (token-reuse.test.ts).
  forgetKeptCredentials();
  const broken = await runCycle(world.deps());
  expect(broken.tenantsUnreadable).toEqual([NORTHWIND]);

  const settings = loadSettings(world.env);
  const deps = world.deps();
  view = await readStatus(deps, {
    policy: loadPolicy(settings.configPath, { emailTo: settings.emailTo }),
    // Seven minutes after the cycles, as someone opens the page between two cycles.
    now: new Date(Date.now() + 7 * 60_000),
    consentUrl: (tenant) => adminConsentUrl(settings, world.cloud.clientId, tenant),
  });
  html = renderStatusPage(view);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await world?.stop();
});

describe('the status view', () => {
  it('holds the open alerts with their age and route, the unreadable tenant with its consent link, and the last cycles', () => {
    const byConfiguration = Object.fromEntries(view.firing.map((a) => [a.configuration ?? a.condition, a]));
    expect(byConfiguration['Fabrikam to Contoso']).toMatchObject({
      tenantName: 'Contoso',
      routes: [{ to: ['change-board@contoso.com'], cc: ['identity-ops@contoso.com'] }],
    });
    expect(byConfiguration['Fabrikam to Contoso']?.ageMs).toBeGreaterThanOrEqual(0);
    expect(byConfiguration['Woodgrove to Contoso']?.mutedBy).toMatchObject({
      kind: 'silence',
      description: expect.stringContaining('alice@contoso.com'),
    });
    expect(view.unreadable).toEqual([
      expect.objectContaining({
        tenantId: NORTHWIND,
        tenantName: 'Northwind',
        consentUrl: expect.stringContaining(`${world.cloud.authorityHost}/${NORTHWIND}/v2.0/adminconsent?`),
      }),
    ]);
    expect(view.mutes.map((m) => [m.kind, m.active])).toEqual([
      ['silence', true],
      ['silence', false],
      ['maintenance', expect.any(Boolean)],
    ]);
    expect(view.recentCycles).toHaveLength(2);
    expect(view.recentCycles[0]?.tenantsUnreadable).toEqual([NORTHWIND]); // newest first
    expect(view.coverage.counts).toEqual({
      tenants: 2,
      partial: 2,
      degraded: {
        'early-warnings': 2,
        discovery: 1,
        'provisioning-logs': 1,
        'job-status:cross-tenant': 1,
      },
      off: {},
    });
    const contoso = view.coverage.tenants.find((t) => t.subject === CONTOSO);
    expect(contoso).toMatchObject({ tenantName: 'Contoso', provisioningLogs: { filter: 'time-only' } });
    expect(contoso?.consentUrl).toContain(`/${CONTOSO}/v2.0/adminconsent?`);
  });
});

describe('the status page in a browser', () => {
  it('shows every section, alerts grouped by tenant, and keeps hostile names as text', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    await page.setContent(html, { waitUntil: 'load' });
    const seen = (await page.evaluate(READ_PAGE)) as PageReading;
    expect(seen.title).toBe('Entra Sync Watch: status');
    expect(seen.sections).toEqual([
      'Open alerts 4',
      'Tenants that cannot be read 1',
      'Coverage 2 of 2 partially watched',
      'Silences and maintenance windows',
      'Last cycles',
    ]);
    expect(seen.coverageTenants).toEqual([
      expect.stringMatching(/^(Contoso|Northwind) /),
      expect.stringMatching(/^(Contoso|Northwind) /),
    ]);
    const contoso = seen.coverage[seen.coverageTenants.findIndex((t) => t.startsWith('Contoso'))] ?? [];
    expect(contoso.find((r) => r[0] === 'early warnings (synchronization secrets)')).toEqual([
      'early warnings (synchronization secrets)',
      'degraded',
      expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/),
      expect.stringMatching(
        /^Graph refused the synchronization secrets of .* Fix: grant Application\.ReadWrite\.All or Directory\.ReadWrite\.All .*WATCH_SECRETS_READ=off/,
      ),
    ]);
    expect(contoso.find((r) => r[0] === 'provisioning logs')?.[1]).toBe('active');
    expect(
      seen.logsRead.some((l) =>
        l.startsWith('Provisioning logs: read by time only, failures kept here (Graph refused the status filter'),
      ),
    ).toBe(true);
    const northwind = seen.coverage[seen.coverageTenants.findIndex((t) => t.startsWith('Northwind'))] ?? [];
    expect(northwind.every((r) => r[1] === 'degraded' && r[3]?.includes('its own alert: tenant-unreadable'))).toBe(
      true,
    );
    expect(seen.overflow).toBeLessThanOrEqual(0);
    expect(seen.tenants).toEqual([`Contoso ${CONTOSO} 3 open`, `Northwind ${NORTHWIND} 1 open`]);
    const fabrikam = seen.alerts.find((r) => r[1]?.startsWith('Fabrikam to Contoso'));
    expect(fabrikam?.[2]).toMatch(/^7 min since \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(fabrikam?.[3]).toBe('change-board@contoso.com cc identity-ops@contoso.com');
    expect(fabrikam?.[4]).toBe('firing');
    expect(seen.alerts.find((r) => r[1]?.startsWith('Woodgrove'))?.[4]).toMatch(
      /^silenced until .* UTC silence by alice@contoso\.com/,
    );
    expect(seen.alerts.some((r) => r[1]?.startsWith('<img src=x onerror="window.__pwned=1">Tailspin & "Co"'))).toBe(
      true,
    );
    expect(seen.injected).toBe(0);
    expect(seen.pwned).toBeUndefined();
    expect(seen.unreadable[0]?.[0]).toBe(`Northwind ${NORTHWIND}`);
    expect(seen.consent).toMatch(
      new RegExp(`^${world.cloud.authorityHost}/${NORTHWIND}/v2\\.0/adminconsent\\?client_id=`),
    );
    expect(seen.mutes.map((r) => r[3]?.split(' ')[0])).toEqual([
      'alice@contoso.com',
      'bob@contoso.com',
      'carol@contoso.com',
    ]);
    expect(seen.mutes[0]?.[2]).toMatch(/^on until \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(seen.mutes[1]?.[2]).toMatch(/^from .* until /);
    expect(seen.cycles).toHaveLength(2);
    expect(seen.cycles.every((r) => /^\d+ ms$/.test(r[1] ?? ''))).toBe(true);
    expect(seen.cycles[0]?.[7]).toMatch(/tenant 8d1b6e42-.*: cannot monitor: AADSTS700016/);
    expect(seen.cycles[1]?.[7]).toBe('none');
    expect(seen.banner).toMatch(/could not do its whole job \(1 problem\(s\)\)/);

    const path = process.env.UPDATE_SCREENSHOT
      ? SCREENSHOT
      : join(mkdtempSync(join(tmpdir(), 'esw-shot-')), 'status-page.png');
    await page.screenshot({ path, fullPage: true });
    const png = readFileSync(path);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    await page.close();
  }, 30_000);

  it('fits a phone: coverage shows, and nothing is wider than the screen', async () => {
    const page = await browser.newPage();
    await page.setViewport({ width: 390, height: 844, isMobile: true, deviceScaleFactor: 2 });
    await page.setContent(html, { waitUntil: 'load' });
    const seen = (await page.evaluate(READ_PAGE)) as PageReading;
    expect(seen.sections).toContain('Coverage 2 of 2 partially watched');
    expect(seen.coverage.flat().length).toBeGreaterThan(5);
    expect(seen.overflow).toBeLessThanOrEqual(0);
    expect(seen.coverageWidth).toBeLessThanOrEqual(390);
    await page.close();
  }, 30_000);
});

describe('npm run status', () => {
  it('prints the same sections as terminal tables, with no control character from Graph', () => {
    const text = renderStatusText(view);
    for (const heading of [
      'Open alerts (4)',
      'Tenants that cannot be read (1)',
      'Coverage (2 of 2 tenant(s) partially watched at the last cycle)',
      'Silences and maintenance windows',
      'Last cycles',
    ])
      expect(text).toContain(`\n${heading}\n`);
    expect(text).toContain(`Contoso (${CONTOSO}): 3 open`);
    expect(text).toMatch(/Fabrikam to Contoso\s+7 min\s+change-board@contoso\.com\s+firing/);
    expect(text).toContain('<img src=x onerror="window.__pwned=1">Tailspin');
    expect(text).not.toContain('\u001b');
    expect(text).toContain(`${NORTHWIND}: ${world.cloud.authorityHost}/${NORTHWIND}/v2.0/adminconsent?`);
    expect(text).toMatch(/silence\s+app=Woodgrove\*\s+on until .* UTC\s+alice@contoso\.com: CHG-20931/);
    expect(text).toContain(`Contoso (${CONTOSO}): 1 check(s) degraded`);
    expect(text).toMatch(/provisioning logs: read by time only, failures kept here \(Graph refused the status filter/);
    expect(text).toMatch(
      /early warnings \(synchronization secrets\)\s+degraded\s+\d{4}-.* UTC\s+Graph refused .*fix: grant Application\.ReadWrite\.All/,
    );
  });
});

describe('GET /api/status', () => {
  it('answers JSON by default and to scripts, HTML to a browser or ?format=html, with a policy that forbids scripts', async () => {
    const request = (url: string, accept?: string) =>
      new HttpRequest({ method: 'GET', url, headers: accept ? { accept } : {} });
    expect(wantsHtml(request('https://x/api/status'))).toBe(false);
    expect(wantsHtml(request('https://x/api/status', 'application/json'))).toBe(false);
    expect(
      wantsHtml(request('https://x/api/status', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')),
    ).toBe(true);
    expect(wantsHtml(request('https://x/api/status?format=html'))).toBe(true);
    expect(wantsHtml(request('https://x/api/status?format=json', 'text/html'))).toBe(false);

    const saved = { ...process.env };
    try {
      Object.assign(process.env, world.env);
      const context = new InvocationContext({ functionName: 'status', logHandler: () => undefined });
      const page = await status(request('https://x/api/status?format=html'), context);
      expect(page.status).toBe(200);
      expect(page.headers).toMatchObject({
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': expect.stringContaining("default-src 'none'"),
      });
      expect(String(page.body)).toContain('<h2>Last cycles</h2>');
      const json = await status(request('https://x/api/status'), context);
      expect(json.jsonBody).toMatchObject({
        firing: expect.any(Array),
        recentCycles: expect.any(Array),
        unreadable: expect.any(Array),
        coverage: { tenants: expect.any(Array), total: expect.any(Number) },
      });
    } finally {
      process.env = saved;
    }
  });
});

describe('the last cycles the state keeps', () => {
  it('keeps the newest twelve in one row, each with at most three problems and the count of the rest', async () => {
    const { TableClient } = await import('@azure/data-tables');
    const { inject } = await import('vitest');
    const { CycleHistory, RECENT_CYCLES_KEPT } = await import('../../lib/store/cycle-history');
    const store = new CycleHistory(
      TableClient.fromConnectionString(inject('storageConnectionString'), `recent${Date.now()}`, {
        allowInsecureConnection: true,
      }),
    );
    for (let i = 0; i < 15; i++) {
      await store.record({
        startedAt: new Date(Date.UTC(2026, 10, 27, 10, i)).toISOString(),
        durationMs: i,
        tenantsChecked: 30,
        tenantsUnreadable: Array.from({ length: 25 }, (_, t) => `tenant-${t}`),
        jobsSeen: 0,
        alertsFiring: 0,
        notificationsSent: 0,
        notificationsPending: 0,
        errors: Array.from({ length: 5 }, (_, n) => `problem ${n} ${'x'.repeat(1000)}`),
        heartbeat: 'skipped',
      });
    }
    const recent = await store.recent();
    expect(RECENT_CYCLES_KEPT).toBe(12);
    expect(recent.map((c) => c.durationMs)).toEqual([14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect(recent[0]?.errors).toHaveLength(3);
    expect(recent[0]?.errors[0]).toHaveLength(300);
    expect(recent[0]?.omitted).toEqual({ errors: 2, tenantsUnreadable: 5 });
    expect((await store.latest())?.errors).toHaveLength(5); // the latest summary stays whole
  });
});
