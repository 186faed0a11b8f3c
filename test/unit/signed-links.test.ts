import { describe, expect, it } from 'vitest';
import { LinkLedger, LedgerConflict } from '../../lib/links/ledger';
import {
  linkFields,
  linkKeyId,
  linkUrl,
  newLink,
  verifyLink,
  type LinkPurpose,
  type SignedLink,
} from '../../lib/links/signed-links';
import { MemoryTable } from '../support/memory-table';

const KEY = 'k'.repeat(48);
const OTHER_KEY = 'o'.repeat(48);
const NOW = new Date('2026-11-27T03:00:00Z');
const HOUR = 3600_000;
const BOUND = { t: 'tenant-1', a: 'fingerprint-1', h: 'state-hash' };
const NAMES = Object.keys(BOUND);

function fieldsOf(link: SignedLink, key = KEY): Record<string, string> {
  return linkFields(link, key);
}

describe('signed links', () => {
  const link = newLink('decide', BOUND, NOW, 24 * HOUR);

  it('verifies a link as made: its id, expiry and bound fields come back', () => {
    const verified = verifyLink('decide', fieldsOf(link), NAMES, KEY, NOW);
    expect(verified).toEqual({ ok: true, link });
    expect(link.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(link.expires).toBe(Math.floor((NOW.getTime() + 24 * HOUR) / 1000));
  });

  it('makes a URL whose query is the fields, and ignores fields that are not the link (a form’s own inputs)', () => {
    const url = new URL(linkUrl('https://watch.contoso.com', 'decide', link, KEY));
    expect(url.pathname).toBe('/api/decide');
    const fields = { ...Object.fromEntries(url.searchParams), action: 'approve', csrf: 'x' };
    expect(verifyLink('decide', fields, NAMES, KEY, NOW).ok).toBe(true);
  });

  it.each([
    ['a bound field changed', { t: 'tenant-2' }, 'tampered', 403],
    ['the expiry moved', { e: String(link.expires + 3600) }, 'tampered', 403],
    ['the id changed', { i: 'A'.repeat(22) }, 'tampered', 403],
    ['the signature changed', { s: 'A'.repeat(43) }, 'tampered', 403],
    ['a bound field is missing', { h: undefined }, 'damaged', 400],
    ['the id is not one', { i: 'short' }, 'damaged', 400],
    ['the expiry is not a number', { e: 'soon' }, 'damaged', 400],
    ['the key id is not ours', { k: 'AAAAAAAA' }, 'foreign', 403],
  ])('refuses a link when %s (%s)', (_what, change, refusal, status) => {
    const fields: Record<string, string | undefined> = { ...fieldsOf(link), ...change };
    expect(verifyLink('decide', fields, NAMES, KEY, NOW)).toEqual({ ok: false, refusal, status });
  });

  it('refuses a link signed with another key as foreign, not as changed', () => {
    expect(verifyLink('decide', fieldsOf(link, OTHER_KEY), NAMES, KEY, NOW)).toMatchObject({ refusal: 'foreign' });
  });

  it('refuses a link of another purpose as foreign: each purpose signs with its own derived key', () => {
    const snooze = newLink('snooze', BOUND, NOW, HOUR);
    expect(verifyLink('decide', fieldsOf(snooze), NAMES, KEY, NOW)).toMatchObject({ refusal: 'foreign' });
    // Even with the key id swapped in, the signature is another purpose's.
    const forged = { ...fieldsOf(snooze), k: linkKeyId(KEY, 'decide') };
    expect(verifyLink('decide', forged, NAMES, KEY, NOW)).toMatchObject({ refusal: 'tampered' });
    const ids = (['snooze', 'acknowledge', 'decide'] as LinkPurpose[]).map((p) => linkKeyId(KEY, p));
    expect(new Set(ids).size).toBe(3);
  });

  it('refuses an expired link, and takes one until its last second', () => {
    const last = new Date(link.expires * 1000);
    expect(verifyLink('decide', fieldsOf(link), NAMES, KEY, last).ok).toBe(true);
    expect(verifyLink('decide', fieldsOf(link), NAMES, KEY, new Date(last.getTime() + 1000))).toEqual({
      ok: false,
      refusal: 'expired',
      status: 410,
    });
  });

  it('signs values that hold separators unambiguously', () => {
    const a = newLink('decide', { x: 'a\nb', y: 'c' }, NOW, HOUR, 'A'.repeat(22));
    const b = newLink('decide', { x: 'a', y: 'b\nc' }, NOW, HOUR, 'A'.repeat(22));
    expect(fieldsOf(a).s).not.toBe(fieldsOf(b).s);
  });

  it('refuses bound fields with reserved or odd names', () => {
    expect(() => newLink('decide', { s: 'x' }, NOW, HOUR)).toThrow(/cannot be called "s"/);
    expect(() => newLink('decide', { 'a-b': 'x' }, NOW, HOUR)).toThrow(/cannot be called/);
    expect(() => newLink('decide', { a: 'x'.repeat(301) }, NOW, HOUR)).toThrow(/at most 300/);
  });
});

describe('the link ledger', () => {
  const ledger = () => new LinkLedger(new MemoryTable('ledger').asClient());
  const use = (record: unknown) => ({
    at: NOW,
    expiresAt: new Date(NOW.getTime() + HOUR),
    keepUntil: new Date(NOW.getTime() + 2 * HOUR),
    record,
  });

  it('lets the first claim of a link win; every later claim gets the use already there', async () => {
    const store = ledger();
    const first = await store.claim('decide', 'link-1', use({ by: 'adele' }));
    const second = await store.claim('decide', 'link-1', use({ by: 'megan' }));
    expect(first.claimed).toBe(true);
    expect(second).toMatchObject({ claimed: false, use: { record: { by: 'adele' } } });
    // The same id under another purpose is another link.
    expect((await store.claim('snooze', 'link-1', use({ by: 'megan' }))).claimed).toBe(true);
  });

  it('lets exactly one of many simultaneous claims win', async () => {
    const store = ledger();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, n) => store.claim('decide', 'link-2', use({ n }))),
    );
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    const winner = results.find((r) => r.claimed)?.use.record;
    expect(results.every((r) => JSON.stringify(r.use.record) === JSON.stringify(winner))).toBe(true);
  });

  it('updates a use only from the version read: a second writer gets LedgerConflict', async () => {
    const store = ledger();
    const { use: claimed } = await store.claim('decide', 'link-3', use({ step: 'started' }));
    const done = await store.update(claimed, { step: 'done' });
    await expect(store.update(claimed, { step: 'done again' })).rejects.toBeInstanceOf(LedgerConflict);
    expect((await store.get('decide', 'link-3'))?.record).toEqual({ step: 'done' });
    expect((await store.update(done, { step: 'noticed' })).record).toEqual({ step: 'noticed' });
  });

  it('keeps a use at least until its link expires, and sweeps it after', async () => {
    const store = ledger();
    await store.claim('snooze', 'link-4', { ...use({}), keepUntil: new Date(NOW.getTime() - HOUR) });
    expect((await store.get('snooze', 'link-4'))?.keepUntil).toBe(new Date(NOW.getTime() + HOUR).toISOString());
    expect(await store.sweep(['snooze'], new Date(NOW.getTime() + 30 * 60_000))).toBe(0);
    expect(await store.sweep(['snooze'], new Date(NOW.getTime() + HOUR + 1))).toBe(1);
    expect(await store.get('snooze', 'link-4')).toBeUndefined();
  });

  it('keeps notes newest first, and sweeps them past their time', async () => {
    const store = ledger();
    await store.note('decide', NOW, new Date(NOW.getTime() + HOUR), { n: 1 });
    await store.note('decide', new Date(NOW.getTime() + 1000), new Date(NOW.getTime() + HOUR), { n: 2 });
    expect((await store.notes('decide')).map((n) => n.record)).toEqual([{ n: 2 }, { n: 1 }]);
    expect(await store.sweep(['decide'], new Date(NOW.getTime() + 2 * HOUR))).toBe(2);
    expect(await store.notes('decide')).toEqual([]);
  });

  it('lists uses newest first, from a time on', async () => {
    const store = ledger();
    await store.claim('decide', 'old', { ...use({ n: 'old' }), at: new Date(NOW.getTime() - HOUR) });
    await store.claim('decide', 'new', use({ n: 'new' }));
    expect((await store.uses('decide')).map((u) => u.linkId)).toEqual(['new', 'old']);
    expect((await store.uses('decide', NOW)).map((u) => u.linkId)).toEqual(['new']);
  });

  it('refuses a record too large for one row, by name', async () => {
    await expect(ledger().claim('decide', 'big', use({ text: 'x'.repeat(40_000) }))).rejects.toThrow(
      /record of decide link big is \d+ characters/,
    );
  });
});
