import { describe, expect, it } from 'vitest';
import { allowsSend, EMPTY_SEND_LOG, parseSendLog, pruned, usage, withSend } from '../../lib/notify/budget';

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
    expect(parseSendLog(JSON.stringify({ lastMinute: [1, 'x'], perMinute: [[1, 2], 'y'] }))).toEqual({ lastMinute: [1], perMinute: [[1, 2]] });
  });
});
