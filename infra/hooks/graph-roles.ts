import {
  GRAPH_ACTION_PERMISSIONS,
  GRAPH_APPLICATION_PERMISSIONS,
  MICROSOFT_GRAPH_APP_ID,
} from '../../lib/clients/permissions';
import { AzError, azJson, azProblem, graphRoot, poll, type Env, type HookDeps } from './az';

/**
 * After provisioning: does the principal that reads Graph hold the Graph app roles the monitor
 * needs? A check with a clear message, never a grant and never a failure: the code deploys either
 * way, and without the roles every cycle says "Cannot monitor".
 *
 * Why a check and not a retrying grant (microsoftgraph/msgraph-bicep-types#193): that failure,
 * "Not a valid reference update" when Bicep assigns an app role to an identity created in the same
 * deployment, stops the provisioning itself, so no hook runs after it; the reporter's second run
 * succeeds and Microsoft could not reproduce it, so the deployment guide says to run `azd up` again. Moving
 * the grants out of Bicep into a hook would trade that rare rerun for a grant made with whatever
 * account `az` is signed in as. What a hook can add is this: with GRANT_GRAPH_ROLES=false (the
 * template grants nothing), or a grant that did not happen, it names the principal, what is
 * missing and what an administrator runs.
 */

/** The read permissions, and with ENABLE_ACTIONS the write permission decisions from an alert need. */
function neededRoles(env: Env): string[] {
  const actions = env.ACTIONS_ENABLED?.trim().toLowerCase() === 'true';
  return [...Object.keys(GRAPH_APPLICATION_PERMISSIONS), ...(actions ? Object.keys(GRAPH_ACTION_PERMISSIONS) : [])];
}

/** A just-created principal can be missing from the Entra replica Graph reads for a while (#193, #264). */
const REPLICATED = { timeoutMs: 3 * 60_000, firstDelayMs: 5_000, maxDelayMs: 30_000 };

interface ServicePrincipal {
  id: string;
  appRoles?: { id: string; value: string }[];
}

/** Graph's answer, or undefined while the object is not found (not yet replicated). */
async function unlessNotFound<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof AzError && error.kind === 'notFound') return undefined;
    throw error;
  }
}

function grantCommands(graph: string, principal: string, graphSp: ServicePrincipal, missing: string[]): string {
  return missing
    .map((permission) => {
      const roleId = graphSp.appRoles?.find((r) => r.value === permission)?.id ?? `<id of ${permission}>`;
      const body = JSON.stringify({ principalId: principal, resourceId: graphSp.id, appRoleId: roleId });
      return `  az rest --method post --url ${graph}/v1.0/servicePrincipals/${principal}/appRoleAssignments --body '${body}'`;
    })
    .join('\n');
}

/** Always 0: a missing role is said, not fatal. */
export async function checkGraphRoles(env: Env, deps: HookDeps): Promise<number> {
  const appId = env.WATCH_APP_CLIENT_ID?.trim();
  const identity = env.MANAGED_IDENTITY_PRINCIPAL_ID?.trim();
  const grantedByTemplate = env.GRAPH_ROLES_GRANTED?.trim().toLowerCase() === 'true';
  const NEEDED = neededRoles(env);
  const who = appId ? `the multi-tenant app ${appId} in this tenant` : `the managed identity ${identity}`;
  if (!appId && !identity) {
    deps.say(
      'graph roles: MANAGED_IDENTITY_PRINCIPAL_ID is not in the azd environment (run `azd env refresh`); not checked.',
    );
    return 0;
  }
  try {
    const graph = await graphRoot(deps.az);
    const servicePrincipal = (id: string, select: string) =>
      azJson<ServicePrincipal>(deps.az, [
        'rest',
        '--method',
        'get',
        '--url',
        `${graph}/v1.0/servicePrincipals(appId='${id}')?$select=${select}`,
      ]);
    const graphSp = await servicePrincipal(MICROSOFT_GRAPH_APP_ID, 'id,appRoles');
    const principal = appId
      ? (await poll(() => unlessNotFound(() => servicePrincipal(appId, 'id')), REPLICATED, deps.clock))?.id
      : identity;
    const assignments = principal
      ? await poll(
          () =>
            unlessNotFound(() =>
              azJson<{ value?: { resourceId: string; appRoleId: string }[] }>(deps.az, [
                'rest',
                '--method',
                'get',
                '--url',
                `${graph}/v1.0/servicePrincipals/${principal}/appRoleAssignments`,
              ]),
            ),
          REPLICATED,
          deps.clock,
        )
      : undefined;
    if (!principal || !assignments) {
      deps.say(
        `graph roles: Microsoft Graph does not find ${who} after ${REPLICATED.timeoutMs / 60_000} minutes (Entra replicates new objects with a delay); check later with \`azd hooks run postprovision\`.`,
      );
      return 0;
    }
    const held = new Set(
      (assignments.value ?? [])
        .filter((a) => a.resourceId === graphSp.id)
        .map((a) => graphSp.appRoles?.find((r) => r.id === a.appRoleId)?.value),
    );
    const missing = NEEDED.filter((p) => !held.has(p));
    if (missing.length === 0) {
      deps.say(`graph roles: ${who} holds ${NEEDED.join(', ')}.`);
      return 0;
    }
    const because = grantedByTemplate
      ? 'the template granted them (GRANT_GRAPH_ROLES=true), but Graph does not list them yet'
      : 'GRANT_GRAPH_ROLES=false: the template grants no Graph app role';
    deps.say(
      appId
        ? `graph roles: ${who} lacks ${missing.join(', ')} (${because}). That matters only if you watch this tenant: then its Privileged Role Administrator (or Global Administrator) consents with the link \`npm run onboard -- ${env.AZURE_TENANT_ID ?? '<this tenant>'}\` prints.`
        : `graph roles: ${who} lacks ${missing.join(', ')} (${because}); until it has them every cycle reports "Cannot monitor". A Privileged Role Administrator (or Global Administrator) grants them with:\n${grantCommands(graph, principal, graphSp, missing)}`,
    );
  } catch (error) {
    if (!(error instanceof AzError)) throw error;
    deps.say(
      `graph roles: cannot check the Microsoft Graph app roles of ${who}: ${azProblem(error)}. The first cycle names any permission it lacks.`,
    );
  }
  return 0;
}
