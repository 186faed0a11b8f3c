import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { AAD_PROVISIONING_LOGS } from './kql-schema';

/**
 * The config's KQL rules, checked when the config loads with Microsoft's Kusto language service
 * (`@kusto/language-service-next`, the JavaScript build of microsoft/Kusto-Query-Language's
 * parser and analyser) against the `AADProvisioningLogs` schema (kql-schema.ts): a typo, an
 * unknown column, table or function fails the config with its line and column, before the query
 * ever reaches a workspace.
 *
 * The service is big (4.2 MB of minified JavaScript over a 1 MB runtime) and slow to start: the
 * Function App's process starts in 1.6 s of CPU and 158 MB with it instead of 86 ms and 59 MB, a
 * further distinct query takes about 11 ms (docs/configuration.md, "KQL rules"; measured by
 * scripts/kql-check-cost.ts). So it is loaded only when a config has KQL rules, at most once per
 * process, and each distinct query is analysed once per process.
 */

/** One error the language service found in a query: where (1-based line and column) and what. */
export interface KqlDiagnostic {
  /** The service's code, e.g. `KS142` (unknown name). */
  code: string;
  message: string;
  line: number;
  column: number;
  /** The text it is about (may be empty, e.g. a missing operator at the end). */
  text: string;
}

/** The version whose generated names (`$ctor7`, `ctor`) this module calls: package.json pins it exactly. */
const PACKAGE = '@kusto/language-service-next';

/**
 * The two scripts of the service that are loaded, in order: its minified builds (the same code as
 * the plain ones, 60 MB less memory, measured). The first defines the global `Bridge` the second needs.
 */
export const KUSTO_SCRIPTS = ['bridge.min.js', 'Kusto.Language.Bridge.min.js'] as const;

/**
 * Where the deployment finds them: `npm run bundle` (scripts/bundle.ts) copies them from
 * node_modules to dist/kusto/, beside the bundle's dist/functions/, because the package ships no
 * node_modules (.funcignore). Kept out of the bundle itself: inside it they would add 4.8 MB, 77 ms
 * and 20 MB to every cold start, KQL rules or not (docs/configuration.md, "KQL rules").
 */
export function kustoBesideBundle(bundleDir: string): string {
  return join(bundleDir, '..', 'kusto');
}

// ---- the little of the service's API used here (its .d.ts declares global namespaces) ---------------

interface BridgeList {
  readonly Count: number;
}
interface KustoDiagnostic {
  Code: string;
  Severity: string;
  Message: string;
  Start: number;
  Length: number;
}
interface KustoCode {
  GetDiagnostics(): BridgeList;
  TryGetLineAndOffset(position: number, line: { v: number }, offset: { v: number }): boolean;
}
interface KustoApi {
  Bridge: { toArray<T>(list: BridgeList): T[] };
  Kusto: {
    Language: {
      KustoCode: { ParseAndAnalyze(text: string, globals: unknown): KustoCode };
      GlobalState: { Default: { WithDatabase(database: unknown): unknown } };
      Symbols: {
        TableSymbol: { $ctor7: new (name: string, schema: string, description: string | null) => unknown };
        DatabaseSymbol: { ctor: new (name: string, members: unknown[]) => unknown };
      };
    };
  };
}

interface Analyzer {
  api: KustoApi;
  globals: unknown;
}

let analyzer: Analyzer | undefined;

/**
 * Loads the language service (two scripts that define the globals `Bridge` and `Kusto`) and the
 * global state that knows AADProvisioningLogs, once per process.
 */
function loadAnalyzer(): Analyzer {
  if (analyzer) return analyzer;
  // In the deployment, beside the bundle (this file is then dist/functions/app.js); from the sources
  // (npm run cycle, doctor, the tests) or any other bundle, from node_modules.
  const beside = kustoBesideBundle(__dirname);
  const deployed = existsSync(join(beside, KUSTO_SCRIPTS[0]));
  try {
    const load = createRequire(__filename);
    for (const script of KUSTO_SCRIPTS) load(deployed ? join(beside, script) : `${PACKAGE}/${script}`);
  } catch (error) {
    const where = deployed
      ? `${beside} is incomplete: run npm run bundle again`
      : `it is a dependency of this app, run npm install (a deployment carries it in dist/kusto/, written by npm run bundle)`;
    throw new Error(
      `the KQL rules cannot be checked: ${PACKAGE} could not be loaded (${(error as Error).message.split('\n')[0]}); ${where}`,
    );
  }
  const api = globalThis as unknown as KustoApi;
  const language = api.Kusto.Language;
  const columns = Object.entries(AAD_PROVISIONING_LOGS.columns)
    .map(([name, type]) => `${name}:${type}`)
    .join(', ');
  const table = new language.Symbols.TableSymbol.$ctor7(AAD_PROVISIONING_LOGS.table, `(${columns})`, null);
  const database = new language.Symbols.DatabaseSymbol.ctor('workspace', [table]);
  analyzer = { api, globals: language.GlobalState.Default.WithDatabase(database) };
  return analyzer;
}

/** What a diagnostic means for someone who writes rules against this table, when the service's own words are not enough. */
function hint(diagnostic: KqlDiagnostic): string {
  if (diagnostic.code === 'KS142' && diagnostic.text === 'Action')
    return ` (the table's column is ProvisioningAction: Microsoft's sample queries say Action, which its published schema does not have)`;
  if (diagnostic.code === 'KS204')
    return ` (the rules are checked against ${AAD_PROVISIONING_LOGS.table}, the table Entra's provisioning logs are routed to, and know no other)`;
  if (diagnostic.code === 'KS211' && /^(workspace|app|resource)$/i.test(diagnostic.text))
    return ` (cross-resource queries are not checked: a rule runs in the workspace LOG_ANALYTICS_WORKSPACE_ID names)`;
  return '';
}

/** `line 1, column 76: The name 'BogusColumn' does not refer to any known column, table, variable or function. (KS142)` */
export function describeKqlDiagnostic(diagnostic: KqlDiagnostic): string {
  return `line ${diagnostic.line}, column ${diagnostic.column}: ${diagnostic.message}${hint(diagnostic)} (${diagnostic.code})`;
}

/** Queries analysed in this process, by their text. */
const checked = new Map<string, KqlDiagnostic[]>();
/** Distinct queries remembered (a config holds a few; a process that reloads many configs keeps the latest). */
const CHECKED_MAX = 500;

/**
 * The errors the Kusto language service finds in `query` against AADProvisioningLogs (warnings and
 * suggestions are not errors and are left out); empty when it finds none. Each distinct query is
 * analysed once per process. Throws when the language service cannot be loaded.
 */
export function kqlErrors(query: string): KqlDiagnostic[] {
  const known = checked.get(query);
  if (known) return known;
  const { api, globals } = loadAnalyzer();
  const code = api.Kusto.Language.KustoCode.ParseAndAnalyze(query, globals);
  const errors = api.Bridge.toArray<KustoDiagnostic>(code.GetDiagnostics())
    .filter((d) => d.Severity === 'Error')
    .map((d) => {
      const line = { v: 0 };
      const column = { v: 0 };
      code.TryGetLineAndOffset(d.Start, line, column);
      return {
        code: d.Code,
        message: d.Message,
        line: line.v,
        column: column.v,
        text: query.substr(d.Start, d.Length),
      };
    });
  if (checked.size >= CHECKED_MAX) checked.delete(checked.keys().next().value as string);
  checked.set(query, errors);
  return errors;
}
