import type { Target } from '../cycle/observe';

/**
 * The message the timer puts on the fan-out queue for each batch of tenants, and the
 * queue-triggered function reads (docs/reference/platform-notes.md §1.10).
 *
 * Encoding: the Functions host decodes queue messages as base64 unless host.json says
 * `extensions.queues.messageEncoding: "none"`, and a message written with @azure/storage-queue
 * is sent as given; so the producer base64-encodes the JSON itself. The host hands the function
 * the decoded text, or the parsed object when the text is JSON: both are accepted here.
 */

export const FANOUT_QUEUE = 'syncwatch-observe';

export interface ObserveMessage {
  /** Format version. */
  v: 1;
  /** The cycle: its results are recorded under this id (lib/store/fanout-store.ts). */
  cycle: string;
  /** This batch's number (0-based) and how many the cycle enqueued. */
  batch: number;
  of: number;
  tenants: Target[];
  /** Wall-clock time (epoch ms) by which the tenants must have been read: the cycle's observe deadline. */
  observeBy: number;
  /** Wall-clock time (epoch ms) the cycle ends: past it the message is worthless. */
  deadline: number;
  /**
   * 2: report the batch twice, its jobs as soon as they are read and then everything once the logs
   * due are read (under logsCycle(cycle)), so the planner sends the job alerts first. Absent: once.
   */
  parts?: 2;
  /**
   * The batch's tenants with a log alert open, from the alerts the planner read once (their logs
   * are read every cycle, lib/cycle/log-plan.ts). Absent (the planner could not read them): each
   * worker asks the alert table.
   */
  openLogAlerts?: string[];
}

/** The partition of a cycle's second reports (after the logs): beside the cycle's own, deleted with it. */
export const logsCycle = (cycle: string): string => `${cycle}-logs`;

/** A message that is not one of ours, or not whole: what is wrong, for the log and the poison queue. */
export class InvalidMessage extends Error {
  constructor(problem: string) {
    super(`not a fan-out message of Entra Sync Watch: ${problem}`);
    this.name = 'InvalidMessage';
  }
}

/** The text to enqueue: base64 of the JSON, as the Functions host expects by default. */
export function encodeMessage(message: ObserveMessage): string {
  return Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
}

const GUID_OR_DOMAIN =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}|home)$/i;

function parsed(entry: unknown): unknown {
  if (typeof entry !== 'string') return entry;
  const text = entry.trim();
  try {
    return JSON.parse(text);
  } catch {
    // Not decoded by the host (messageEncoding "none" while the producer encoded): decode here.
    try {
      return JSON.parse(Buffer.from(text, 'base64').toString('utf8'));
    } catch {
      throw new InvalidMessage(`${text.length} characters that are neither JSON nor base64 JSON`);
    }
  }
}

/** The message a queue trigger received (the object the host parsed, or its text), checked field by field. */
export function decodeMessage(entry: unknown): ObserveMessage {
  const m = parsed(entry) as Partial<ObserveMessage> | null;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new InvalidMessage('expected a JSON object');
  if (m.v !== 1) throw new InvalidMessage(`v: expected 1, got ${JSON.stringify(m.v)}`);
  if (typeof m.cycle !== 'string' || !/^[\w:.-]{1,80}$/.test(m.cycle))
    throw new InvalidMessage('cycle: expected an id of letters, digits and :.-_');
  for (const key of ['batch', 'of', 'observeBy', 'deadline'] as const) {
    if (typeof m[key] !== 'number' || !Number.isInteger(m[key]) || (m[key] as number) < 0)
      throw new InvalidMessage(`${key}: expected a whole number`);
  }
  if ((m.batch as number) >= (m.of as number)) throw new InvalidMessage(`batch ${m.batch} of ${m.of}`);
  if (m.parts !== undefined && m.parts !== 2)
    throw new InvalidMessage(`parts: expected 2 or nothing, got ${JSON.stringify(m.parts)}`);
  if (!Array.isArray(m.tenants) || m.tenants.length === 0 || m.tenants.length > 100)
    throw new InvalidMessage('tenants: expected 1 to 100 tenants');
  const tenants = m.tenants.map((t, i) => {
    const { tenantId, tokenTenant } = (t ?? {}) as Partial<Target>;
    if (typeof tenantId !== 'string' || !GUID_OR_DOMAIN.test(tenantId))
      throw new InvalidMessage(`tenants[${i}].tenantId: expected a tenant ID or domain`);
    if (tokenTenant !== undefined && (typeof tokenTenant !== 'string' || !GUID_OR_DOMAIN.test(tokenTenant)))
      throw new InvalidMessage(`tenants[${i}].tokenTenant: expected a tenant ID or domain`);
    return tokenTenant === undefined ? { tenantId } : { tenantId, tokenTenant };
  });
  if (
    m.openLogAlerts !== undefined &&
    (!Array.isArray(m.openLogAlerts) ||
      m.openLogAlerts.length > tenants.length ||
      !m.openLogAlerts.every((t) => typeof t === 'string' && GUID_OR_DOMAIN.test(t)))
  )
    throw new InvalidMessage("openLogAlerts: expected some of the batch's tenant IDs or domains");
  return {
    v: 1,
    cycle: m.cycle,
    batch: m.batch as number,
    of: m.of as number,
    tenants,
    observeBy: m.observeBy as number,
    deadline: m.deadline as number,
    ...(m.parts === 2 ? { parts: 2 as const } : {}),
    ...(m.openLogAlerts ? { openLogAlerts: m.openLogAlerts } : {}),
  };
}
