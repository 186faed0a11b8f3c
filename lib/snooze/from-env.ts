import { createCredentials, createTableClient } from '../clients';
import { ConfigError, loadPolicy } from '../config/config';
import { loadSettings, type Env } from '../settings/settings';
import { ALERTS_TABLE, AlertStore } from '../store/alert-store';
import { SilenceStore } from '../store/silence-store';
import { STATE_TABLE } from '../store/state-store';
import { handleSnooze, type SnoozeResponse } from './handler';
import { problemPage, SNOOZE_PAGE_HEADERS } from './page';

/**
 * The snooze endpoint wired from settings, as the Function App runs it: the alert and silence
 * stores of AzureWebJobsStorage, the key of SNOOZE_SIGNING_KEY, tenant names from the config file
 * (a config that cannot be read only costs the names). Without SNOOZE_SIGNING_KEY there are no
 * snooze links, and the endpoint says so.
 */
export async function snoozeFromEnv(
  env: Env,
  method: string,
  fields: Record<string, string | undefined>,
  now = new Date(),
): Promise<SnoozeResponse> {
  const settings = loadSettings(env);
  if (!settings.snooze) {
    return {
      status: 404,
      headers: SNOOZE_PAGE_HEADERS,
      body: problemPage(
        'Snooze links are off',
        'This monitor makes no snooze links (SNOOZE_SIGNING_KEY is not set). Add a silence to the config file instead.',
      ),
    };
  }
  let tenantNames = new Map<string, string>();
  try {
    tenantNames = loadPolicy(settings.configPath, { emailTo: settings.emailTo }).tenantNames;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
  }
  const credential = createCredentials(settings, env).azure;
  return handleSnooze(method, fields, {
    snooze: settings.snooze,
    alerts: new AlertStore(createTableClient(settings, credential, ALERTS_TABLE)),
    silences: new SilenceStore(createTableClient(settings, credential, STATE_TABLE)),
    tenantNames,
    now,
  });
}
