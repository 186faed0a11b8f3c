import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_BUNDLE } from '../../scripts/bundle';
import { KUSTO_SCRIPTS } from '../../lib/config/kql-check';
import { coreToolsAccepts, filesUnder, gitignoreAccepts } from '../support/funcignore';

/**
 * What the deployment package holds, as `func azure functionapp publish` (Core Tools) and
 * `azd deploy` would zip this folder: dist/ (the bundle and the Kusto scripts), host.json,
 * package.json and package-lock.json; no node_modules, tests, emulators, sources, infra or local
 * settings. That the bundle runs from it alone: test/unit/bundle.test.ts.
 */
const root = join(__dirname, '..', '..');
const funcignore = readFileSync(join(root, '.funcignore'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  main: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

function sources(dir: string): string[] {
  return filesUnder(root, new Set()).filter((f) => f.startsWith(`${dir}/`) && f.endsWith('.ts'));
}

/** dist/ as `npm run build` writes it (tsconfig.build.json: functions/ and lib/, with source maps), and as `npm run bundle` does (one file, and the Kusto scripts beside it). */
const BUNDLE = 'dist/functions/app.js';
const KUSTO = [...KUSTO_SCRIPTS, 'package.json'].map((f) => `dist/kusto/${f}`);
const dist = [
  ...[...sources('functions'), ...sources('lib')].flatMap((f) => [
    `dist/${f.replace(/\.ts$/, '.js')}`,
    `dist/${f.replace(/\.ts$/, '.js.map')}`,
  ]),
  BUNDLE,
  ...KUSTO,
];

/** A sample of node_modules: for every installed package (and npm's own .bin, .package-lock.json), the kinds of files packages ship (nested lib/, test/, docs/, maps, typings). */
const installed = readdirSync(join(root, 'node_modules')).flatMap((name) =>
  name.startsWith('@') ? readdirSync(join(root, 'node_modules', name)).map((inner) => `${name}/${inner}`) : [name],
);
const nodeModules = [
  ...readdirSync(join(root, 'node_modules'))
    .filter((name) => name.startsWith('.'))
    .map((name) => `node_modules/${name}`),
  ...installed.flatMap((name) =>
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
  ),
];

const tree = [...filesUnder(root, new Set(['node_modules', '.git', 'dist'])), ...dist, ...nodeModules];

describe('the deployment package', () => {
  const readers = { 'Core Tools': coreToolsAccepts(funcignore), azd: gitignoreAccepts(funcignore) };

  for (const [reader, accepts] of Object.entries(readers)) {
    it(`holds dist/, host.json, package.json and package-lock.json, no node_modules and nothing else, as ${reader} reads .funcignore`, () => {
      const kept = tree.filter(accepts);
      // A config file at the root ships on purpose (docs/deploying.md, "A config file": WATCH_CONFIG).
      const config = existsSync(join(root, 'watch-config.json')) ? ['watch-config.json'] : [];
      const expected = [
        ...dist.filter((f) => !f.endsWith('.js.map')),
        'host.json',
        'package-lock.json',
        'package.json',
        ...config,
      ].sort();
      // A file here that should not ship: add it to .funcignore (anchored at the root: /name).
      expect(kept.sort()).toEqual(expected);
      expect(nodeModules.length).toBeGreaterThan(500);
      expect(nodeModules.filter(accepts)).toEqual([]);
    });
  }

  it('finds the functions where package.json main says they are', () => {
    const main = new RegExp(`^${pkg.main.replace(/\./g, '\\.').replace(/\*/g, '[^/]+')}$`);
    const functions = sources('functions').map((f) => `dist/${f.replace(/\.ts$/, '.js')}`);
    expect(functions.length).toBeGreaterThan(0);
    expect(functions.every((f) => main.test(f) && readers['Core Tools'](f))).toBe(true);
    expect(main.test(BUNDLE) && readers['Core Tools'](BUNDLE) && readers.azd(BUNDLE)).toBe(true);
  });

  it("bundles every package the code imports at run time: only the worker's own @azure/functions-core stays outside", () => {
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
    // esbuild bundles all of them (an unresolvable one fails `npm run bundle`); nothing is left for node_modules.
    expect(NODE_BUNDLE.external).toEqual(['@azure/functions-core']);
    // Declared, so that `npm ci --omit=dev` still runs the CLI (npm run cycle, doctor) from the sources.
    expect([...runtimeImports].filter((name) => !(name in pkg.dependencies))).toEqual([]);
  });

  it('is read the same way by both, because every pattern is anchored at the root', () => {
    expect(() => gitignoreAccepts('lib')).toThrow(/not anchored/);
    expect(coreToolsAccepts('*.ts')('lib/app.ts')).toBe(true); // Core Tools: `*.ts` is the root only
    expect(gitignoreAccepts('/lib')('node_modules/x/lib/index.js')).toBe(true);
    expect(coreToolsAccepts('/lib')('node_modules/x/lib/index.js')).toBe(true);
    expect(coreToolsAccepts('/lib')('lib/app.ts')).toBe(false);
    expect(statSync(join(root, '.funcignore')).isFile()).toBe(true);
  });

  it('leaves out what node_modules holds but not the folder itself, so azd keeps `remoteBuild: false`', () => {
    // azd refuses `remoteBuild: false` when .funcignore matches the directory `node_modules`
    // (azure-dev resolveFunctionAppRemoteBuild); a remote build would run `npm run build` without the sources.
    expect(readFileSync(join(root, 'azure.yaml'), 'utf8')).toMatch(/^\s+remoteBuild: false$/m);
    expect(gitignoreAccepts(funcignore)('node_modules')).toBe(true);
    expect(gitignoreAccepts('/node_modules')('node_modules')).toBe(false);
    expect(gitignoreAccepts(funcignore)('node_modules/@azure/functions/package.json')).toBe(false);
    expect(coreToolsAccepts(funcignore)('node_modules/@azure/functions/package.json')).toBe(false);
  });
});
