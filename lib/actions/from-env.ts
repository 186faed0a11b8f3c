import { ManagedIdentityCredential } from '@azure/identity';
import { createCredentials, createTableClient } from '../clients';
import { CLOUDS } from '../settings/clouds';
import { ConfigError, loadPolicy } from '../config/config';
import type { Env } from '../settings/env';
import { loadSettings, SettingsError } from '../settings/settings';
import { LINK_LEDGER_TABLE, LinkLedger } from '../links/ledger';
import { ALERTS_TABLE, AlertStore } from '../store/alert-store';
import { DEFAULT_ACCESS } from './access';
import { createJobActions } from './graph-actions';
import { actionsPossible } from './readiness';
import type { DecideDeps } from './handler';
import { actionsSettings, type ActionsSettings } from './settings';
import { msalSignIn } from './sign-in';

/**
 * The decide endpoint wired from settings, as the Function App runs it: the alert store and the
 * link ledger of AzureWebJobsStorage, the monitor's Graph credential for the writes, the sign-in
 * app of ACTIONS_SIGNIN_CLIENT_ID (its secret, or the managed identity as its federated
 * credential), tenant names from the config file (a config that cannot be read costs the names).
 * `undefined` while WATCH_ACTIONS is off.
 */

/** The actions settings of an environment, or undefined when off; SettingsError naming each problem. */
export function actionsFromEnv(env: Env): ActionsSettings | undefined {
  const settings = loadSettings(env);
  const problems: string[] = [];
  const actions = actionsSettings(
    env,
    {
      authorityHost: settings.authorityHost ?? CLOUDS[settings.cloud].authorityHost,
      chinaCloud: settings.cloud === 'AzureChinaCloud',
    },
    problems,
  );
  if (problems.length > 0) throw new SettingsError(problems);
  return actions;
}

export function decideDepsFromEnv(env: Env, log?: (line: string) => void): DecideDeps | undefined {
  const actions = actionsFromEnv(env);
  if (!actions) return undefined;
  const settings = loadSettings(env);
  let tenantNames = new Map<string, string>();
  try {
    tenantNames = loadPolicy(settings.configPath, { emailTo: settings.emailTo }).tenantNames;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
  }
  const credentials = createCredentials(settings, env);
  const audience = `${CLOUDS[settings.cloud].tokenExchangeAudience}/.default`;
  const managed = actions.signIn.clientSecret
    ? undefined
    : new ManagedIdentityCredential(
        actions.signIn.managedIdentityClientId ? { clientId: actions.signIn.managedIdentityClientId } : {},
      );
  return {
    settings: actions,
    access: DEFAULT_ACCESS,
    alerts: new AlertStore(createTableClient(settings, credentials.azure, ALERTS_TABLE)),
    ledger: new LinkLedger(createTableClient(settings, credentials.azure, LINK_LEDGER_TABLE)),
    graphFor: (tenantId) => createJobActions(credentials.graph, settings.graphEndpoint, tenantId),
    readiness: (tenantId) => actionsPossible(credentials.graph, settings.graphEndpoint, tenantId),
    signIn: msalSignIn(actions, {
      ...(managed
        ? {
            clientAssertion: async () => {
              const token = await managed.getToken(audience);
              if (!token) throw new Error(`the managed identity returned no token for ${audience}`);
              return token.token;
            },
          }
        : {}),
    }),
    tenantNames,
    now: () => new Date(),
    ...(log ? { log } : {}),
  };
}
