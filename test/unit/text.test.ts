import { describe, expect, it } from 'vitest';
import {
  bounded,
  boundedAnnotations,
  boundedMaterial,
  escapeHtml,
  formatShortTime,
  formatTime,
  headerSafe,
  MAX_MATERIAL_CHARS,
  plain,
  withoutDirectionControls,
} from '../../lib/util/text';

const BIDI = [
  '\u061c',
  '\u200e',
  '\u200f',
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
];

describe('hostile text from Graph', () => {
  it('drops every Unicode direction control from subjects, plain text and HTML', () => {
    const spoof = `Fabrikam\u202Egpj.exe\u202C to \u2066Contoso\u2069\u200E`;
    for (const out of [headerSafe(spoof), plain(spoof), escapeHtml(spoof), withoutDirectionControls(spoof)]) {
      expect(out).toBe('Fabrikamgpj.exe to Contoso');
    }
    for (const c of BIDI) expect(headerSafe(`a${c}b`)).toBe('ab');
    // Right-to-left text itself stays: only the invisible controls go.
    expect(headerSafe('שלום Contoso')).toBe('שלום Contoso');
  });

  it('keeps plain-text fields on one line, so a value cannot forge a line of its own', () => {
    expect(plain('Quarantined\r\nResolved: all fine\u2028Bcc: x')).toBe('Quarantined  Resolved: all fine Bcc: x');
    expect(plain('tab\there')).toBe('tab here');
    expect(plain('x'.repeat(50), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('headers are one line of at most the given length, control characters gone', () => {
    expect(headerSafe('Evil\r\nBcc: victim@example.com\u0000', 200)).toBe('Evil Bcc: victim@example.com');
    expect(headerSafe('  spaced   out  ')).toBe('spaced out');
    expect(headerSafe('y'.repeat(300), 20)).toBe(`${'y'.repeat(19)}…`);
    expect(headerSafe(undefined)).toBe('');
  });

  it('escapes every character that matters in HTML content and attributes, & first', () => {
    expect(escapeHtml(`<a href="x" title='y'>Tom & Jerry &amp;</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Tom &amp; Jerry &amp;amp;&lt;/a&gt;',
    );
    expect(escapeHtml('"')).toBe('&quot;');
    expect(escapeHtml('&')).toBe('&amp;');
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml(42)).toBe('42');
  });
});

describe('bounded text', () => {
  it('leaves text within the bound as it is, and cuts longer text with a marker saying how long it was', () => {
    expect(bounded('short', 10)).toBe('short');
    expect(bounded('x'.repeat(10), 10)).toBe('x'.repeat(10));
    const cut = bounded('x'.repeat(40_000), 2000);
    expect(cut).toHaveLength(2000);
    expect(cut.endsWith('… [truncated: 40000 characters]')).toBe(true);
    expect(cut.startsWith('xxxx')).toBe(true);
  });

  it('never splits a surrogate pair', () => {
    const text = '😀'.repeat(100);
    const cut = bounded(text, 50);
    expect(cut.length).toBeLessThanOrEqual(50);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(cut)).toBe(false);
  });

  it('bounds every string annotation and leaves other values', () => {
    expect(boundedAnnotations({ message: 'm'.repeat(5000), count: 3, flag: true, none: undefined }, 100)).toEqual({
      message: bounded('m'.repeat(5000), 100),
      count: 3,
      flag: true,
      none: undefined,
    });
  });

  it('bounds a material the same way every time, and a change anywhere in it still changes it', () => {
    const long = `Unknown|${'e'.repeat(2000)}`;
    expect(boundedMaterial(long)).toBe(boundedMaterial(long));
    expect(boundedMaterial(long)!.length).toBeLessThanOrEqual(MAX_MATERIAL_CHARS);
    expect(boundedMaterial(`${long}!`)).not.toBe(boundedMaterial(long));
    expect(boundedMaterial('Unknown|Code')).toBe('Unknown|Code');
    expect(boundedMaterial(undefined)).toBeUndefined();
  });
});

describe('times in a time zone', () => {
  const at = '2026-11-27T02:40:00.000Z';

  it('shows UTC as before, and any other IANA zone with its name and its offset that day', () => {
    expect(formatTime(at)).toBe('2026-11-27 02:40 UTC');
    expect(formatTime(at, 'Europe/Berlin')).toBe('2026-11-27 03:40 Europe/Berlin (UTC+1)');
    expect(formatTime('2026-07-01T02:40:00.000Z', 'Europe/Berlin')).toBe('2026-07-01 04:40 Europe/Berlin (UTC+2)');
    // The local date, not UTC's: 02:40 UTC is the evening before in New York.
    expect(formatTime(at, 'America/New_York')).toBe('2026-11-26 21:40 America/New_York (UTC-5)');
    expect(formatTime(at, 'Asia/Kolkata')).toBe('2026-11-27 08:10 Asia/Kolkata (UTC+5:30)');
    expect(formatTime(undefined, 'Europe/Berlin')).toBe('not given');
  });

  it('is short in a subject, with the offset as the zone', () => {
    expect(formatShortTime(at)).toBe('27 Nov 02:40 UTC');
    expect(formatShortTime(at, 'Europe/Berlin')).toBe('27 Nov 03:40 UTC+1');
    expect(formatShortTime(at, 'America/New_York')).toBe('26 Nov 21:40 UTC-5');
    expect(formatShortTime('not a time')).toBe('a time not known');
  });
});
