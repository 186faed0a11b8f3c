/**
 * `npm run bundle`: the deployment's dist/ as one esbuild bundle, dist/functions/app.js (every
 * function of functions/, their dependencies inside), instead of tsc's files and node_modules. A
 * cold start then reads one file instead of hundreds of modules: the bench measured the first
 * request of a timer invocation at 274 ms from a new process instead of 562 ms (docs/scale.md,
 * "Cold start"; bench/results.json). azd runs it after `npm run build` (azure.yaml, prepackage); with Core Tools, run it
 * before `func azure functionapp publish`. package.json `main` (dist/functions/*.js) finds it.
 * `@azure/functions-core` stays outside: the Functions host gives it to the worker at run time.
 */
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, type BuildOptions } from 'esbuild';

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

/** Bundles every function file of `root`/functions into `outfile`. */
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
}

/**
 * The node_modules a bundle in `dir` finds at run time, as the deployment has them: the host's
 * `@azure/functions-core` (given: a stand-in that records, or ignores, what registers) and the
 * Kusto language service, loaded from there when a config has KQL rules (lib/config/kql-check.ts),
 * linked from this project's node_modules.
 */
export function runtimeModules(root: string, dir: string, functionsCore: string): void {
  mkdirSync(join(dir, 'node_modules', '@azure', 'functions-core'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', '@azure', 'functions-core', 'index.js'), functionsCore);
  mkdirSync(join(dir, 'node_modules', '@kusto'), { recursive: true });
  symlinkSync(
    join(root, 'node_modules', '@kusto', 'language-service-next'),
    join(dir, 'node_modules', '@kusto', 'language-service-next'),
  );
}

if (require.main === module) {
  const root = resolve(__dirname, '..');
  // tsc's files must go: `main` would load the functions twice.
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  bundleFunctions(root, join(root, 'dist', 'functions', 'app.js')).then(
    () => console.log('dist/functions/app.js written'),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
