import { parseDuration } from '../util/duration';
import type { Env } from './env';

/**
 * The settings of decisions from an alert (issue 19): which actions are on, the key their links,
 * cookies and anti-forgery tokens are made with, where the app answers, and the app registration
 * people sign in with. Off unless WATCH_ACTIONS turns them on: the monitor is read-only by default,
 * and with actions off no message carries an action link and the decide endpoint answers 404.
 */

/** What a person can decide from an alert, by the name WATCH_ACTIONS lists it under. */
export const ACTION_NAMES = ['approve-deletes', 're-evaluate', 'retry', 'verify-user'] as const;
export type ActionName = (typeof ACTION_NAMES)[number];

/** The app role that lets a person act (besides groups the config file names). */
export const OPERATOR_ROLE = 'SyncWatch.Operator';

/** How long an action link works after its message, unless ACTIONS_LINK_LIFETIME says otherwise. */
const DEFAULT_LINK_LIFETIME_MS = 24 * 3600_000;
/** The longest ACTIONS_LINK_LIFETIME accepted: a decision is about the state of that moment. */
const MAX_LINK_LIFETIME_MS = 7 * 24 * 3600_000;
/** The shortest ACTIONS_SIGNING_KEY accepted. */
const MIN_ACTIONS_KEY_LENGTH = 32;

export interface ActionsSettings {
  /** The actions turned on (WATCH_ACTIONS), in ACTION_NAMES order. */
  actions: ActionName[];
  /** ACTIONS_SIGNING_KEY: signs the links; keys the session and sign-in cookies and the anti-forgery tokens (each its own derived key). */
  signingKey: string;
  /** Where the Function App answers /api/decide: ACTIONS_BASE_URL, SNOOZE_BASE_URL or https://WEBSITE_HOSTNAME. No trailing slash. */
  baseUrl: string;
  /** ACTIONS_LINK_LIFETIME: how long a link works. */
  linkLifetimeMs: number;
  /** The app registration people sign in to, in the monitor's home tenant. */
  signIn: {
    /** ACTIONS_SIGNIN_TENANT_ID, or AZURE_TENANT_ID: the tenant of the ops team, not a customer's. */
    tenantId: string;
    /** ACTIONS_SIGNIN_CLIENT_ID. */
    clientId: string;
    /** The authority (AZURE_AUTHORITY_HOST or the cloud's). */
    authorityHost: string;
    /** ACTIONS_SIGNIN_CLIENT_SECRET; without it, the managed identity (AZURE_CLIENT_ID) is its federated credential. */
    clientSecret?: string;
    managedIdentityClientId?: string;
  };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

const value = (env: Env, name: string): string | undefined => env[name]?.trim() || undefined;

/** WATCH_ACTIONS: `off` (the default), `on` (every action), or a comma-separated list of action names. */
export function actionsSwitch(text: string | undefined, problems: string[]): ActionName[] {
  const words = (text ?? '')
    .split(/[,;]/)
    .map((w) => w.trim().toLowerCase())
    .filter((w) => w !== '');
  if (words.length === 0 || (words.length === 1 && ['off', 'false', 'no', '0'].includes(words[0] as string))) return [];
  if (words.length === 1 && ['on', 'true', 'yes', 'all'].includes(words[0] as string)) return [...ACTION_NAMES];
  const unknown = words.filter((w) => !(ACTION_NAMES as readonly string[]).includes(w));
  if (unknown.length > 0) {
    problems.push(
      `WATCH_ACTIONS holds ${unknown.map((w) => `"${w}"`).join(', ')}; expected off, on, or a comma-separated list of ${ACTION_NAMES.join(', ')}`,
    );
    return [];
  }
  return ACTION_NAMES.filter((name) => words.includes(name));
}

/** The https address the links point at: an explicit base, the snooze base, or the Function App's own host. */
function baseUrlOf(env: Env, problems: string[]): string | undefined {
  const named = value(env, 'ACTIONS_BASE_URL');
  const host = value(env, 'WEBSITE_HOSTNAME');
  const text = named ?? value(env, 'SNOOZE_BASE_URL') ?? (host ? `https://${host}` : undefined);
  if (!text) {
    problems.push(
      "WATCH_ACTIONS is on but the action links have no address: set ACTIONS_BASE_URL to the Function App's https address (e.g. https://<app>.azurewebsites.net)",
    );
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push(`ACTIONS_BASE_URL="${text.slice(0, 100)}" is not a URL; expected https://<app>.azurewebsites.net`);
    return undefined;
  }
  if (url.protocol !== 'https:' || url.search || url.hash || url.username) {
    problems.push(
      `ACTIONS_BASE_URL="${url.origin}${url.pathname}" must be a plain https:// address (sign-in cookies are Secure; no query)`,
    );
    return undefined;
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function linkLifetime(env: Env, problems: string[]): number {
  const text = value(env, 'ACTIONS_LINK_LIFETIME');
  if (!text) return DEFAULT_LINK_LIFETIME_MS;
  const ms = parseDuration(text);
  if (ms === undefined || ms < 5 * 60_000 || ms > MAX_LINK_LIFETIME_MS) {
    problems.push(
      `ACTIONS_LINK_LIFETIME="${text}" must be a duration from 5m to 7d (e.g. 24h, the default): how long an action link works after its message`,
    );
    return DEFAULT_LINK_LIFETIME_MS;
  }
  return ms;
}

function signingKey(env: Env, problems: string[]): string | undefined {
  const key = value(env, 'ACTIONS_SIGNING_KEY');
  if (!key) {
    problems.push(
      'ACTIONS_SIGNING_KEY is required with WATCH_ACTIONS on: at least 32 random characters (e.g. openssl rand -base64 48), not the snooze key',
    );
    return undefined;
  }
  if (key.length < MIN_ACTIONS_KEY_LENGTH) {
    problems.push(
      `ACTIONS_SIGNING_KEY is ${key.length} characters; use at least ${MIN_ACTIONS_KEY_LENGTH} random ones (e.g. openssl rand -base64 48)`,
    );
    return undefined;
  }
  // A key of its own: whoever holds the snooze key (a lower-stakes capability) must not be able to
  // mint links that approve deletes, and either key can be replaced without breaking the other's links.
  if (key === value(env, 'SNOOZE_SIGNING_KEY')) {
    problems.push('ACTIONS_SIGNING_KEY must differ from SNOOZE_SIGNING_KEY: make a new one (openssl rand -base64 48)');
    return undefined;
  }
  return key;
}

function signIn(env: Env, authorityHost: string, problems: string[]): ActionsSettings['signIn'] | undefined {
  const clientId = value(env, 'ACTIONS_SIGNIN_CLIENT_ID');
  const tenantId = value(env, 'ACTIONS_SIGNIN_TENANT_ID') ?? value(env, 'AZURE_TENANT_ID');
  const clientSecret = value(env, 'ACTIONS_SIGNIN_CLIENT_SECRET');
  const managedIdentityClientId = value(env, 'AZURE_CLIENT_ID');
  const before = problems.length;
  if (!clientId)
    problems.push(
      'ACTIONS_SIGNIN_CLIENT_ID is required with WATCH_ACTIONS on: the client ID of the app registration people sign in to before they act (infra creates it with enableActions)',
    );
  else if (!GUID.test(clientId))
    problems.push(
      `ACTIONS_SIGNIN_CLIENT_ID="${clientId.slice(0, 80)}" is not an application (client) ID, which is a GUID`,
    );
  if (!tenantId)
    problems.push(
      'ACTIONS_SIGNIN_TENANT_ID (or AZURE_TENANT_ID) is required with WATCH_ACTIONS on: the tenant the operators sign in to, where the sign-in app lives',
    );
  else if (!GUID.test(tenantId) && !DOMAIN.test(tenantId))
    problems.push(
      `ACTIONS_SIGNIN_TENANT_ID="${tenantId.slice(0, 80)}" is neither a tenant ID (GUID) nor a domain name`,
    );
  if (problems.length > before || !clientId || !tenantId) return undefined;
  return {
    tenantId: tenantId.toLowerCase(),
    clientId: clientId.toLowerCase(),
    authorityHost,
    ...(clientSecret ? { clientSecret } : {}),
    ...(managedIdentityClientId ? { managedIdentityClientId } : {}),
  };
}

/**
 * The actions settings, validated (every problem added to `problems`, each naming its setting);
 * undefined while WATCH_ACTIONS is off. `authorityHost` is the monitor's (AZURE_AUTHORITY_HOST or
 * the cloud's); `chinaCloud` because provisionOnDemand is not offered by 21Vianet's Graph.
 */
export function actionsSettings(
  env: Env,
  context: { authorityHost: string; chinaCloud?: boolean },
  problems: string[],
): ActionsSettings | undefined {
  const actions = actionsSwitch(env.WATCH_ACTIONS, problems);
  if (actions.length === 0) return undefined;
  if (context.chinaCloud && actions.includes('verify-user'))
    problems.push(
      'WATCH_ACTIONS includes verify-user, but Graph in Azure China (21Vianet) has no provisionOnDemand; list the other actions instead',
    );
  const before = problems.length;
  const key = signingKey(env, problems);
  const baseUrl = baseUrlOf(env, problems);
  const linkLifetimeMs = linkLifetime(env, problems);
  const signInApp = signIn(env, context.authorityHost, problems);
  if (problems.length > before || !key || !baseUrl || !signInApp) return undefined;
  return { actions, signingKey: key, baseUrl, linkLifetimeMs, signIn: signInApp };
}
