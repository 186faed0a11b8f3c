/* global require, performance */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS script, as the Functions worker is */
/**
 * `node scripts/functions-worker-stand-in.cjs <app dir>`: loads a Function App's code the way the
 * Azure Functions Node.js worker does at start, without the host, and prints one JSON line:
 * `{"registered":[{"name":"watch","trigger":"timerTrigger"},...],"wallMs":..,"cpuMs":..,"rssMB":..}`.
 *
 * What it copies from the worker (Azure/azure-functions-nodejs-worker, v3.x, src/):
 * - setupCoreModule.ts: `@azure/functions-core` is not a package anywhere on disk; the worker wraps
 *   `Module.prototype.require` and answers that one name with its API (registerFunction,
 *   setProgrammingModel, ...). A bundle that resolved it any other way (bundled in, or an ESM
 *   `import` esbuild cannot turn into `require`) would register nothing: @azure/functions v4 then
 *   only warns that it is "in test mode".
 * - startApp.ts, loadScriptFile.ts: the entry points are the files package.json `main` matches (a
 *   glob, relative to the app's folder), each loaded with `require` (not ESM: no .mjs, no "type").
 *
 * And one thing the worker does not do: any module resolved from outside `<app dir>` (a
 * node_modules of a parent folder, this project's own) is refused, so that what loads here is what
 * the deployment package alone can load. The rest of the worker (gRPC to the host, invocations) is
 * not stood in for.
 */
'use strict';
const Module = require('node:module');
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join, relative, isAbsolute, sep } = require('node:path');

const appDir = process.argv[2];
if (!appDir || !existsSync(join(appDir, 'package.json'))) {
  console.error('usage: node scripts/functions-worker-stand-in.cjs <folder with package.json>');
  process.exit(2);
}

const inside = (path) => {
  const rel = relative(appDir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
};

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const resolved = resolveFilename.call(this, request, parent, ...rest);
  if (Module.isBuiltin(resolved) || !parent?.filename || !inside(parent.filename) || inside(resolved)) return resolved;
  const error = new Error(`Cannot find module '${request}' in the package (found only outside it, at ${resolved})`);
  error.code = 'MODULE_NOT_FOUND';
  throw error;
};

const registered = [];
const coreApi = {
  version: '3.10.1',
  hostVersion: '4.1040.0',
  registerFunction(metadata) {
    const trigger = Object.values(metadata.bindings).find((b) => b.direction === 'in' && /Trigger$/.test(b.type));
    registered.push({ name: metadata.name, trigger: trigger?.type });
    return { dispose() {} };
  },
  registerHook: () => ({ dispose() {} }),
  setProgrammingModel() {},
  getProgrammingModel: () => undefined,
  log() {},
  Disposable: class {
    dispose() {}
  },
};
Module.prototype.require = new Proxy(Module.prototype.require, {
  apply(target, thisArg, args) {
    return args[0] === '@azure/functions-core' ? coreApi : Reflect.apply(target, thisArg, args);
  },
});

/** The files `main` matches: `*` within one path segment, as globby does; nothing else is needed here. */
function entryPoints(pattern) {
  if (/\*\*|[?[{]/.test(pattern)) throw new Error(`package.json main ${pattern}: only * is understood here`);
  let paths = [''];
  for (const segment of pattern.split('/')) {
    const matcher = new RegExp(`^${segment.replace(/[.+^$()|\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    paths = paths.flatMap((dir) => {
      const folder = join(appDir, dir);
      if (!segment.includes('*')) return existsSync(join(folder, segment)) ? [join(dir, segment)] : [];
      return existsSync(folder)
        ? readdirSync(folder)
            .filter((f) => matcher.test(f))
            .map((f) => join(dir, f))
        : [];
    });
  }
  return paths.sort();
}

const { main } = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'));
const files = entryPoints(main);
if (files.length === 0) throw new Error(`package.json main ${main}: no file matches in ${appDir}`);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (const file of files) require(join(appDir, file.split('/').join(sep)));
const cpu = process.cpuUsage(cpu0);
console.log(
  JSON.stringify({
    registered,
    wallMs: performance.now() - t0,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rssMB: process.memoryUsage().rss / 1048576,
  }),
);
