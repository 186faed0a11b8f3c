import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import { digestRoutes, digestView } from '../../lib/digest/digest';
import type { AlertRecord } from '../../lib/model';
import { digestWords } from '../../lib/notify/digest-words';
import { dailyOccurrence } from '../../lib/silence/windows';
import { PROPERTY_BUDGET_CHARS } from '../../lib/store/table';
import { ALERT_FIXTURES, alertOf, CONTOSO, FABRIKAM, NOW } from '../fixtures/alerts';

/** The daily digest's pure parts: when it is due in a time zone, what a route's scope holds, and its bounds. */

describe('dailyOccurrence', () => {
  it('gives the local date and the instant the local clock reads the time, in summer and in winter', () => {
    expect(dailyOccurrence('08:00', 'Europe/Berlin', new Date('2026-11-27T12:00:00Z'))).toEqual({
      date: '2026-11-27',
      at: new Date('2026-11-27T07:00:00Z'),
    });
    expect(dailyOccurrence('08:00', 'Europe/Berlin', new Date('2026-07-01T12:00:00Z'))).toEqual({
      date: '2026-07-01',
      at: new Date('2026-07-01T06:00:00Z'),
    });
    // Just before local midnight in New York is already the next day in UTC: the local date counts.
    expect(dailyOccurrence('08:00', 'America/New_York', new Date('2026-11-28T04:30:00Z'))).toEqual({
      date: '2026-11-27',
      at: new Date('2026-11-27T13:00:00Z'),
    });
  });

  it('reaches a time the clock skips at the jump, and a repeated one at its first occurrence', () => {
    expect(dailyOccurrence('02:30', 'Europe/Berlin', new Date('2026-03-29T12:00:00Z')).at).toEqual(
      new Date('2026-03-29T01:00:00Z'),
    );
    expect(dailyOccurrence('02:30', 'Europe/Berlin', new Date('2026-10-25T12:00:00Z')).at).toEqual(
      new Date('2026-10-25T00:30:00Z'),
    );
  });
});

const policy = buildPolicy(
  {
    tenants: { [CONTOSO]: { name: 'Contoso' }, [FABRIKAM]: { name: 'Fabrikam' } },
    route: {
      digest: { at: '08:00', timeZone: 'UTC' },
      routes: [
        {
          match: { tenantName: 'Fabrikam' },
          to: ['it@fabrikam.com'],
          digest: { at: '07:00', timeZone: 'Europe/Berlin' },
        },
        { match: { condition: 'quarantine' }, to: ['q@contoso.com'] },
      ],
    },
  },
  { emailTo: ['ops@contoso.com'] },
);

describe('digestView', () => {
  const alerts = [ALERT_FIXTURES.quarantine!, ALERT_FIXTURES['tenant-unreadable']!];
  const [root, fabrikam] = digestRoutes(policy.route);

  it('finds every route that asks for a digest, with its path', () => {
    expect(digestRoutes(policy.route).map(({ route, path }) => [route.id, path.map((r) => r.id)])).toEqual([
      ['root', ['root']],
      ['root.0', ['root', 'root.0']],
    ]);
  });

  it("scopes a route to what its matchers and its ancestors' match, and counts its tenants", () => {
    const all = digestView(root!.route, root!.path, alerts, policy, [CONTOSO, FABRIKAM], NOW, '2026-11-27');
    expect([all.tenants, all.open.map((a) => a.condition)]).toEqual([2, ['tenant-unreadable', 'quarantine']]);
    const child = digestView(fabrikam!.route, fabrikam!.path, alerts, policy, [CONTOSO, FABRIKAM], NOW, '2026-11-27');
    expect([child.tenants, child.open.map((a) => a.condition), child.timeZone]).toEqual([
      1,
      ['tenant-unreadable'],
      'Europe/Berlin',
    ]);
  });

  it('says all tenants are healthy when nothing in scope is open, and lists what resolved in the last day only', () => {
    const yesterday = {
      ...ALERT_FIXTURES.quarantine!,
      state: 'resolved' as const,
      endsAt: new Date(NOW.getTime() - 3 * 3600_000).toISOString(),
    };
    const lastWeek = {
      ...ALERT_FIXTURES['job-failing']!,
      state: 'resolved' as const,
      endsAt: new Date(NOW.getTime() - 3 * 24 * 3600_000).toISOString(),
    };
    const view = digestView(
      root!.route,
      root!.path,
      [yesterday, lastWeek],
      policy,
      [CONTOSO, FABRIKAM],
      NOW,
      '2026-11-27',
    );
    expect(view.resolved.map((a) => a.condition)).toEqual(['quarantine']);
    expect(digestWords(view)).toMatchObject({
      tone: 'healthy',
      subject: 'All 2 tenants healthy: daily digest 2026-11-27, 1 resolved in the last day',
      headline: 'All 2 tenants healthy: nothing is firing. 1 alert resolved in the last day.',
    });
  });

  it('names at most so many alerts and counts the rest, and always fits one stored property', () => {
    const many: AlertRecord[] = Array.from({ length: 1000 }, (_, i) =>
      alertOf(
        'quarantine',
        { ...ALERT_FIXTURES.quarantine!.annotations, servicePrincipalName: `App ${i} ${'x'.repeat(400)}` },
        { jobId: `job-${i}` },
      ),
    );
    const view = digestView(root!.route, root!.path, many, policy, [CONTOSO], NOW, '2026-11-27');
    expect(view.open.length + view.more.open).toBe(1000);
    expect(view.counts.critical).toBe(1000);
    expect(JSON.stringify(view).length).toBeLessThan(PROPERTY_BUDGET_CHARS);
    expect(digestWords(view).sections[0]?.more).toBe(view.more.open);
  });
});

describe('digest config', () => {
  it('names a bad time, an unknown zone and unknown fields by their path', () => {
    const problems = (digest: unknown) => {
      try {
        buildPolicy({ route: { digest } }, { emailTo: ['ops@contoso.com'] });
        return [];
      } catch (error) {
        return (error as { problems: string[] }).problems;
      }
    };
    expect(problems({ at: '8:00', timeZone: 'Europe/Berln', every: 'day' })).toEqual([
      'route.digest.every: unknown field (expected one of at, timeZone)',
      'route.digest.at: "8:00" is not a time of day; expected HH:MM from 00:00 to 23:59',
      'route.digest.timeZone: "Europe/Berln" is not an IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)',
    ]);
    expect(
      buildPolicy({ route: { digest: { at: '08:00', timeZone: 'europe/berlin' } } }, { emailTo: ['ops@contoso.com'] })
        .route.digest,
    ).toEqual({ at: '08:00', timeZone: 'Europe/Berlin' });
  });
});
