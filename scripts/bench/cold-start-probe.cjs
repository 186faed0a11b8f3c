/* global require, performance, setInterval, clearInterval */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain CommonJS script, as the Functions worker loads the app */
// One cold start, measured from inside a fresh Node process (plain JavaScript: no loader of ours):
// the Functions host's worker loads the app's function files, then a timer invocation runs until
// the first outbound HTTP request leaves (here Table Storage: the cycle's first step). Prints one
// line `result {json}`; times are milliseconds since the process started.
//   node scripts/bench/cold-start-probe.cjs <function file>...
const dc = require('node:diagnostics_channel');
const started = performance.now();
let first;
const mark = (via) => () => {
  first ??= { at: performance.now(), via };
};
dc.subscribe('http.client.request.start', mark('http'));
dc.subscribe('undici:request:create', mark('fetch'));
const files = process.argv.slice(2);
const modules = files.map((file) => require(file));
const loaded = performance.now();
const watch = modules.map((m) => m.watch).find(Boolean);
const quiet = { log() {}, info() {}, warn() {}, error() {} };
const timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};
const done = watch(timer, quiet).catch((error) => error);
const wait = setInterval(() => {
  if (!first) return;
  clearInterval(wait);
  console.log(
    `result ${JSON.stringify({ started, loaded, firstRequest: first.at, via: first.via, heapMiB: Math.round(process.memoryUsage().heapUsed / 1048576) })}`,
  );
  process.exit(0);
}, 1);
done.then(() => {
  if (!first) {
    console.log('result {"error":"the cycle ended without an outbound request"}');
    process.exit(1);
  }
});
