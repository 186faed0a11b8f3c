import { describe, expect, it } from 'vitest';
import { allowsSend, EMPTY_SEND_LOG, parseSendLog, pruned, usage, withSend } from '../../lib/store/send-budget';

const T0 = Date.parse('2026-11-27T12:00:00Z');
const s = (seconds: number) => T0 + seconds * 1000;

describe('the send budget', () => {
  it('counts the last minute exactly', () => {
    let log = EMPTY_SEND_LOG;
    log = withSend(log, s(0));
    log = withSend(log, s(30));
    expect(usage(log, s(59)).minute).toBe(2);
    expect(usage(log, s(60)).minute).toBe(1); // the first is 60 s old: out of the minute
    expect(allowsSend(log, s(59), { perMinute: 2, perHour: 100 })).toBe(false);
    expect(allowsSend(log, s(60), { perMinute: 2, perHour: 100 })).toBe(true);
  });

  it('counts the hour by minute, never late: a send leaves the hourly count within a minute after its hour', () => {
    let log = withSend(EMPTY_SEND_LOG, s(10)); // in the minute starting at s(0)
    expect(usage(log, s(3609)).hour).toBe(1);
    expect(usage(log, s(3600 + 59)).hour).toBe(1);
    expect(usage(log, s(3600 + 60)).hour).toBe(0);
    log = withSend(log, s(20));
    expect(allowsSend(log, s(100), { perMinute: 30, perHour: 2 })).toBe(false);
    expect(allowsSend(log, s(3660), { perMinute: 30, perHour: 2 })).toBe(true);
  });

  it('the hourly limit binds on its own: 100 an hour at 30 a minute', () => {
    let log = EMPTY_SEND_LOG;
    let sent = 0;
    for (let second = 0; second < 3600; second += 5) {
      if (allowsSend(log, s(second), { perMinute: 30, perHour: 100 })) {
        log = withSend(log, s(second));
        sent++;
      }
    }
    expect(sent).toBe(100);
  });

  it('stays small: at most a minute of times and an hour of minute counts', () => {
    let log = EMPTY_SEND_LOG;
    for (let i = 0; i < 10_000; i++) log = withSend(log, s(i));
    const kept = pruned(log, s(10_000));
    expect(kept.lastMinute.length).toBeLessThanOrEqual(60);
    expect(kept.perMinute.length).toBeLessThanOrEqual(61);
  });

  it('reads the first format (ISO times) and survives damage', () => {
    const legacy = JSON.stringify([new Date(s(0)).toISOString(), new Date(s(10)).toISOString()]);
    expect(usage(parseSendLog(legacy), s(20))).toEqual({ minute: 2, hour: 2 });
    expect(parseSendLog('not json')).toEqual(EMPTY_SEND_LOG);
    expect(parseSendLog(undefined)).toEqual(EMPTY_SEND_LOG);
    expect(parseSendLog(JSON.stringify({ lastMinute: [1, 'x'], perMinute: [[1, 2], 'y'] }))).toEqual({
      lastMinute: [1],
      perMinute: [[1, 2]],
    });
  });
});

describe('the send log, exactly', () => {
  it('keeps a send made at this very instant, and drops one from the future (a clock that went back)', () => {
    expect(pruned({ lastMinute: [s(10)], perMinute: [[Math.floor(s(10) / 60_000), 1]] }, s(10))).toEqual({
      lastMinute: [s(10)],
      perMinute: [[Math.floor(s(10) / 60_000), 1]],
    });
    expect(pruned({ lastMinute: [s(20)], perMinute: [[Math.floor(s(120) / 60_000), 1]] }, s(10))).toEqual({
      lastMinute: [],
      perMinute: [],
    });
  });

  it('counts per minute in order of the minute, adding to the minute already there', () => {
    const minute = (t: number) => Math.floor(t / 60_000);
    let log = withSend(EMPTY_SEND_LOG, s(10));
    log = withSend(log, s(20));
    log = withSend(log, s(130));
    expect(log.perMinute).toEqual([
      [minute(s(10)), 2],
      [minute(s(130)), 1],
    ]);
    // A log stored out of order comes back in order.
    expect(
      withSend(
        {
          lastMinute: [],
          perMinute: [
            [minute(s(130)), 1],
            [minute(s(10)), 1],
          ],
        },
        s(140),
      ).perMinute,
    ).toEqual([
      [minute(s(10)), 1],
      [minute(s(130)), 2],
    ]);
    expect(withSend(EMPTY_SEND_LOG, s(0))).toEqual({ lastMinute: [s(0)], perMinute: [[minute(s(0)), 1]] });
    expect(EMPTY_SEND_LOG).toEqual({ lastMinute: [], perMinute: [] });
  });

  it('reads the first format in time order, whatever order it was written in, skipping what is not a time', () => {
    const unsorted = JSON.stringify([new Date(s(3000)).toISOString(), 'not a time', new Date(s(0)).toISOString()]);
    const minute = (t: number) => Math.floor(t / 60_000);
    expect(parseSendLog(unsorted)).toEqual({
      lastMinute: [s(3000)],
      perMinute: [
        [minute(s(0)), 1],
        [minute(s(3000)), 1],
      ],
    });
    expect(parseSendLog('')).toEqual(EMPTY_SEND_LOG);
  });

  it('keeps only well-formed entries of the current format', () => {
    const text = JSON.stringify({ lastMinute: [5, '6', null], perMinute: [[1, 2], [1, 'x'], ['1', 2], 3, [4, 5]] });
    expect(parseSendLog(text)).toEqual({
      lastMinute: [5],
      perMinute: [
        [1, 2],
        [4, 5],
      ],
    });
    expect(parseSendLog(JSON.stringify({}))).toEqual({ lastMinute: [], perMinute: [] });
    expect(parseSendLog(JSON.stringify({ lastMinute: 'x', perMinute: 7 }))).toEqual({ lastMinute: [], perMinute: [] });
  });
});
