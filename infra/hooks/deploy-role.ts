import { AZURE_ROLES } from '../../lib/clients/permissions';
import { AzError, azJson, azProblem, poll, type Env, type HookDeps } from './az';

/**
 * Azure/azure-dev#8026: the first `azd up` can fail at the package upload with
 * `InaccessibleStorageException ... BlobUploadFailedException ... 403`, because the role that lets
 * the upload write to the deployment container was assigned minutes earlier, in the same
 * provisioning, and has not taken effect yet ("Waiting ~60s and running azd deploy again
 * succeeds"; azd retries no 403). On Flex Consumption azd hands the zip to the app's `/api/publish`
 * (azure-dev cli/azd/pkg/azapi/function_app.go) and the platform writes the blob as the identity
 * the app's deployment storage names: here the user-assigned managed identity
 * (infra/app/api.bicep, `UserAssignedIdentity`), which holds Storage Blob Data Owner on the account.
 *
 * So, after provisioning: wait until ARM lists that assignment, then until it is SETTLE_MS old.
 * Whether it has taken effect on the data plane cannot be seen from here (only the identity could
 * try); its age is the signal the workaround uses.
 */

export const DEPLOY_ROLE = AZURE_ROLES.find(
  (r) => r.name === 'Storage Blob Data Owner',
) as (typeof AZURE_ROLES)[number];

/** How old the assignment must be before the deploy step may use it ("~60s" in the issue, doubled). */
export const SETTLE_MS = 120_000;

/** How long ARM may take to list an assignment the deployment just created. */
const LISTED = { timeoutMs: 5 * 60_000, firstDelayMs: 5_000, maxDelayMs: 30_000 };

interface RoleAssignment {
  properties?: { principalId?: string; roleDefinitionId?: string; createdOn?: string };
}

/** The role assignments that apply at a scope (ARM "Role Assignments - List For Scope", 2022-04-01). */
function listCommand(scope: string): string[] {
  return [
    'rest',
    '--method',
    'get',
    '--url',
    `${scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01`,
  ];
}

function byHand(principal: string, scope: string): string {
  return [
    `  check:  az role assignment list --assignee ${principal} --scope ${scope} --role "${DEPLOY_ROLE.name}" -o table`,
    `  then:   azd deploy   (if it fails with 403 BlobUploadFailedException, wait a minute and run it again: Azure/azure-dev#8026)`,
  ].join('\n');
}

/** When the identity's deploy role was assigned at the scope, or undefined while ARM does not list it. */
async function assignedOn(deps: HookDeps, principal: string, scope: string): Promise<string | undefined> {
  const listed = await azJson<{ value?: RoleAssignment[] }>(deps.az, listCommand(scope));
  const found = (listed.value ?? []).find(
    (a) =>
      a.properties?.principalId?.toLowerCase() === principal.toLowerCase() &&
      a.properties?.roleDefinitionId?.toLowerCase().endsWith(`/${DEPLOY_ROLE.id}`),
  );
  return found ? (found.properties?.createdOn ?? '') : undefined;
}

/** Returns the hook's exit code: 1 only when the role is definitely not there, so the deploy would fail. */
export async function waitForDeployRole(env: Env, deps: HookDeps): Promise<number> {
  const principal = env.MANAGED_IDENTITY_PRINCIPAL_ID?.trim();
  const scope = env.AZURE_STORAGE_ACCOUNT_ID?.trim();
  if (!principal || !scope) {
    deps.say(
      'deploy role: MANAGED_IDENTITY_PRINCIPAL_ID or AZURE_STORAGE_ACCOUNT_ID is not in the azd environment (run `azd env refresh`); not waiting for the role.',
    );
    return 0;
  }
  const role = `${DEPLOY_ROLE.name} for the managed identity ${principal} on ${scope}`;
  let createdOn: string | undefined;
  try {
    createdOn = await poll(
      () => assignedOn(deps, principal, scope),
      LISTED,
      deps.clock,
      (ms) =>
        deps.say(`deploy role: ${DEPLOY_ROLE.name} is not listed yet for ${principal}; asking again in ${ms / 1000} s`),
    );
  } catch (error) {
    if (!(error instanceof AzError)) throw error;
    deps.say(`deploy role: cannot check ${role}: ${azProblem(error)}. Not waiting.\n${byHand(principal, scope)}`);
    return 0;
  }
  if (createdOn === undefined) {
    deps.say(
      `deploy role: ${role} is still not assigned after ${LISTED.timeoutMs / 60_000} minutes, so the package upload would fail with 403.\n` +
        `  Run \`azd provision\` again (it assigns the role), then \`azd deploy\`.\n${byHand(principal, scope)}`,
    );
    return 1;
  }
  const created = Date.parse(createdOn);
  const age = Number.isNaN(created) ? 0 : deps.clock.now() - created;
  if (age < SETTLE_MS) {
    const wait = SETTLE_MS - age;
    deps.say(
      `deploy role: ${role} was assigned ${Math.round(age / 1000)} s ago; waiting ${Math.ceil(wait / 1000)} s for it to take effect before the package upload (Azure/azure-dev#8026).`,
    );
    await deps.clock.sleep(wait);
  }
  deps.say(`deploy role: ${role} is in place.`);
  return 0;
}
