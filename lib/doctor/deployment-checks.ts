import { describeLogProblem } from '../observe/errors';
import { randomUUID } from 'node:crypto';
import type { TableClient } from '@azure/data-tables';
import type { Mailer } from '../clients/mailer';
import { AZURE_ROLES } from '../clients/permissions';
import { SEND_BUDGETS, type EmailDomainKind, type Policy } from '../model/policy';
import { runKqlRules, type LogsQuerier } from '../observe/log-analytics';
import { stored, tableCreator } from '../store/table';
import type { CheckRow } from './report';

/**
 * The checks of the deployment as a whole: the config file (its KQL rules through the Kusto
 * language service), Table Storage, the ACS sender, and each KQL rule in the workspace.
 */

/** The config as the doctor loaded it: its policy, or what is wrong with it (then the defaults stand in, if any). */
export interface ConfigCheck {
  /** The file (WATCH_CONFIG); absent when there is none. */
  path?: string;
  policy?: Policy;
  /** What is wrong, each with its JSON path (ConfigError's list); absent when it is valid. */
  problems?: string[];
}

const roleFor = (neededBy: string): string => AZURE_ROLES.find((r) => r.neededBy === neededBy)?.name ?? 'its role';

/** The config's row; `alone` when nothing else is checked (the deploy's check), else the others follow the defaults of a bad one. */
export function configRow(config: ConfigCheck, alone = false): CheckRow {
  const where = config.path ?? 'no config file (WATCH_CONFIG is not set)';
  if (config.problems)
    return {
      check: 'config',
      status: 'fail',
      needed: true,
      result: `${where}: ${config.problems.length} problem(s):\n${config.problems.join('\n')}${alone ? '' : '\n(the other checks follow the defaults)'}`,
      fix: `Correct ${config.path ?? 'the config'} at the paths named`,
    };
  const rules = config.policy?.kqlRules?.length ?? 0;
  return {
    check: 'config',
    status: 'ok',
    needed: true,
    result: `${where}: valid${rules > 0 ? `; ${rules} KQL rule(s) pass the Kusto language service's check against AADProvisioningLogs` : ''}`,
  };
}

/** Table Storage as the monitor uses it: its state table created if need be, a probe row written, read and deleted. */
export async function tableStorageRow(table: TableClient, now: Date): Promise<CheckRow> {
  const what = "the doctor's probe row";
  const key = { partitionKey: 'doctor', rowKey: randomUUID() };
  try {
    await tableCreator(table)();
    await stored(table, what, () => table.createEntity({ ...key, at: now.toISOString() }));
    const read = await stored(table, what, () => table.getEntity<{ at?: string }>(key.partitionKey, key.rowKey));
    if (read.at !== now.toISOString()) throw new Error('the probe row read back is not the one written');
    await stored(table, what, () => table.deleteEntity(key.partitionKey, key.rowKey));
  } catch (error) {
    return {
      check: 'table-storage',
      status: 'fail',
      needed: true,
      result: (error as Error).message,
      fix: `Check AzureWebJobsStorage (or AzureWebJobsStorage__tableServiceUri) and that the monitor's identity holds ${roleFor('@azure/data-tables')} on the storage account`,
    };
  }
  return {
    check: 'table-storage',
    status: 'ok',
    needed: true,
    result: `wrote, read and deleted a row in table ${table.tableName}`,
  };
}

/** The sender: its address, the kind of its domain and the limits ACS keeps for that kind. */
export interface SenderCheck {
  address: string;
  domainKind: EmailDomainKind;
  /** ACS_EMAIL_DOMAIN_KIND as set, if it is (otherwise the kind is inferred from the address). */
  kindSetting?: string;
  /** How the monitor reaches ACS: which setting to check when ACS refuses it. */
  auth: 'connection string' | 'identity';
  budget: Policy['budget'];
  mailer: Pick<Mailer, 'status'>;
}

const MANAGED_DOMAIN = /\.azurecomm\.net$/i;

/**
 * The sender's domain kind and its limits, and ACS taking the credential: asking the status of a
 * send that never happened is answered 404 by an ACS that accepted the credential (401 or 403
 * otherwise; the REST spec declares only a default error, the 404 is what the service answers:
 * Azure/azure-sdk-for-python#35849). Nothing is sent: only a send proves the sender address itself.
 */
export async function acsSenderRow(sender: SenderCheck): Promise<CheckRow> {
  const limits = SEND_BUDGETS[sender.domainKind];
  const kind =
    sender.domainKind === 'managed'
      ? `Azure-managed domain (${sender.kindSetting ? 'ACS_EMAIL_DOMAIN_KIND' : '*.azurecomm.net'}): ACS allows ${limits.perMinute} emails a minute, ${limits.perHour} an hour per subscription, never more`
      : `custom domain (${sender.kindSetting ? 'ACS_EMAIL_DOMAIN_KIND' : 'not *.azurecomm.net'}): ACS allows ${limits.perMinute} emails a minute, ${limits.perHour} an hour per subscription until a support request raises it`;
  const base = `${sender.address}, ${kind}`;
  try {
    await sender.mailer.status(randomUUID());
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    const refused = status === 401 || status === 403;
    return {
      check: 'acs-sender',
      status: 'fail',
      needed: true,
      result: `${base}; asking ACS the status of a send: ${status ? `${status} ` : ''}${(error as Error).message.split('\n')[0]}`,
      fix: refused
        ? sender.auth === 'connection string'
          ? 'Check the access key in ACS_CONNECTION_STRING (Communication Services resource > Keys)'
          : `Give the monitor's identity ${roleFor('@azure/communication-email')} on the Communication Services resource of ACS_ENDPOINT`
        : 'Check ACS_ENDPOINT or ACS_CONNECTION_STRING: ACS must be reachable from the app',
    };
  }
  const result = `${base}; ACS took the credential (the status of no send: not found); only a send proves the address`;
  if (sender.kindSetting === 'custom' && MANAGED_DOMAIN.test(sender.address))
    return {
      check: 'acs-sender',
      status: 'warn',
      needed: true,
      result: `${result}. But the address is on an Azure-managed domain, which ACS limits to ${SEND_BUDGETS.managed.perMinute} a minute and ${SEND_BUDGETS.managed.perHour} an hour`,
      fix: 'Remove ACS_EMAIL_DOMAIN_KIND (the address tells the kind), or send from your own domain',
    };
  if (sender.budget.perMinute > limits.perMinute || sender.budget.perHour > limits.perHour)
    return {
      check: 'acs-sender',
      status: 'warn',
      needed: true,
      result: `${result}. The config's sendBudget (${sender.budget.perMinute} a minute, ${sender.budget.perHour} an hour) is above that: ACS refuses the sends past its limits with 429`,
      fix: `Lower sendBudget to ${limits.perMinute} and ${limits.perHour}${sender.domainKind === 'custom' ? ', unless Microsoft raised your limits' : ''}`,
    };
  return { check: 'acs-sender', status: 'ok', needed: true, result };
}

/** How far back a KQL rule's query runs in the doctor: enough to prove it runs, cheap enough to run at once. */
const KQL_PROBE_SPAN_MS = 5 * 60_000;

/** Each KQL rule run once in the workspace over the last five minutes: it runs, and the identity may read. */
export async function kqlRows(
  policy: Policy,
  workspace: { client: LogsQuerier; workspaceId: string } | undefined,
): Promise<CheckRow[]> {
  const rules = policy.kqlRules ?? [];
  if (rules.length === 0 || !workspace) return [];
  const outcomes = await runKqlRules(
    workspace.client,
    workspace.workspaceId,
    rules.map((r) => ({ ...r, timeSpanMs: KQL_PROBE_SPAN_MS })),
    { queryTimeoutMs: 30_000, serverTimeoutSeconds: 25 },
  );
  return outcomes.map(({ rule, answer, problem }): CheckRow => {
    const base = { check: `kql:${rule.name}` as const, tenant: rule.labels.tenant, needed: true };
    const checked = `${rule.labels.tenant ? `for tenant ${rule.labels.tenant}: ` : ''}the Kusto language service finds no error`;
    if (answer)
      return {
        ...base,
        status: 'ok',
        result: `${checked}; workspace ${workspace.workspaceId} ran it over the last 5 minutes: ${answer.rows.length} row(s)`,
      };
    const said = describeLogProblem(problem!);
    if (problem!.code === 'EmulatorUnsupported')
      return {
        ...base,
        status: 'warn',
        result: `${checked}; the Log Analytics emulator does not run it: ${said}`,
        fix: 'Nothing to do for a real workspace: the emulator runs a subset of KQL (emulators/README.md)',
      };
    return {
      ...base,
      status: 'fail',
      result: `${checked}; the workspace did not run it: ${said}`,
      fix:
        problem!.kind === 'access'
          ? `Give the monitor's identity ${roleFor('@azure/monitor-query-logs')} on workspace ${workspace.workspaceId}`
          : problem!.kind === 'query-error'
            ? "Correct the rule's query in the config (the workspace's words above)"
            : 'Run the doctor again',
    };
  });
}
