import { AzError, azJson, azProblem, azText, graphRoot, type Env, type HookDeps } from './az';

/**
 * `azd down` deletes the resource group but not the app registrations the template made (the
 * multi-tenant app, the sign-in app of decisions from an alert) with the Graph Bicep extension (Azure/azure-dev#4724; deployment stacks do not cover Graph
 * resources either). The postdown hook deletes it, and only when this environment made it: the
 * app's `uniqueName` (an alternate key Graph makes immutable once set) must be WATCH_APP_UNIQUE_NAME,
 * `entra-sync-watch-<token>` with the token derived from this environment's subscription, name and
 * region (infra/main.bicep). An app ID someone set by hand, or an environment provisioned before
 * that output existed, is left alone and the hook says how to delete it.
 *
 * Deleting moves the app to Entra's deleted items for 30 days: it can be restored with its app ID,
 * so the consents customer tenants gave it stay valid; and until then its uniqueName stays taken,
 * so `azd up` of the same environment fails (microsoftgraph/msgraph-bicep-types#137) unless the app
 * is restored or purged. The hook never purges: that would throw away every customer's consent.
 */

interface Application {
  id: string;
  appId: string;
  uniqueName?: string | null;
  displayName?: string;
}

function byHand(appId: string): string {
  return `  Delete it by hand (signed in to this tenant with a role that may delete it, e.g. Cloud Application Administrator or its owner): az ad app delete --id ${appId}`;
}

/** An app registration a template may have made, and how the hook speaks of it. */
interface MadeApp {
  appId?: string;
  uniqueName?: string;
  /** `the multi-tenant app`, `the sign-in app`. */
  what: string;
  /** The azd output naming its uniqueName. */
  uniqueNameOutput: string;
  /** What the hook says when the environment made none. */
  none: string;
  /** Lines to add after deleting it. */
  afterwards?: (appId: string) => string[];
}

async function deleteMadeApp(made: MadeApp, deps: HookDeps): Promise<number> {
  const appId = made.appId?.trim();
  const uniqueName = made.uniqueName?.trim();
  if (!appId) {
    deps.say(`app registration: ${made.none}`);
    return 0;
  }
  if (!uniqueName) {
    deps.say(
      `app registration: ${made.what} is ${appId}, but the environment has no ${made.uniqueNameOutput} to prove the template made it; not deleted.\n${byHand(appId)}`,
    );
    return 0;
  }
  try {
    const graph = await graphRoot(deps.az);
    let app: Application;
    try {
      app = await azJson<Application>(deps.az, [
        'rest',
        '--method',
        'get',
        '--url',
        `${graph}/v1.0/applications(appId='${appId}')?$select=id,appId,uniqueName,displayName`,
      ]);
    } catch (error) {
      if (error instanceof AzError && error.kind === 'notFound') {
        deps.say(`app registration: ${appId} is already gone; nothing to delete.`);
        return 0;
      }
      throw error;
    }
    if (app.uniqueName !== uniqueName) {
      deps.say(
        `app registration: ${appId} ("${app.displayName ?? ''}") has uniqueName ${app.uniqueName ? `"${app.uniqueName}"` : '(none)'}, not this environment's "${uniqueName}": this environment did not make it, so it is not deleted.\n${byHand(appId)}`,
      );
      return 0;
    }
    await azText(deps.az, ['ad', 'app', 'delete', '--id', appId]);
    deps.say(
      [
        `app registration: deleted ${appId} ("${app.displayName ?? uniqueName}"), ${made.what} this environment made.`,
        `  It stays in Entra's deleted items for 30 days. Restore it: az rest --method post --url ${graph}/v1.0/directory/deletedItems/${app.id}/restore`,
        `  Until then its unique name is taken, so \`azd up\` of this environment fails ("Another object with the same value for property uniqueName already exists") unless you restore it, or purge it for good: az rest --method delete --url ${graph}/v1.0/directory/deletedItems/${app.id}`,
        ...(made.afterwards?.(appId) ?? []),
      ].join('\n'),
    );
    return 0;
  } catch (error) {
    if (!(error instanceof AzError)) throw error;
    deps.say(`app registration: could not delete ${appId}: ${azProblem(error)}.\n${byHand(appId)}`);
    return 1;
  }
}

/**
 * Returns the hook's exit code: 1 when an app should have been deleted and was not. The
 * multi-tenant app (MULTI_TENANT), then the sign-in app of decisions from an alert (ENABLE_ACTIONS).
 */
export async function deleteAppRegistration(env: Env, deps: HookDeps): Promise<number> {
  const codes = [
    await deleteMadeApp(
      {
        appId: env.WATCH_APP_CLIENT_ID,
        uniqueName: env.WATCH_APP_UNIQUE_NAME,
        what: 'the multi-tenant app',
        uniqueNameOutput: 'WATCH_APP_UNIQUE_NAME',
        none: 'this environment made none (MULTI_TENANT was off); nothing to delete.',
        afterwards: (appId) => [
          `  Restoring it keeps the consents customer tenants gave it. Customer tenants keep their enterprise application of ${appId}; an administrator there removes it: az ad sp delete --id ${appId}`,
        ],
      },
      deps,
    ),
  ];
  if (env.ACTIONS_SIGNIN_CLIENT_ID?.trim())
    codes.push(
      await deleteMadeApp(
        {
          appId: env.ACTIONS_SIGNIN_CLIENT_ID,
          uniqueName: env.ACTIONS_SIGNIN_UNIQUE_NAME,
          what: 'the sign-in app',
          uniqueNameOutput: 'ACTIONS_SIGNIN_UNIQUE_NAME',
          none: 'no sign-in app; nothing to delete.',
        },
        deps,
      ),
    );
  return Math.max(...codes);
}
