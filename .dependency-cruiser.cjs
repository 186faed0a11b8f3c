// @ts-check
/* global module */
/**
 * The floors of the product, enforced (`npm run layers`, part of `npm run lint`; docs/architecture.md
 * draws them). A module imports from its own floor (as the rules below allow) and the floors under
 * it, never from one above; there are no import cycles, type-only imports included.
 *
 *   entry      functions/, lib/cli/             the Function App's functions and the commands
 *   app        lib/app.ts                       the composition root: settings → dependencies
 *   cycle      lib/cycle/, lib/fanout/, lib/status/, lib/doctor/   compositions of the stages
 *   config     lib/config/                      the config file → Policy (knows both registries)
 *   stages     lib/observe/ … lib/notify/       in pipeline order (STAGES below)
 *   adapters   lib/clients/, lib/store/         Graph, ACS, Logs, HTTP posts; Table Storage
 *   settings   lib/settings/                    the app settings
 *   ground     lib/model/, lib/util/            the types every stage speaks; small helpers
 */

/** The stages of a cycle in pipeline order: a stage may import the stages before it, never those after. */
const STAGES = [
  'observe',
  'evaluate',
  'reconcile',
  'inhibit',
  'silence',
  'snooze',
  'actions',
  'dispatch',
  'acknowledge',
  'digest',
  'notify',
];

/** Bottom to top. */
const FLOORS = [
  ['ground', '^lib/(model|util)/'],
  ['settings', '^lib/settings/'],
  ['adapters', '^lib/(clients|store)/'],
  ['stages', `^lib/(${STAGES.join('|')})/`],
  ['config', '^lib/config/'],
  ['cycle', '^lib/(cycle|fanout|status|doctor)/'],
  ['app', '^lib/app\\.ts$'],
  ['entry', '^(functions/|lib/cli/)'],
];

/** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
const forbidden = [
  {
    name: 'no-cycles',
    comment: 'An import cycle, even through type-only imports, is two modules that cannot be understood apart.',
    severity: 'error',
    from: {},
    to: { circular: true },
  },
  {
    name: 'no-loose-files',
    comment: 'lib/ has one folder per stage and per floor; only the composition root lies at its top.',
    severity: 'error',
    from: {},
    to: { path: '^lib/[^/]+$', pathNot: '^lib/app\\.ts$' },
  },
  {
    name: 'no-loose-files-importing',
    comment: 'lib/ has one folder per stage and per floor; only the composition root lies at its top.',
    severity: 'error',
    from: { path: '^lib/[^/]+$', pathNot: '^lib/app\\.ts$' },
    to: {},
  },
  {
    name: 'model-is-the-ground',
    comment: 'lib/model/ speaks only of itself: the types and policy every floor may import.',
    severity: 'error',
    from: { path: '^lib/model/' },
    to: { path: '^lib/', pathNot: '^lib/model/' },
  },
  {
    name: 'product-not-to-tests-or-tools',
    comment: 'The product never imports the tests, the emulators, the scripts or the infra hooks.',
    severity: 'error',
    from: { path: '^(lib|functions)/' },
    to: { path: '^(test|emulators|scripts|infra|bench)/' },
  },
  {
    name: 'product-not-to-dev-dependencies',
    comment: 'What is deployed uses only dependencies the deployment installs (npm prune --omit=dev).',
    severity: 'error',
    from: { path: '^(lib|functions)/' },
    to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
  },
  {
    name: 'adapters-apart',
    comment: 'Clients (Graph, ACS, Logs, HTTP) and stores (Table Storage) do not build on each other.',
    severity: 'error',
    from: { path: '^lib/(clients|store)/' },
    to: { path: '^lib/(clients|store)/', pathNot: '^lib/$1/' },
  },
  {
    name: 'cycle-floor-apart',
    comment:
      'The fan-out serves the cycle (it may import lib/cycle/); the cycle, the status view and the doctor import neither it nor each other.',
    severity: 'error',
    from: { path: '^lib/(cycle|status|doctor)/' },
    to: { path: '^lib/(cycle|fanout|status|doctor)/', pathNot: '^lib/$1/' },
  },
];

const ON_A_FLOOR = FLOORS.map(([, path]) => path);
forbidden.push(
  {
    name: 'every-folder-on-a-floor',
    comment: 'A new folder of lib/ takes its place in FLOORS (and, for a stage, in STAGES) before it is used.',
    severity: 'error',
    from: { path: '^lib/', pathNot: ON_A_FLOOR },
    to: {},
  },
  {
    name: 'every-folder-on-a-floor-imported',
    comment: 'A new folder of lib/ takes its place in FLOORS (and, for a stage, in STAGES) before it is used.',
    severity: 'error',
    from: {},
    to: { path: '^lib/[^/]+/', pathNot: ON_A_FLOOR },
  },
);

FLOORS.forEach(([name, path], i) => {
  const above = FLOORS.slice(i + 1).map(([, p]) => p);
  if (above.length > 0)
    forbidden.push({
      name: `${name}-not-up`,
      comment: `The ${name} floor imports only from itself and the floors under it.`,
      severity: 'error',
      from: { path },
      to: { path: above },
    });
});

STAGES.forEach((stage, i) => {
  const later = STAGES.slice(i + 1);
  if (later.length > 0)
    forbidden.push({
      name: `${stage}-not-to-later-stages`,
      comment: `The ${stage} stage comes before ${later.join(', ')} in a cycle: it does not import them.`,
      severity: 'error',
      from: { path: `^lib/${stage}/` },
      to: { path: `^lib/(${later.join('|')})/` },
    });
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden,
  options: {
    // Type-only imports count: a type from a floor above is a dependency on it all the same.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|\\.stryker-tmp|coverage|reports)/' },
  },
};
