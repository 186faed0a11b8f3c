import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Silence } from '../../lib/model/policy';
import type { MaintenanceWindowConfig, Weekday, WeeklyWindow } from '../../lib/model/config-file';
import type { MatchLabels } from '../../lib/model/matchers';
import { silencedBy } from '../../lib/silence/silence';
import { isInWeeklyWindow, maintenanceEndsAt } from '../../lib/silence/windows';

const labels: MatchLabels = {
  tenant: '3f6a1c52-8d4e-4b7a-9c21-5e0d7f4a2b19',
  tenantName: 'Fabrikam',
  servicePrincipal: 'sp-1',
  app: 'Fabrikam to Contoso',
  jobTemplate: 'Azure2Azure',
  job: 'j1',
  condition: 'quarantine',
  severity: 'critical',
};

const silence: Silence = {
  matchers: { app: 'Fabrikam*' },
  startsAt: new Date('2026-11-27T18:00:00Z'),
  endsAt: new Date('2026-11-28T06:00:00Z'),
  createdBy: 'alice@contoso.com',
  comment: 'Planned migration',
};

const weekendPatching: MaintenanceWindowConfig = {
  name: 'Weekend patching',
  matchers: { tenantName: ['Northwind', 'Fabrikam'] },
  timeZone: 'Europe/Berlin',
  weekly: [{ days: ['sat'], start: '22:00', end: '06:00' }],
  createdBy: 'bob@contoso.com',
  comment: 'Sync servers are patched',
};

const at = (iso: string): Date => new Date(iso);
const window = (days: Weekday[], start: string, end: string): WeeklyWindow => ({ days, start, end });
/** The instants (as ISO) among `instants` at which the window is on. */
const onAt = (w: WeeklyWindow, timeZone: string, instants: string[]): string[] =>
  instants.filter((i) => isInWeeklyWindow(w, timeZone, at(i)));

describe('silencedBy: silences', () => {
  const policy = { silences: [silence], maintenanceWindows: [] };

  it('mutes from startsAt up to but not including endsAt', () => {
    expect(silencedBy(labels, policy, at('2026-11-27T17:59:59.999Z'))).toBeUndefined();
    expect(silencedBy(labels, policy, at('2026-11-27T18:00:00Z'))?.kind).toBe('silence');
    expect(silencedBy(labels, policy, at('2026-11-28T05:59:59.999Z'))?.kind).toBe('silence');
    expect(silencedBy(labels, policy, at('2026-11-28T06:00:00Z'))).toBeUndefined();
  });

  it('says who silenced it, until when and why', () => {
    expect(silencedBy(labels, policy, at('2026-11-28T00:00:00Z'))).toEqual({
      kind: 'silence',
      description: 'silence by alice@contoso.com until 2026-11-28 06:00 UTC: "Planned migration"',
      until: silence.endsAt,
    });
  });

  it('matches globs case-insensitively, lists as any, and needs every matcher', () => {
    const now = at('2026-11-28T00:00:00Z');
    const withMatchers = (matchers: Silence['matchers']) => ({
      silences: [{ ...silence, matchers }],
      maintenanceWindows: [],
    });
    expect(silencedBy(labels, withMatchers({ app: 'fabrikam*' }), now)).toBeDefined();
    expect(
      silencedBy({ ...labels, app: 'Contoso to Fabrikam' }, withMatchers({ app: 'Fabrikam*' }), now),
    ).toBeUndefined();
    expect(silencedBy(labels, withMatchers({ condition: ['deletion-threshold', 'quarantine'] }), now)).toBeDefined();
    expect(
      silencedBy(labels, withMatchers({ condition: ['deletion-threshold', 'tenant-unreadable'] }), now),
    ).toBeUndefined();
    expect(silencedBy(labels, withMatchers({ app: 'Fabrikam*', severity: 'warning' }), now)).toBeUndefined();
    expect(silencedBy({ ...labels, app: undefined }, withMatchers({ app: '*' }), now)).toBeUndefined();
  });

  it('gives the first matching active silence', () => {
    const expired = { ...silence, endsAt: at('2026-11-27T20:00:00Z'), comment: 'expired' };
    const other = { ...silence, matchers: { tenantName: 'Northwind' }, comment: 'other tenant' };
    const second = { ...silence, comment: 'second' };
    const reason = silencedBy(
      labels,
      { silences: [expired, other, second], maintenanceWindows: [] },
      at('2026-11-28T00:00:00Z'),
    );
    expect(reason?.description).toContain('"second"');
  });
});

describe('silencedBy: maintenance windows', () => {
  it('mutes during a matching window and says which, in which zone, until when', () => {
    // Saturday 2026-11-28 23:00 in Berlin (CET, UTC+1).
    expect(
      silencedBy(labels, { silences: [], maintenanceWindows: [weekendPatching] }, at('2026-11-28T22:00:00Z')),
    ).toEqual({
      kind: 'maintenance',
      description: 'maintenance window "Weekend patching" (Europe/Berlin)',
      until: at('2026-11-29T05:00:00Z'),
    });
  });

  it('does not mute outside the window or for other alerts', () => {
    const policy = { silences: [], maintenanceWindows: [weekendPatching] };
    expect(silencedBy(labels, policy, at('2026-11-28T20:59:00Z'))).toBeUndefined();
    expect(silencedBy({ ...labels, tenantName: 'Contoso' }, policy, at('2026-11-28T22:00:00Z'))).toBeUndefined();
  });

  it('prefers a silence, which names a person and an end', () => {
    const reason = silencedBy(
      labels,
      { silences: [{ ...silence, endsAt: at('2026-11-30T00:00:00Z') }], maintenanceWindows: [weekendPatching] },
      at('2026-11-28T22:00:00Z'),
    );
    expect(reason?.kind).toBe('silence');
  });

  it('reports the end of adjoining windows as one stretch', () => {
    const wholeWeekend = [window(['sat'], '00:00', '24:00'), window(['sun'], '00:00', '00:00')];
    expect(maintenanceEndsAt(wholeWeekend, 'Europe/Berlin', at('2026-11-28T12:00:00Z'))).toEqual(
      at('2026-11-29T23:00:00Z'),
    );
    expect(maintenanceEndsAt(wholeWeekend, 'Europe/Berlin', at('2026-11-27T12:00:00Z'))).toBeUndefined();
    const always = [window(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], '00:00', '00:00')];
    const end = maintenanceEndsAt(always, 'UTC', at('2026-11-28T12:00:00Z'));
    expect(end && end.getTime() - at('2026-11-28T12:00:00Z').getTime()).toBeGreaterThanOrEqual(7 * 86_400_000);
  });
});

describe('isInWeeklyWindow', () => {
  it('runs from start up to but not including end, on the given days', () => {
    const w = window(['mon', 'wed'], '09:00', '17:00');
    // 2026-11-30 is a Monday; UTC keeps the arithmetic plain.
    expect(
      onAt(w, 'UTC', [
        '2026-11-30T08:59:59Z',
        '2026-11-30T09:00:00Z',
        '2026-11-30T16:59:59Z',
        '2026-11-30T17:00:00Z',
        '2026-12-01T10:00:00Z',
        '2026-12-02T10:00:00Z',
      ]),
    ).toEqual(['2026-11-30T09:00:00Z', '2026-11-30T16:59:59Z', '2026-12-02T10:00:00Z']);
  });

  it('runs past midnight into the next day when end is at or before start', () => {
    const w = window(['sat'], '22:00', '06:00');
    // Berlin is UTC+1 in November: Sat 2026-11-28 22:00 local = 21:00Z, Sun 06:00 local = 05:00Z.
    expect(
      onAt(w, 'Europe/Berlin', [
        '2026-11-28T20:59:00Z',
        '2026-11-28T21:00:00Z',
        '2026-11-29T04:59:00Z',
        '2026-11-29T05:00:00Z',
        '2026-11-29T21:30:00Z',
      ]),
    ).toEqual(['2026-11-28T21:00:00Z', '2026-11-29T04:59:00Z']);
  });

  it('wraps from Sunday into Monday, and a Monday window does not reach back into Sunday', () => {
    // Sunday 2026-11-29 23:00Z, Monday 2026-11-30 01:00Z.
    expect(
      onAt(window(['sun'], '22:00', '02:00'), 'UTC', [
        '2026-11-29T23:00:00Z',
        '2026-11-30T01:00:00Z',
        '2026-11-30T02:00:00Z',
      ]),
    ).toEqual(['2026-11-29T23:00:00Z', '2026-11-30T01:00:00Z']);
    expect(
      onAt(window(['mon'], '22:00', '02:00'), 'UTC', [
        '2026-11-29T23:00:00Z',
        '2026-11-30T01:00:00Z',
        '2026-11-30T23:00:00Z',
        '2026-12-01T01:00:00Z',
      ]),
    ).toEqual(['2026-11-30T23:00:00Z', '2026-12-01T01:00:00Z']);
  });

  it('treats 24:00 as the end of the day and start = end as a whole day', () => {
    expect(onAt(window(['sat'], '18:00', '24:00'), 'UTC', ['2026-11-28T23:59:59Z', '2026-11-29T00:00:00Z'])).toEqual([
      '2026-11-28T23:59:59Z',
    ]);
    expect(
      onAt(window(['sat'], '12:00', '12:00'), 'UTC', [
        '2026-11-28T11:59:00Z',
        '2026-11-28T12:00:00Z',
        '2026-11-29T11:59:00Z',
        '2026-11-29T12:00:00Z',
      ]),
    ).toEqual(['2026-11-28T12:00:00Z', '2026-11-29T11:59:00Z']);
  });

  describe('Europe/Berlin, spring forward on Sunday 2026-03-29 (02:00 CET → 03:00 CEST at 01:00Z)', () => {
    const instants = [
      '2026-03-29T00:30:00Z',
      '2026-03-29T00:59:59Z',
      '2026-03-29T01:00:00Z',
      '2026-03-29T01:30:00Z',
      '2026-03-29T01:59:59Z',
      '2026-03-29T02:00:00Z',
    ];

    it('a 02:00–04:00 window runs 03:00–04:00 local, the hour that exists', () => {
      expect(onAt(window(['sun'], '02:00', '04:00'), 'Europe/Berlin', instants)).toEqual([
        '2026-03-29T01:00:00Z',
        '2026-03-29T01:30:00Z',
        '2026-03-29T01:59:59Z',
      ]);
    });

    it('a window wholly inside the skipped hour does not occur that day, but does the next week', () => {
      const w = window(['sun'], '02:00', '02:30');
      expect(onAt(w, 'Europe/Berlin', instants)).toEqual([]);
      expect(isInWeeklyWindow(w, 'Europe/Berlin', at('2026-04-05T00:15:00Z'))).toBe(true);
    });

    it('a window ending inside the skipped hour ends at the jump', () => {
      expect(onAt(window(['sun'], '01:00', '02:30'), 'Europe/Berlin', instants)).toEqual([
        '2026-03-29T00:30:00Z',
        '2026-03-29T00:59:59Z',
      ]);
    });

    it('an overnight window is an hour shorter in real time', () => {
      const w = window(['sat'], '22:00', '06:00');
      expect(maintenanceEndsAt([w], 'Europe/Berlin', at('2026-03-28T21:00:00Z'))).toEqual(at('2026-03-29T04:00:00Z'));
      expect(
        onAt(w, 'Europe/Berlin', [
          '2026-03-28T20:59:00Z',
          '2026-03-28T21:00:00Z',
          '2026-03-29T03:59:00Z',
          '2026-03-29T04:00:00Z',
        ]),
      ).toEqual(['2026-03-28T21:00:00Z', '2026-03-29T03:59:00Z']);
    });
  });

  describe('Europe/Berlin, fall back on Sunday 2026-10-25 (03:00 CEST → 02:00 CET at 01:00Z)', () => {
    const instants = [
      '2026-10-24T23:59:59Z',
      '2026-10-25T00:00:00Z',
      '2026-10-25T00:30:00Z',
      '2026-10-25T01:00:00Z',
      '2026-10-25T01:30:00Z',
      '2026-10-25T02:30:00Z',
      '2026-10-25T02:59:59Z',
      '2026-10-25T03:00:00Z',
    ];

    it('a 02:00–04:00 window holds both 02:30s: 02:00 CEST to 04:00 CET, three real hours', () => {
      expect(onAt(window(['sun'], '02:00', '04:00'), 'Europe/Berlin', instants)).toEqual(instants.slice(1, -1));
      expect(
        maintenanceEndsAt([window(['sun'], '02:00', '04:00')], 'Europe/Berlin', at('2026-10-25T00:00:00Z')),
      ).toEqual(at('2026-10-25T03:00:00Z'));
    });

    it('a window ending inside the repeated hour ends at its first occurrence and does not reopen', () => {
      // 00:00–02:30: ends at 02:30 CEST (00:30Z); 02:00–02:29 CET (01:00Z–01:29Z) stays outside.
      expect(
        onAt(window(['sun'], '00:00', '02:30'), 'Europe/Berlin', [
          '2026-10-24T22:00:00Z',
          '2026-10-25T00:29:59Z',
          '2026-10-25T00:30:00Z',
          '2026-10-25T01:00:00Z',
          '2026-10-25T01:29:00Z',
        ]),
      ).toEqual(['2026-10-24T22:00:00Z', '2026-10-25T00:29:59Z']);
    });

    it('a window starting inside the repeated hour starts at its first occurrence and has no hole', () => {
      // 02:30–05:00: from 02:30 CEST (00:30Z) on, including 02:00–02:29 CET (01:00Z–01:29Z).
      expect(
        onAt(window(['sun'], '02:30', '05:00'), 'Europe/Berlin', [
          '2026-10-25T00:29:00Z',
          '2026-10-25T00:30:00Z',
          '2026-10-25T01:00:00Z',
          '2026-10-25T01:29:00Z',
          '2026-10-25T03:59:00Z',
          '2026-10-25T04:00:00Z',
        ]),
      ).toEqual(['2026-10-25T00:30:00Z', '2026-10-25T01:00:00Z', '2026-10-25T01:29:00Z', '2026-10-25T03:59:00Z']);
    });

    it('an overnight window is an hour longer in real time', () => {
      // Sat 22:00 CEST = 20:00Z to Sun 06:00 CET = 05:00Z.
      expect(
        maintenanceEndsAt([window(['sat'], '22:00', '06:00')], 'Europe/Berlin', at('2026-10-24T20:00:00Z')),
      ).toEqual(at('2026-10-25T05:00:00Z'));
      expect(isInWeeklyWindow(window(['sat'], '22:00', '06:00'), 'Europe/Berlin', at('2026-10-24T19:59:59Z'))).toBe(
        false,
      );
    });
  });

  describe('America/New_York', () => {
    it('spring forward on 2026-03-08 (02:00 EST → 03:00 EDT at 07:00Z): 02:00–04:00 runs 03:00–04:00 EDT', () => {
      expect(
        onAt(window(['sun'], '02:00', '04:00'), 'America/New_York', [
          '2026-03-08T06:59:59Z',
          '2026-03-08T07:00:00Z',
          '2026-03-08T07:59:59Z',
          '2026-03-08T08:00:00Z',
        ]),
      ).toEqual(['2026-03-08T07:00:00Z', '2026-03-08T07:59:59Z']);
    });

    it('fall back on 2026-11-01 (02:00 EDT → 01:00 EST at 06:00Z): 01:00–02:00 runs 01:00 EDT to 02:00 EST, both 01:30s', () => {
      expect(
        onAt(window(['sun'], '01:00', '02:00'), 'America/New_York', [
          '2026-11-01T04:59:59Z',
          '2026-11-01T05:00:00Z',
          '2026-11-01T05:30:00Z',
          '2026-11-01T06:30:00Z',
          '2026-11-01T06:59:59Z',
          '2026-11-01T07:00:00Z',
        ]),
      ).toEqual(['2026-11-01T05:00:00Z', '2026-11-01T05:30:00Z', '2026-11-01T06:30:00Z', '2026-11-01T06:59:59Z']);
    });

    it('a Saturday overnight window into the fall-back Sunday ends at 06:00 EST', () => {
      expect(
        maintenanceEndsAt([window(['sat'], '23:00', '06:00')], 'America/New_York', at('2026-11-01T03:00:00Z')),
      ).toEqual(at('2026-11-01T11:00:00Z'));
    });
  });

  it('in zones without DST, agrees with plain wall-clock arithmetic', () => {
    const days: Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
    const hhmm = fc
      .integer({ min: 0, max: 24 * 4 })
      .map((q) => `${String(Math.floor(q / 4)).padStart(2, '0')}:${String((q % 4) * 15).padStart(2, '0')}`);
    const zones: [string, number][] = [
      ['UTC', 0],
      ['Asia/Kolkata', 330],
      ['America/Phoenix', -420],
    ];
    fc.assert(
      fc.property(
        fc.subarray(days, { minLength: 1 }),
        hhmm,
        hhmm,
        fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 0, 1) }),
        fc.constantFrom(...zones),
        (ds, start, end, instant, [zone, offsetMinutes]) => {
          const local = new Date(instant + offsetMinutes * 60_000);
          const minute = local.getUTCHours() * 60 + local.getUTCMinutes();
          const toMinutes = (t: string): number => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));
          const [s, e] = [toMinutes(start), toMinutes(end)];
          const today = days[local.getUTCDay()] as Weekday;
          const yesterday = days[(local.getUTCDay() + 6) % 7] as Weekday;
          const expected =
            e > s
              ? ds.includes(today) && minute >= s && minute < e
              : (ds.includes(today) && minute >= s) || (ds.includes(yesterday) && minute < e);
          expect(isInWeeklyWindow(window(ds, start, end), zone, new Date(instant))).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
