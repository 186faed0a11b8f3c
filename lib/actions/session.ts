import { randomBytes } from 'node:crypto';
import type { ActionsAccess, Person } from './access';
import { seal, unseal } from './sealed';

/**
 * The browser's side of a sign-in: a sealed session cookie (who signed in, for 30 minutes: a
 * decision is made soon after signing in, and a stolen cookie is of use briefly) and the sealed
 * cookie that carries a sign-in in progress. `__Host-` cookies: Secure, Path=/, no Domain, so no
 * other host can set or overwrite them; HttpOnly; SameSite=Lax, so a link from a mail client or
 * Teams (a top-level GET from another site) carries them, and a cross-site POST does not.
 */

export const SESSION_COOKIE = '__Host-esw-decide';
export const SIGN_IN_COOKIE = '__Host-esw-signin';
export const SESSION_LIFETIME_MS = 30 * 60_000;

export interface Session {
  /** A random id per sign-in: what the anti-forgery tokens are bound to. */
  sid: string;
  person: Person;
  signedInAt: string;
}

/** A cookie to set (or, with maxAgeSeconds 0, to clear); the attributes above are the adapter's. */
export interface ResponseCookie {
  name: string;
  value: string;
  maxAgeSeconds: number;
}

/** Cookies of a `Cookie` header (the first of a name wins, as browsers send the most specific first). */
export function parseCookies(header: string | undefined | null): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!(name in cookies)) cookies[name] = part.slice(eq + 1).trim();
  }
  return cookies;
}

/**
 * The person as the session keeps them: only the groups the access rules name (a token can list
 * 200 groups, more than a cookie holds), every string bounded.
 */
function kept(person: Person, access: ActionsAccess): Person {
  const named = new Set(
    [...access.operators.groups, ...[...access.tenants.values()].flatMap((o) => o.groups)].map((g) => g.toLowerCase()),
  );
  return {
    ...person,
    roles: person.roles.slice(0, 50).map((r) => r.slice(0, 120)),
    groups: person.groups.filter((g) => named.has(g.toLowerCase())),
  };
}

export function newSession(person: Person, access: ActionsAccess, now: Date): Session {
  return { sid: randomBytes(16).toString('base64url'), person: kept(person, access), signedInAt: now.toISOString() };
}

export function sessionCookie(session: Session, key: string, now: Date): ResponseCookie {
  return {
    name: SESSION_COOKIE,
    value: seal('session', session, key, new Date(now.getTime() + SESSION_LIFETIME_MS)),
    maxAgeSeconds: SESSION_LIFETIME_MS / 1000,
  };
}

export function readSession(cookies: Record<string, string>, key: string, now: Date): Session | undefined {
  const session = unseal<Session>('session', cookies[SESSION_COOKIE], key, now);
  return session && typeof session.sid === 'string' && session.person?.oid ? session : undefined;
}

export function clearCookie(name: string): ResponseCookie {
  return { name, value: '', maxAgeSeconds: 0 };
}
