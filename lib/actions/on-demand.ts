/**
 * What Graph's provisionOnDemand answers, read defensively: a `stringKeyStringValuePair` whose key
 * and value are strings holding JSON, and whose shapes differ by job type (docs research memo §7):
 * app provisioning and Cloud Sync put `{"result":"Skipped","details":{...}}` in the key and one
 * object with `provisioningSteps` in the value; cross-tenant sync puts a type name in the key and
 * an array of such objects in the value; a group answers `"{}"`. Everything here is untrusted text
 * from Graph: the page escapes it, and each string is bounded.
 */

interface OnDemandStep {
  name: string;
  type: string;
  status: string;
  description: string;
  timestamp?: string;
  /** Up to 12 detail pairs, values cut at 200 characters. */
  details: [string, string][];
}

export interface OnDemandResult {
  /** `Success`, `Skipped`, `Failure`, ... from the key or the status info, when Graph gave one. */
  result?: string;
  /** Why, when Graph said (errorCode / reason / errorMessage). */
  reason?: string;
  /** The object as Graph names it (`reportableIdentifier`). */
  subject?: string;
  action?: string;
  steps: OnDemandStep[];
}

const MAX_STEPS = 30;
const MAX_DETAILS = 12;

const text = (value: unknown, max = 500): string => {
  if (value === undefined || value === null) return '';
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return s.length > max ? `${s.slice(0, max)}…` : s;
};

function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

function stepOf(raw: unknown): OnDemandStep | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const s = raw as Record<string, unknown>;
  const details =
    s.details && typeof s.details === 'object' && !Array.isArray(s.details)
      ? Object.entries(s.details as Record<string, unknown>)
          .slice(0, MAX_DETAILS)
          .map(([k, v]) => [text(k, 80), text(v, 200)] as [string, string])
      : [];
  return {
    name: text(s.name, 100),
    type: text(s.type, 60),
    status: text(s.status, 60),
    description: text(s.description),
    ...(typeof s.timestamp === 'string' ? { timestamp: text(s.timestamp, 40) } : {}),
    details,
  };
}

/** Reads Graph's answer to provisionOnDemand into steps and a result, whatever of the documented shapes it has. */
export function readOnDemandAnswer(body: unknown): OnDemandResult {
  const pair = (body ?? {}) as { key?: unknown; value?: unknown };
  const key = parseJson(pair.key) as { result?: unknown; details?: Record<string, unknown> } | undefined;
  const value = parseJson(pair.value);
  const entries = (Array.isArray(value) ? value : [value]).filter(
    (v): v is Record<string, unknown> => Boolean(v) && typeof v === 'object',
  );
  const steps = entries
    .flatMap((e) => (Array.isArray(e.provisioningSteps) ? (e.provisioningSteps as unknown[]) : []))
    .map(stepOf)
    .filter((s): s is OnDemandStep => s !== undefined)
    .slice(0, MAX_STEPS);
  const first = entries[0] ?? {};
  const status = (first.statusInfo ?? {}) as Record<string, unknown>;
  const keyResult = key && typeof key === 'object' && typeof key.result === 'string' ? key.result : undefined;
  const failed = [...steps].reverse().find((s) => /fail|error/i.test(s.status));
  const result =
    keyResult ??
    (typeof status.status === 'string' ? status.status : undefined) ??
    (failed ? 'Failure' : steps.length > 0 ? (steps.at(-1) as OnDemandStep).status : undefined);
  const keyDetails = key && typeof key === 'object' && key.details ? key.details : {};
  const reason =
    text(keyDetails.errorMessage ?? status.reason ?? keyDetails.errorCode ?? status.errorCode, 300) ||
    (failed?.description ?? '');
  return {
    ...(result ? { result: text(result, 60) } : {}),
    ...(reason ? { reason } : {}),
    ...(first.reportableIdentifier ? { subject: text(first.reportableIdentifier, 200) } : {}),
    ...(first.action ? { action: text(first.action, 60) } : {}),
    steps,
  };
}

/**
 * The rule provisionOnDemand applies, from the job's schema: the synchronization rule whose
 * metadata says `supportsProvisionOnDemand` (cross-tenant sync names it USER_INBOUND_USER), else
 * the only rule, else none (the page says so rather than guess).
 */
export function onDemandRuleOf(schema: unknown): string | undefined {
  const rules = ((schema as { synchronizationRules?: unknown })?.synchronizationRules ?? []) as unknown[];
  const valid = (Array.isArray(rules) ? rules : []).filter(
    (r): r is { id: string; metadata?: unknown } =>
      Boolean(r) && typeof r === 'object' && typeof (r as { id?: unknown }).id === 'string',
  );
  const supports = valid.find((r) =>
    (Array.isArray(r.metadata) ? (r.metadata as { key?: unknown; value?: unknown }[]) : []).some(
      (m) => String(m?.key).toLowerCase() === 'supportsprovisionondemand' && String(m?.value).toLowerCase() === 'true',
    ),
  );
  return supports?.id ?? (valid.length === 1 ? valid[0]?.id : undefined);
}
