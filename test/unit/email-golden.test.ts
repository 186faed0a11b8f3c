import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONDITIONS } from '../../lib/evaluate/rules';
import type { EmailContent } from '../../lib/model';
import { ALERT_FIXTURES } from '../fixtures/alerts';
import { emailTemplates } from '../support/email-templates';
import { expectGolden, GOLDEN_DIR, goldenFiles, UPDATING } from '../support/golden';

/**
 * Every email the product sends, per condition and kind, against reviewed golden files in
 * test/golden/email/ (HTML, plain text, subject and headers). Rewrite them with
 * `UPDATE_GOLDEN=1 npx vitest run test/unit/email-golden.test.ts` and review the diff.
 */

function headerBlock(email: EmailContent): string {
  return [
    `Subject: ${email.subject}`,
    ...Object.entries(email.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    '',
  ].join('\n');
}

const templates = emailTemplates();

describe('email golden files', () => {
  it('every registered rule has a fixture alert, so its emails get golden files', () => {
    const missing = CONDITIONS.filter((condition) => !ALERT_FIXTURES[condition]);
    expect(
      missing,
      `add an alert for ${missing.join(', ')} to test/fixtures/alerts.ts, then run UPDATE_GOLDEN=1 npx vitest run test/unit/email-golden.test.ts`,
    ).toEqual([]);
  });

  it.each(templates.map((t) => [t.name, t] as const))('%s matches its golden files', (name, template) => {
    const email = template.email;
    expectGolden(`email/${name}.html`, email.html);
    expectGolden(`email/${name}.txt`, email.plainText);
    expectGolden(`email/${name}.headers.txt`, headerBlock(email));
  });

  it('keeps no golden file that no template writes any more (update mode deletes them)', () => {
    const expected = new Set(templates.flatMap((t) => [`${t.name}.html`, `${t.name}.txt`, `${t.name}.headers.txt`]));
    const stale = goldenFiles('email').filter((file) => !expected.has(file));
    if (UPDATING) for (const file of stale) rmSync(join(GOLDEN_DIR, 'email', file));
    else expect(stale).toEqual([]);
  });
});
