import type { ActionsReadiness } from '../actions/readiness';
import type { AccessToken } from '@azure/core-auth';
import type { GraphReader } from '../clients/graph';
import { GRAPH_APPLICATION_PERMISSIONS, SECRETS_READ, SECRETS_READ_FIX } from '../clients/permissions';
import { tokenIsDelegated, tokenRoles, tokenTenant } from '../clients/tenant-check';
import type { AccessProblem, ServicePrincipalRef } from '../model/observation';
import type { LogProblem } from '../model/provisioning';
import { readInBatches } from '../observe/batch-reads';
import {
  classifyError,
  describeLogProblem,
  describeProblem,
  graphErrorBody,
  problemFromStatus,
  TENANT_MISMATCH,
} from '../observe/errors';
import { queryRows, logAnalyticsProblem, type LogsQuerier } from '../observe/log-analytics';
import { normalizeServicePrincipal } from '../observe/normalize';
import { createGraphEventSource, graphLogProblem } from '../observe/provisioning-logs';
import { parseSecrets } from '../observe/secrets';
import { EARLY_WARNING_RULES, type TenantNeeds } from './needs';
import { failed, type CheckName, type CheckRow } from './report';

/**
 * The checks of one watched tenant, each the cheapest read that proves what the monitor does there:
 * a token (its `tid` checked), one page of service principals, the jobs of a few configurations in
 * one $batch, one configuration's synchronization secrets, one provisioning event (with and without
 * the failure filter the monitor sends), or one Log Analytics row.
 */

type Permission = keyof typeof GRAPH_APPLICATION_PERMISSIONS;

export interface TenantProbe {
  /** As WATCH_TENANTS gives it (a tenant ID or a domain). */
  tenantId: string;
  tenantName?: string;
  needs: TenantNeeds;
  /** A Graph token for this tenant, its `tid` checked against the tenant asked for (lib/clients/tenant-check.ts). */
  token(): Promise<AccessToken | null>;
  graph: GraphReader;
  /** The admin-consent link of the app this tenant consents to; absent when the monitor signs in as a managed identity. */
  consentUrl?: string;
  /** Service principals with jobs the monitor found here before (its discovery cache); empty when it knows none. */
  known(): Promise<ServicePrincipalRef[]>;
  logAnalytics?: { client: LogsQuerier; workspaceId: string };
  /** The `actions` check, when decisions from alerts are on (WATCH_ACTIONS, issue 19). */
  actions?(): Promise<ActionsReadiness>;
  now: Date;
}

/** Configurations whose jobs are read to prove the permission: one $batch. */
const JOB_PROBES = 20;
/** A page of service principals: Graph's largest, as the daily sweep reads it. */
const SWEEP_PAGE = 999;

/** The fix for a missing Microsoft Graph application permission, by how the monitor signs in. */
function grant(permission: Permission, probe: TenantProbe): Pick<CheckRow, 'fix' | 'link'> {
  const what = `${permission} (${GRAPH_APPLICATION_PERMISSIONS[permission]})`;
  if (probe.consentUrl)
    return {
      fix: `Grant the app the Microsoft Graph application permission ${what}; an administrator of this tenant (Privileged Role Administrator) consents with the link`,
      link: probe.consentUrl,
    };
  return {
    fix: `Grant the managed identity the Microsoft Graph app role ${what} (docs/deploying.md, "Grant the Graph roles by hand"); a new token carries it`,
  };
}

function row(
  probe: TenantProbe,
  check: CheckName,
  fields: Omit<CheckRow, 'check' | 'tenant' | 'tenantName'>,
): CheckRow {
  return { check, tenant: probe.tenantId, tenantName: probe.tenantName, ...fields };
}

function skipped(probe: TenantProbe, check: CheckName, needed: boolean, why: string): CheckRow {
  return row(probe, check, { status: 'skipped', needed, result: why });
}

function off(probe: TenantProbe, check: CheckName, why: string): CheckRow {
  return row(probe, check, { status: 'off', needed: false, result: why });
}

// ---- sign-in ----------------------------------------------------------------------------------------

/** The fix for a token the authority would not give. */
function signInFix(problem: AccessProblem, probe: TenantProbe): Pick<CheckRow, 'fix' | 'link'> {
  if (problem.code === TENANT_MISMATCH)
    return {
      fix: probe.consentUrl
        ? 'Check WATCH_TENANTS and the app registration: the token must be issued by this tenant'
        : 'Watch other tenants through a multi-tenant app registration they consent to (WATCH_APP_CLIENT_ID; docs/deploying.md, "Many tenants without a secret (MSPs)")',
    };
  if (problem.likelyMissingPermission && probe.consentUrl)
    return {
      fix: 'An administrator of this tenant (Privileged Role Administrator) consents to the app with the link',
      link: probe.consentUrl,
    };
  if (problem.operation === 'tenant discovery' || problem.code === 'AADSTS90002')
    return { fix: 'Check WATCH_TENANTS: a tenant ID, or a verified domain of the tenant' };
  if (problem.kind === 'transient')
    return { fix: 'Run the doctor again; check that the authority (AZURE_AUTHORITY_HOST, AZURE_CLOUD) can be reached' };
  return {
    fix: 'Check how the monitor signs in: AZURE_TENANT_ID, AZURE_CLIENT_ID and its secret or certificate, or WATCH_APP_CLIENT_ID',
  };
}

async function signIn(probe: TenantProbe): Promise<{ row: CheckRow; roles?: string[] }> {
  try {
    const token = await probe.token();
    if (!token) throw new Error('the credential returned no token');
    if (tokenIsDelegated(token.token))
      return {
        row: row(probe, 'sign-in', {
          status: 'fail',
          needed: true,
          result:
            "the token is a person's (delegated), not the monitor's: off Azure, a managed identity is stood in for by your own sign-in (az login), so these checks would prove what you may do, not what the monitor may",
          fix: 'Run the doctor where the identity is: GET https://<function app>/api/doctor?code=<function key> (docs/deploying.md, "Check the deployment: npm run doctor")',
        }),
      };
    const roles = tokenRoles(token.token);
    const tid = tokenTenant(token.token);
    const granted = roles.length > 0 ? `app roles: ${roles.join(', ')}` : 'no app roles in the token';
    return {
      row: row(probe, 'sign-in', {
        status: 'ok',
        needed: true,
        result: `${tid && tid !== probe.tenantId.toLowerCase() ? `token of tenant ${tid}` : 'token'}${tid ? ' (its tid checked)' : ''}; ${granted}`,
      }),
      roles,
    };
  } catch (error) {
    const problem = classifyError(error, 'token');
    return {
      row: row(probe, 'sign-in', {
        status: 'fail',
        needed: true,
        result: describeProblem(problem),
        ...signInFix(problem, probe),
      }),
    };
  }
}

// ---- discovery and job status ---------------------------------------------------------------------------

interface Discovery {
  row: CheckRow;
  /** Service principals whose jobs are read, listed and known ones first. */
  candidates: ServicePrincipalRef[];
}

async function discovery(probe: TenantProbe): Promise<Discovery> {
  const needed = probe.needs.listed.length === 0;
  const listed = probe.needs.listed.map((id) => ({ id, appId: '', displayName: id }));
  // The cache lives in Table Storage: when that fails, its own check says so, and the page stands in.
  const known = await probe.known().catch(() => []);
  // With configurations to read already, a page of one proves the permission; otherwise a page finds some.
  const top = listed.length + known.length > 0 ? 1 : SWEEP_PAGE;
  let page: ServicePrincipalRef[];
  try {
    const body = (await probe.graph.get(
      `/servicePrincipals?$select=id,appId,displayName,applicationTemplateId&$top=${top}`,
    )) as { value?: unknown };
    if (!Array.isArray(body?.value)) throw new Error('the service principal list from Graph has no value array');
    page = body.value.map(normalizeServicePrincipal);
  } catch (error) {
    const problem = classifyError(error, 'servicePrincipals');
    return {
      row: failed({
        check: 'discovery',
        tenant: probe.tenantId,
        tenantName: probe.tenantName,
        needed,
        result: `${describeProblem(problem)}${needed ? '' : '; only the service principals the config lists are watched'}`,
        ...(problem.kind === 'access' ? grant('Application.Read.All', probe) : { fix: 'Run the doctor again' }),
      }),
      candidates: dedupe([...listed, ...known]),
    };
  }
  const templated = page.filter((sp) => sp.applicationTemplateId);
  const found =
    top === 1
      ? 'Graph lists the service principals'
      : `${page.length} service principal(s) on the first page, ${templated.length} with an application template`;
  return {
    row: row(probe, 'discovery', { status: 'ok', needed, result: found }),
    candidates: dedupe([...listed, ...known, ...templated]),
  };
}

function dedupe(list: ServicePrincipalRef[]): ServicePrincipalRef[] {
  const seen = new Map<string, ServicePrincipalRef>();
  for (const sp of list) {
    const key = sp.id.toLowerCase();
    const before = seen.get(key);
    if (!before || before.displayName === before.id) seen.set(key, sp);
  }
  return [...seen.values()];
}

/** The job reads, and a configuration with jobs whose secrets the early warnings read. */
async function jobStatus(
  probe: TenantProbe,
  candidates: ServicePrincipalRef[],
  roles: string[],
): Promise<{ row: CheckRow; withJobs?: ServicePrincipalRef }> {
  const permission: Permission = 'Synchronization.Read.All';
  const probes = candidates.slice(0, JOB_PROBES);
  if (probes.length === 0) {
    const held = roles.includes(permission);
    return {
      row: row(probe, 'job-status', {
        status: held ? 'warn' : 'fail',
        needed: true,
        result: `no configuration found to read a job from (none listed in the config, none with an application template on the first page of service principals); the token ${held ? 'carries' : 'lacks'} ${permission}`,
        ...(held
          ? {
              fix: 'List the configurations to watch in discovery.servicePrincipals, or run a cycle (its sweep reads every page)',
            }
          : grant(permission, probe)),
      }),
    };
  }
  const outcomes = await readInBatches(
    probe.graph,
    probes.map((sp) => ({ key: sp.id, url: `/servicePrincipals/${encodeURIComponent(sp.id)}/synchronization/jobs` })),
    'synchronization/jobs',
    { maxRetryAfterSeconds: 5 },
  );
  let answered = 0;
  let jobs = 0;
  let withJobs: ServicePrincipalRef | undefined;
  let refused: AccessProblem | undefined;
  let other: AccessProblem | undefined;
  for (const sp of probes) {
    const outcome = outcomes.get(sp.id);
    if (!outcome) continue;
    if (outcome.problem) {
      if (outcome.problem.kind === 'access') refused ??= outcome.problem;
      else other ??= outcome.problem;
      continue;
    }
    if (outcome.status >= 200 && outcome.status < 300) {
      answered++;
      const list = (outcome.body as { value?: unknown } | undefined)?.value;
      const count = Array.isArray(list) ? list.length : 0;
      jobs += count;
      if (count > 0) withJobs ??= sp;
    } else if (outcome.status !== 404) {
      const { code, message } = graphErrorBody(outcome.body);
      const problem = problemFromStatus(outcome.status, code, message, 'synchronization/jobs');
      if (problem.kind === 'access') refused ??= problem;
      else other ??= problem;
    }
  }
  if (answered > 0)
    return {
      row: row(probe, 'job-status', {
        status: 'ok',
        needed: true,
        result: `read the jobs of ${answered} of ${probes.length} configuration(s): ${jobs} job(s)`,
      }),
      withJobs,
    };
  const problem = refused ?? other;
  return {
    row: row(probe, 'job-status', {
      status: 'fail',
      needed: true,
      result: problem
        ? describeProblem(problem)
        : `none of the ${probes.length} configuration(s) tried has a job list (404)`,
      ...(refused
        ? grant(permission, probe)
        : {
            fix: 'List the configurations to watch in discovery.servicePrincipals (their object IDs), or run the doctor again',
          }),
    }),
  };
}

// ---- the early warnings (synchronization secrets) ----------------------------------------------------------

const EARLY_WARNINGS = EARLY_WARNING_RULES.join(', ');

async function earlyWarnings(probe: TenantProbe, withJobs: ServicePrincipalRef | undefined): Promise<CheckRow> {
  if (probe.needs.secretsReadOff)
    return off(probe, 'early-warnings', `${SECRETS_READ.setting}=off: the synchronization secrets are not read`);
  if (!probe.needs.earlyWarnings) return off(probe, 'early-warnings', `${EARLY_WARNINGS} are off for this tenant`);
  if (!withJobs)
    return skipped(probe, 'early-warnings', false, 'no configuration with jobs was read, so no secrets to read');
  const name = `"${withJobs.displayName}"`;
  const degraded = (why: string): CheckRow =>
    row(probe, 'early-warnings', {
      status: 'warn',
      needed: false,
      result: `degraded: the early warnings (${EARLY_WARNINGS}'s secret check) are skipped where Graph does not give the synchronization secrets; those of ${name}: ${why}`,
      // The same words as the log, the status view and the alert (lib/clients/permissions.ts).
      fix: `Optional (the other checks do not need them): ${SECRETS_READ_FIX} (docs/deploying.md, "Reading the synchronization secrets")`,
    });
  try {
    const body = await probe.graph.get(`/servicePrincipals/${encodeURIComponent(withJobs.id)}/synchronization/secrets`);
    const secrets = parseSecrets(body);
    if (!secrets) return degraded('the answer has no value list');
    const seen = [
      secrets.notifications ? 'notification settings' : 'no notification settings',
      secrets.tokenExpiration ? 'a token expiry' : 'no token expiry',
    ];
    return row(probe, 'early-warnings', {
      status: 'ok',
      needed: false,
      result: `read the synchronization secrets of ${name}: ${seen.join(', ')}`,
    });
  } catch (error) {
    const problem = classifyError(error, 'synchronization/secrets');
    const answer = `${[problem.status, problem.code].filter((x) => x !== undefined && x !== '').join(' ')}: ${problem.message}`;
    return degraded(problem.status === 404 ? `${answer} (so the early warnings see nothing there)` : answer);
  }
}

// ---- provisioning logs, the licence and the status filter ------------------------------------------------------

/** What went wrong, in the service's words; what is likely missing goes in the fix. */
function said(problem: LogProblem): string {
  return describeLogProblem({ ...problem, missing: undefined });
}

const LICENCE_FIX =
  'A Microsoft Entra ID P1 or P2 licence in this tenant (Graph serves provisioning logs only then; it has also answered so now and then to a licensed tenant: run the doctor again). Without one, turn provisioning-failures and no-provisioning-events off for this tenant';

function logProblemFix(problem: LogProblem, probe: TenantProbe): Pick<CheckRow, 'fix' | 'link'> {
  if (problem.kind === 'access' && problem.source === 'graph') return grant('AuditLog.Read.All', probe);
  if (problem.kind === 'access')
    return {
      fix: `Give the monitor's identity the Log Analytics Reader role on the workspace, or check LOG_ANALYTICS_WORKSPACE_ID (${problem.missing ?? 'access refused'})`,
    };
  if (problem.kind === 'invalid-response')
    return {
      fix: 'Graph refuses the query the monitor sends: read the logs from Log Analytics instead (provisioningLogs.source: "logAnalytics")',
    };
  return { fix: 'Run the doctor again' };
}

async function graphLogs(probe: TenantProbe): Promise<CheckRow[]> {
  const needed = true;
  let count: number;
  try {
    const body = (await probe.graph.get('/auditLogs/provisioning?$top=1')) as { value?: unknown };
    count = Array.isArray(body?.value) ? body.value.length : 0;
  } catch (error) {
    const problem = graphLogProblem(error, 'provisioning logs');
    if (problem.kind === 'licence')
      return [
        skipped(probe, 'provisioning-logs', needed, 'not known: Graph refused the logs for the licence first'),
        row(probe, 'licence', { status: 'fail', needed, result: said(problem), fix: LICENCE_FIX }),
        skipped(probe, 'log-filter', probe.needs.failureDigest, 'the logs cannot be read'),
      ];
    return [
      row(probe, 'provisioning-logs', {
        status: 'fail',
        needed,
        result: said(problem),
        ...logProblemFix(problem, probe),
      }),
      skipped(probe, 'licence', needed, 'not known until the logs can be read'),
      skipped(probe, 'log-filter', probe.needs.failureDigest, 'the logs cannot be read'),
    ];
  }
  return [
    row(probe, 'provisioning-logs', {
      status: 'ok',
      needed,
      result: `Graph serves the provisioning logs (${count === 0 ? 'none yet' : 'a page of one read'})`,
    }),
    row(probe, 'licence', {
      status: 'ok',
      needed,
      result: "P1 or P2: Graph serves the tenant's provisioning logs",
    }),
    await statusFilter(probe),
  ];
}

/**
 * The failure read exactly as a cycle sends it (lib/observe/provisioning-logs.ts), first page of 10.
 * A filter Graph refuses is a fallback there (read by time only, the failures kept by the monitor),
 * so it is a warning here, as an ignored one is; only a query Graph refuses in every shape fails.
 */
async function statusFilter(probe: TenantProbe): Promise<CheckRow> {
  if (!probe.needs.failureDigest) return off(probe, 'log-filter', 'provisioning-failures is off for this tenant');
  const source = createGraphEventSource(probe.graph, { pageSize: 10 });
  try {
    for await (const page of source.failuresSince(probe.now.getTime() - 24 * 3600_000)) {
      const refused = source.query?.fallbacks.find((f) => f.what === 'status-filter' && f.reason === 'refused');
      if (refused)
        return row(probe, 'log-filter', {
          status: 'warn',
          needed: true,
          result: `Graph refused the failure reads' status filter (provisioningStatusInfo/status eq 'failure'): ${refused.message}`,
          fix: "Nothing to do: the monitor reads this tenant's logs by time only and keeps the failures itself, and tries the filter again daily; it reads more pages than it would (mind provisioningLogs.maxPagesPerCycle on busy tenants)",
        });
      const others = page.events.filter((e) => e.status.known !== 'failure');
      if (others.length > 0)
        return row(probe, 'log-filter', {
          status: 'warn',
          needed: true,
          result: `Graph ignored the status filter: ${others.length} of ${page.events.length} event(s) of the day are not failures`,
          fix: 'Nothing to do: the monitor counts failures only, so it reads more pages than it would (mind provisioningLogs.maxPagesPerCycle on busy tenants)',
        });
      break;
    }
  } catch (error) {
    const problem = graphLogProblem(error, 'failed provisioning events');
    return row(probe, 'log-filter', {
      status: 'fail',
      needed: true,
      result: `the failure reads' status filter (provisioningStatusInfo/status eq 'failure'): ${said(problem)}`,
      fix:
        problem.kind === 'invalid-response'
          ? 'Graph refuses a documented filter here, so the failure digest cannot read this tenant: read the logs from Log Analytics (provisioningLogs.source: "logAnalytics"), or turn provisioning-failures off for this tenant'
          : logProblemFix(problem, probe).fix,
    });
  }
  return row(probe, 'log-filter', {
    status: 'ok',
    needed: true,
    result: "Graph runs the failure reads' status filter (provisioningStatusInfo/status eq 'failure')",
  });
}

/** The tenant's rows in the workspace, when the config reads the logs from Log Analytics. */
async function workspaceLogs(probe: TenantProbe): Promise<CheckRow[]> {
  const why = 'the logs come from Log Analytics (provisioningLogs.source)';
  const rest = [off(probe, 'licence', why), off(probe, 'log-filter', why)];
  const la = probe.logAnalytics;
  if (!la)
    return [
      row(probe, 'provisioning-logs', {
        status: 'fail',
        needed: true,
        result: 'the config reads the logs from Log Analytics, and no workspace is set',
        fix: 'Set LOG_ANALYTICS_WORKSPACE_ID (and the identity its Log Analytics Reader role)',
      }),
      ...rest,
    ];
  const query = `AADProvisioningLogs | where AADTenantId =~ "${probe.tenantId.replace(/["\\]/g, '')}" | take 1 | project TimeGenerated`;
  try {
    const answer = await queryRows(la.client, la.workspaceId, query, { duration: 'P3D' }, { queryTimeoutMs: 30_000 });
    return [
      answer.rows.length > 0
        ? row(probe, 'provisioning-logs', {
            status: 'ok',
            needed: true,
            result: `workspace ${la.workspaceId} has this tenant's AADProvisioningLogs rows`,
          })
        : row(probe, 'provisioning-logs', {
            status: 'warn',
            needed: true,
            result: `workspace ${la.workspaceId} has no AADProvisioningLogs row of this tenant in the last 3 days`,
            fix: "Route the tenant's ProvisioningLogs to the workspace (Entra admin center > Diagnostic settings); a new route takes up to 3 days",
          }),
      ...rest,
    ];
  } catch (error) {
    const problem = logAnalyticsProblem(error, 'provisioning logs');
    return [
      row(probe, 'provisioning-logs', {
        status: 'fail',
        needed: true,
        result: said(problem),
        ...logProblemFix(problem, probe),
      }),
      ...rest,
    ];
  }
}

async function logs(probe: TenantProbe): Promise<CheckRow[]> {
  if (probe.needs.logs === 'none') {
    const why = 'no rule that reads the provisioning logs is on for this tenant';
    return ['provisioning-logs' as const, 'licence' as const, 'log-filter' as const].map((c) => off(probe, c, why));
  }
  return probe.needs.logs === 'graph' ? graphLogs(probe) : workspaceLogs(probe);
}

// ---- actions (issue 19) ---------------------------------------------------------------------------------------

async function actions(probe: TenantProbe, ask: () => Promise<ActionsReadiness>): Promise<CheckRow> {
  const answer = await ask();
  if (answer.possible)
    return row(probe, 'actions', {
      status: 'ok',
      needed: true,
      result: 'decisions from alerts can be carried out: the token carries their permission',
    });
  return row(probe, 'actions', {
    status: 'fail',
    needed: true,
    result: answer.reason,
    fix: probe.consentUrl
      ? `An administrator of this tenant consents to the app with the link (it asks for ${answer.missing.join(', ')} too once decisions are on)`
      : `Grant the managed identity ${answer.missing.join(', ')}`,
    link: probe.consentUrl,
  });
}

// ---- all of a tenant ----------------------------------------------------------------------------------------

/** Every check of one tenant, in the order they depend on each other. Never throws. */
export async function checkTenant(probe: TenantProbe): Promise<CheckRow[]> {
  const { row: signedIn, roles } = await signIn(probe);
  if (!roles) {
    const after: [CheckName, boolean][] = [
      ['discovery', probe.needs.listed.length === 0],
      ['job-status', true],
      ['early-warnings', false],
      ['provisioning-logs', probe.needs.logs !== 'none'],
      ['licence', probe.needs.logs === 'graph'],
      ['log-filter', probe.needs.failureDigest],
      ...(probe.actions ? [['actions', true] as [CheckName, boolean]] : []),
    ];
    return [signedIn, ...after.map(([check, needed]) => skipped(probe, check, needed, 'no app token for this tenant'))];
  }
  const found = await discovery(probe);
  const jobs = await jobStatus(probe, found.candidates, roles);
  return [
    signedIn,
    found.row,
    jobs.row,
    await earlyWarnings(probe, jobs.withJobs),
    ...(await logs(probe)),
    ...(probe.actions ? [await actions(probe, probe.actions)] : []),
  ];
}
