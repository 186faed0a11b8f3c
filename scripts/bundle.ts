/**
 * `npm run bundle`: the deployment's dist/ as one esbuild bundle, dist/functions/app.js (every
 * function of functions/, their dependencies inside), instead of tsc's files and node_modules. A
 * cold start then reads one file instead of hundreds of modules: the bench measured the first
 * request of a timer invocation at 274 ms from a new process instead of 562 ms (docs/scale.md,
 * "Cold start"; bench/results.json). azd runs it after `npm run build` (azure.yaml, prepackage); with Core Tools, run it
 * before `func azure functionapp publish`. package.json `main` (dist/functions/*.js) finds it.
 *
 * The package ships no node_modules (.funcignore): everything the app needs at run time is in
 * dist/. `@azure/functions` (the v4 programming model) is bundled: the worker brings only its own
 * v3 copy. `@azure/functions-core` stays outside: it is no package at all, the worker answers
 * `require('@azure/functions-core')` itself (scripts/functions-worker-stand-in.cjs does the same in
 * the tests). The Kusto language service's two scripts are copied beside the bundle, to dist/kusto/,
 * and loaded from there only for a config with KQL rules (lib/config/kql-check.ts).
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { KUSTO_SCRIPTS, kustoBesideBundle } from '../lib/config/kql-check';

/**
 * esbuild options for a Node bundle of this app. Some Azure SDK packages ship ESM that reads
 * `import.meta.url` (@azure/storage-common): in a CommonJS bundle it is given the bundle's own URL.
 */
export const NODE_BUNDLE = {
  bundle: true,
  platform: 'node' as const,
  target: 'node20',
  format: 'cjs' as const,
  logLevel: 'warning' as const,
  external: ['@azure/functions-core'],
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
} satisfies BuildOptions;

/**
 * Bundles every function file of `root`/functions into `outfile`, and copies the Kusto language
 * service's scripts from `root`'s node_modules to where the bundle looks for them (../kusto/).
 */
export async function bundleFunctions(root: string, outfile: string, options: BuildOptions = {}): Promise<void> {
  const functions = readdirSync(join(root, 'functions'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => f.replace(/\.ts$/, ''));
  await build({
    ...NODE_BUNDLE,
    stdin: {
      contents: functions.map((f) => `export * from './functions/${f}';`).join('\n'),
      resolveDir: root,
      loader: 'ts',
    },
    outfile,
    // As measured (docs/scale.md, "Cold start"); error messages, not stack traces, are what the app reports.
    minify: true,
    ...options,
  });
  const kusto = kustoBesideBundle(dirname(outfile));
  mkdirSync(kusto, { recursive: true });
  for (const script of [...KUSTO_SCRIPTS, 'package.json'])
    copyFileSync(join(root, 'node_modules', '@kusto', 'language-service-next', script), join(kusto, script));
}

if (require.main === module) {
  const root = resolve(__dirname, '..');
  // tsc's files must go: `main` would load the functions twice.
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  bundleFunctions(root, join(root, 'dist', 'functions', 'app.js')).then(
    () => console.log('dist/functions/app.js and dist/kusto/ written'),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
