import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  anchorsOf,
  brokenLinks,
  documentationFiles,
  projectTextFiles,
  sectionCitations,
  staleCitations,
} from '../support/markdown-links';

/**
 * The README is the front page and docs/ the manual: every relative link between them (and to the
 * code, schemas and images they cite) resolves, to a file that exists and, with a #anchor, to a
 * heading that file has, by GitHub's slug rules. External links are not followed.
 */
const root = resolve(__dirname, '..', '..');
const README_MAX_LINES = 350;

describe('the documentation', () => {
  const files = documentationFiles(root);

  it('is README.md and the pages under docs/', () => {
    expect(files).toContain('README.md');
    for (const page of ['configuration', 'channels', 'deploying', 'operating', 'scale', 'development', 'roadmap']) {
      expect(files).toContain(`docs/${page}.md`);
    }
  });

  for (const file of files) {
    it(`${file}: every relative link resolves, anchors included`, () => {
      const path = join(root, file);
      expect(brokenLinks(path, readFileSync(path, 'utf8'), root)).toEqual([]);
    });
  }

  it(`keeps README.md a front page: at most ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(join(root, 'README.md'), 'utf8').trimEnd().split('\n').length;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('has every section the code, templates and emulators cite (`docs/channels.md, "Webhooks"`)', () => {
    // This file's fixtures cite gone sections on purpose.
    const citations = projectTextFiles(root)
      .filter((file) => file !== 'test/unit/docs-links.test.ts')
      .flatMap((file) => sectionCitations(file, readFileSync(join(root, file), 'utf8')));
    expect(citations.length).toBeGreaterThan(20);
    expect(staleCitations(citations, root)).toEqual([]);
  });

  it('keeps `npm test`, the command CI runs (.ci/run), in the README', () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toMatch(/```sh\nnpm test\n```/);
    expect(readFileSync(join(root, '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
  });
});

describe('the link checker', () => {
  const page = join(root, 'docs', 'fixture.md');
  const target = [
    '# Target page',
    '## Without azd: Core Tools',
    "## One tenant's backlog",
    '## `npm run status`',
    '## Many tenants without a secret (MSPs)',
    '## Notes',
    '## Notes',
    '## [Linked](https://example.org) heading',
  ].join('\n\n');
  const readTarget = (path: string): string => {
    if (path === join(root, 'docs', 'channels.md')) return target;
    throw new Error(`the fixture reads only docs/channels.md, not ${path}`);
  };
  const check = (markdown: string) => brokenLinks(page, markdown, root, readTarget);

  it('makes anchors as GitHub does: lower case, spaces to hyphens, punctuation dropped, repeats numbered', () => {
    expect([...anchorsOf(target)]).toEqual([
      'target-page',
      'without-azd-core-tools',
      'one-tenants-backlog',
      'npm-run-status',
      'many-tenants-without-a-secret-msps',
      'notes',
      'notes-1',
      'linked-heading',
    ]);
  });

  it('accepts links to files that exist and to headings they have', () => {
    const markdown = [
      '# Fixture',
      '## Local (section)',
      'See [channels](channels.md), [a heading](channels.md#without-azd-core-tools),',
      '[another](channels.md#one-tenants-backlog), [status](./channels.md#npm-run-status),',
      '[the second Notes](channels.md#notes-1), [here](#local-section), [the repo](../README.md),',
      '[a folder](../lib/), ![an image](email-phone.png) and <img src="status-page.png" alt="">.',
    ].join('\n\n');
    expect(check(markdown)).toEqual([]);
  });

  it('reports a missing file, a missing heading, a missing local anchor and an anchor on a file without headings', () => {
    const markdown = [
      '# Fixture',
      'See [gone](operations.md), [moved](channels.md#operate), [here](#nowhere),',
      '[old numbering](channels.md#notes-2), ![gone](missing.png), <img src="absent.png">',
      'and [code](../package.json#scripts).',
    ].join('\n\n');
    expect(check(markdown)).toEqual([
      { file: 'docs/fixture.md', target: 'operations.md', problem: 'docs/operations.md does not exist' },
      { file: 'docs/fixture.md', target: 'channels.md#operate', problem: 'docs/channels.md has no heading #operate' },
      { file: 'docs/fixture.md', target: '#nowhere', problem: 'docs/fixture.md has no heading #nowhere' },
      { file: 'docs/fixture.md', target: 'channels.md#notes-2', problem: 'docs/channels.md has no heading #notes-2' },
      { file: 'docs/fixture.md', target: 'missing.png', problem: 'docs/missing.png does not exist' },
      { file: 'docs/fixture.md', target: 'absent.png', problem: 'docs/absent.png does not exist' },
      {
        file: 'docs/fixture.md',
        target: '../package.json#scripts',
        problem: 'an anchor on package.json, which has no headings',
      },
    ]);
  });

  it('finds citations of a section in code and reports those whose page or heading is gone', () => {
    const code = [
      '// What a receiver checks (docs/channels.md, "Webhooks"), and how (docs/channels.md ("Teams")).',
      '\'see docs/deploying.md, \\"Permissions\\": Microsoft lists...\'',
      '# azd up deploys it (README, "Deploy"); bundled (README "Scale"); see emulators/README.md, "KQL".',
      '// docs/operating.md, "Operate" and docs/gone.md, "Anything"',
    ].join('\n');
    const citations = sectionCitations('lib/fixture.ts', code);
    expect(citations.map((c) => `${c.page} ${c.heading}`)).toEqual([
      'docs/channels.md Webhooks',
      'docs/channels.md Teams',
      'docs/deploying.md Permissions',
      'README.md Deploy',
      'README.md Scale',
      'docs/operating.md Operate',
      'docs/gone.md Anything',
    ]);
    expect(staleCitations(citations, root).map((c) => `${c.page} ${c.heading}`)).toEqual([
      'README.md Scale',
      'docs/operating.md Operate',
      'docs/gone.md Anything',
    ]);
  });

  it('does not follow external links, nor read links inside code', () => {
    const markdown = [
      '# Fixture',
      'See [Learn](https://learn.microsoft.com/nowhere), [mail](mailto:ops@contoso.com) and `[x](nowhere.md)`.',
      '```md\n[not a link](nowhere.md)\n```',
    ].join('\n\n');
    expect(check(markdown)).toEqual([]);
  });
});
