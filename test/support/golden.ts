import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { expect } from 'vitest';

/**
 * Golden files: what the product renders, checked in under test/golden/ and reviewed like code.
 * A test compares its output with the file; `UPDATE_GOLDEN=1` rewrites the files instead (then
 * read the diff before committing). A missing file fails the test, so a new template is never
 * passed by writing whatever it renders.
 */
export const GOLDEN_DIR = join(__dirname, '..', 'golden');
export const UPDATING = process.env.UPDATE_GOLDEN === '1';

export function expectGolden(path: string, actual: string): void {
  const file = join(GOLDEN_DIR, path);
  if (UPDATING) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual, 'utf8');
    return;
  }
  const where = relative(process.cwd(), file);
  if (!existsSync(file))
    throw new Error(
      `no golden file ${where}: run UPDATE_GOLDEN=1 npx vitest run <this test file>, then review and commit it`,
    );
  expect(
    actual,
    `${where} differs (if the change is intended: UPDATE_GOLDEN=1 npx vitest run <this test file>, then review the diff)`,
  ).toBe(readFileSync(file, 'utf8'));
}

/** The files in a golden folder, for finding ones no test writes any more. */
export function goldenFiles(folder: string): string[] {
  const dir = join(GOLDEN_DIR, folder);
  return existsSync(dir) ? readdirSync(dir) : [];
}
