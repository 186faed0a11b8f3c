import { READ_PERMISSIONS, SECRETS_READ_MISSING } from '../clients/permissions';
import type { AccessProblem } from '../model/observation';
import type { LogProblem } from '../model/provisioning';

/** The permission a refused read likely lacks, by operation (lib/clients/permissions.ts). */
const PERMISSION_FOR: Record<string, string> = {
  ...READ_PERMISSIONS,
  // GET secrets is not documented on v1.0, nor its permission (lib/clients/permissions.ts, SECRETS_READ).
  'synchronization/secrets': SECRETS_READ_MISSING,
};

/** The error code of a token that belongs to another tenant than the one asked for. */
export const TENANT_MISMATCH = 'TenantMismatch';

/** What the Graph client and the identity library throw, as far as this stage reads it. */
export interface ErrorLike {
  name?: string;
  statusCode?: number;
  code?: string;
  message?: string;
  body?: unknown;
  errorResponse?: { error?: string; errorDescription?: string };
  headers?: { get?(name: string): string | null };
}

/** The Graph error envelope's code and message, if the value carries one. */
export function graphErrorBody(body: unknown): { code?: string; message?: string } {
  let value = body;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return {};
    }
  }
  const error = (value as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (!error || typeof error !== 'object') return {};
  return {
    code: typeof error.code === 'string' ? error.code : undefined,
    message: typeof error.message === 'string' ? error.message : undefined,
  };
}

/** Says what an HTTP status from Graph means for the tenant, and which permission it likely lacks. */
export function problemFromStatus(
  status: number,
  code: string | undefined,
  message: string | undefined,
  operation: string,
): AccessProblem {
  const permission = PERMISSION_FOR[operation];
  const text = message && message.trim() !== '' ? message : `HTTP ${status}`;
  if (status === 401 || status === 403) {
    const tokenRejected = code === 'InvalidAuthenticationToken';
    return {
      kind: 'access',
      status,
      code,
      message: text,
      operation,
      likelyMissingPermission: tokenRejected ? undefined : permission,
    };
  }
  if (status === 429 || status >= 500 || status === 0)
    return { kind: 'transient', status, code, message: text, operation };
  return { kind: 'invalid-response', status, code, message: text, operation };
}

/**
 * Classifies anything a Graph call threw: a GraphError (HTTP status), an identity error
 * (AADSTS... from the authority: consent, secret, tenant), or a network failure.
 */
export function classifyError(error: unknown, operation: string): AccessProblem {
  const e = (error ?? {}) as ErrorLike;
  const message = typeof e.message === 'string' ? e.message : String(error);
  // A token of another tenant than the one asked for (lib/clients/tenant-check.ts): not used, and it will not
  // fix itself. The Graph client passes on what the credential threw as a GraphError whose code is its name.
  const named = (name: string) => e.name === name || e.code === name;
  if (named('TenantMismatchError'))
    return { kind: 'access', code: TENANT_MISMATCH, message: firstLine(message), operation: 'token' };
  const aadsts = /AADSTS(\d+)/.exec(message);
  if (named('TenantDiscoveryError'))
    return {
      kind: aadsts ? 'access' : 'transient',
      code: aadsts ? `AADSTS${aadsts[1]}` : undefined,
      message: firstLine(message),
      operation: 'tenant discovery',
    };
  if (
    e.name === 'AuthenticationError' ||
    e.name === 'CredentialUnavailableError' ||
    e.name === 'AggregateAuthenticationError' ||
    aadsts
  ) {
    return {
      kind: aadsts || e.name === 'AuthenticationError' ? 'access' : 'transient',
      code: aadsts ? `AADSTS${aadsts[1]}` : e.errorResponse?.error,
      message: firstLine(message),
      operation: 'token',
      likelyMissingPermission:
        aadsts?.[1] === '700016' || aadsts?.[1] === '7000229' ? 'admin consent for the app in this tenant' : undefined,
    };
  }
  if (typeof e.statusCode === 'number' && e.statusCode > 0) {
    const fromBody = graphErrorBody(e.body);
    return problemFromStatus(e.statusCode, e.code ?? fromBody.code, fromBody.message ?? message, operation);
  }
  return { kind: 'transient', message: firstLine(message), operation };
}

function firstLine(message: string): string {
  const line = message.split(/\r?\n/).find((l) => l.trim() !== '') ?? message;
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}

/** One line for logs and emails: `403 Authorization_RequestDenied: Insufficient privileges ... (likely missing Application.Read.All)`. */
export function describeProblem(problem: AccessProblem): string {
  const head = [problem.status, problem.code].filter((x) => x !== undefined && x !== '').join(' ');
  const missing = problem.likelyMissingPermission ? ` (likely missing ${problem.likelyMissingPermission})` : '';
  return `${head ? `${head}: ` : ''}${problem.message} while reading ${problem.operation}${missing}`;
}

/** One line for logs and emails about a provisioning-log or Log Analytics problem. */
export function describeLogProblem(problem: LogProblem): string {
  const head = [problem.status, problem.code].filter((x) => x !== undefined && x !== '').join(' ');
  const missing = problem.missing ? ` (likely missing ${problem.missing})` : '';
  return `${head ? `${head}: ` : ''}${problem.message} while reading ${problem.operation} from ${problem.source === 'graph' ? 'Graph' : 'Log Analytics'}${missing}`;
}
