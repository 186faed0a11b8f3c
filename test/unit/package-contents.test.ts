import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { coreToolsAccepts, gitignoreAccepts } from '../support/funcignore';

/**
 * What the deployment package holds, as `func azure functionapp publish` (Core Tools) and
 * `azd deploy` would zip this folder: dist/, host.json, package.json, package-lock.json and
 * node_modules; no tests, emulators, sources, infra or local settings.
 */
const root = join(__dirname, '..', '..');
const funcignore = readFileSync(join(root, '.funcignore'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  main: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Every file of the working folder as a developer has it (untracked and git-ignored ones too), without the heavy trees added below. */
function walk(dir: string, skip: Set<string>): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    const rel = relative(root, path).replace(/\\/g, '/');
    if (skip.has(rel)) return [];
    return entry.isDirectory() ? walk(path, skip) : [rel];
  });
}

function sources(dir: string): string[] {
  return walk(join(root, dir), new Set()).filter((f) => f.endsWith('.ts'));
}

/** dist/ as `npm run build` writes it (tsconfig.build.json: functions/ and lib/, with source maps), and as `npm run bundle` does (one file). */
const BUNDLE = 'dist/functions/app.js';
const dist = [
  ...[...sources('functions'), ...sources('lib')].flatMap((f) => [
    `dist/${f.replace(/\.ts$/, '.js')}`,
    `dist/${f.replace(/\.ts$/, '.js.map')}`,
  ]),
  BUNDLE,
];

/** A sample of node_modules: for every installed package, the kinds of files packages ship (nested lib/, test/, docs/, maps, typings). */
const nodeModules = readdirSync(join(root, 'node_modules'))
  .flatMap((name) =>
    name.startsWith('@') ? readdirSync(join(root, 'node_modules', name)).map((inner) => `${name}/${inner}`) : [name],
  )
  .filter((name) => !name.startsWith('.'))
  .flatMap((name) =>
    [
      'package.json',
      'README.md',
      'lib/index.js',
      'dist/index.js',
      'dist/index.js.map',
      'types/index.d.ts',
      'src/index.ts',
      'test/index.js',
      'docs/guide.md',
      'scripts/build.js',
    ].map((file) => `node_modules/${name}/${file}`),
  );

const tree = [...walk(root, new Set(['node_modules', '.git', 'dist'])), ...dist, ...nodeModules];

describe('the deployment package', () => {
  const readers = { 'Core Tools': coreToolsAccepts(funcignore), azd: gitignoreAccepts(funcignore) };

  for (const [reader, accepts] of Object.entries(readers)) {
    it(`holds dist/, host.json, package.json and node_modules, and nothing else, as ${reader} reads .funcignore`, () => {
      const kept = tree.filter(accepts);
      const outside = kept.filter((f) => !f.startsWith('node_modules/')).sort();
      // A config file at the root ships on purpose (docs/deploying.md, "A config file": WATCH_CONFIG).
      const config = existsSync(join(root, 'watch-config.json')) ? ['watch-config.json'] : [];
      const expected = [
        ...dist.filter((f) => f.endsWith('.js')),
        'host.json',
        'package-lock.json',
        'package.json',
        ...config,
      ].sort();
      // A file here that should not ship: add it to .funcignore (anchored at the root: /name).
      expect(outside).toEqual(expected);
      expect(kept.filter((f) => f.startsWith('node_modules/'))).toEqual(nodeModules);
    });
  }

  it('finds the functions where package.json main says they are', () => {
    const main = new RegExp(`^${pkg.main.replace(/\./g, '\\.').replace(/\*/g, '[^/]+')}$`);
    const functions = sources('functions').map((f) => `dist/${f.replace(/\.ts$/, '.js')}`);
    expect(functions.length).toBeGreaterThan(0);
    expect(functions.every((f) => main.test(f) && readers['Core Tools'](f))).toBe(true);
    expect(main.test(BUNDLE) && readers['Core Tools'](BUNDLE) && readers.azd(BUNDLE)).toBe(true);
  });

  it('keeps every package the code imports at run time after `npm prune --omit=dev`', () => {
    const runtimeImports = new Set<string>();
    for (const file of [...sources('functions'), ...sources('lib')]) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const match of text.matchAll(
        /^import\s+(?!type\s)[^;]*?from\s+'([^'.][^']*)'|\b(?:require|import)\(\s*'([^'.][^']*)'\s*\)/gm,
      )) {
        const specifier = (match[1] ?? match[2]) as string;
        if (specifier.startsWith('node:')) continue;
        runtimeImports.add(
          specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] as string),
        );
      }
    }
    expect(runtimeImports.size).toBeGreaterThan(3);
    const missing = [...runtimeImports].filter((name) => !(name in pkg.dependencies));
    // Each needs to be in "dependencies": devDependencies are pruned from the package.
    expect(missing).toEqual([]);
  });

  it('ships of the Kusto language service only the scripts the KQL check loads', () => {
    const kusto = 'node_modules/@kusto/language-service-next';
    const loaded = [
      ...readFileSync(join(root, 'lib', 'config', 'kql-check.ts'), 'utf8').matchAll(
        /load\('@kusto\/language-service-next\/([^']+)'\)/g,
      ),
    ].map((m) => m[1] as string);
    expect(loaded).toEqual(['bridge.min.js', 'Kusto.Language.Bridge.min.js']);
    const files = readdirSync(join(root, kusto)).map((f) => `${kusto}/${f}`);
    for (const accepts of Object.values(readers))
      expect(files.filter(accepts).sort()).toEqual([...loaded, 'package.json'].map((f) => `${kusto}/${f}`).sort());
  });

  it('is read the same way by both, because every pattern is anchored at the root', () => {
    expect(() => gitignoreAccepts('lib')).toThrow(/not anchored/);
    expect(coreToolsAccepts('*.ts')('lib/app.ts')).toBe(true); // Core Tools: `*.ts` is the root only
    expect(gitignoreAccepts('/lib')('node_modules/x/lib/index.js')).toBe(true);
    expect(coreToolsAccepts('/lib')('node_modules/x/lib/index.js')).toBe(true);
    expect(coreToolsAccepts('/lib')('lib/app.ts')).toBe(false);
    expect(statSync(join(root, '.funcignore')).isFile()).toBe(true);
  });
});
