import { buildJob, guidFrom, jobIdFor, type JobSpec } from '../../emulators/jobs';
import type { BatchRequest, BatchResponse, GraphReader } from '../../lib/clients/graph';
import { defaultRules } from '../../lib/config/config';
import { RULES } from '../../lib/evaluate/rules';
import type { Policy, Route } from '../../lib/model/policy';
import { runCycle, type CycleDeps } from '../../lib/cycle/cycle';
import { CYCLE_POINTS } from '../../lib/model';
import { type Target } from '../../lib/cycle/observe';
import { matchLabelsOf, routesFor, receiversOf } from '../../lib/dispatch/route';
import { CycleBudget, type CycleLimits } from '../../lib/cycle/limits';
import type { AlertRecord, NotificationItem, PlannedMessage } from '../../lib/model';
import { DeliveryFailedError, operationIdOf, type Mailer, type OperationStatus } from '../../lib/clients/mailer';
import { PostError, type HttpPoster } from '../../lib/clients/http-poster';
import { dailyOccurrence } from '../../lib/silence/windows';
import { AlertStore } from '../../lib/store/alert-store';
import { OutboxStore } from '../../lib/store/outbox-store';
import { stateStores } from '../../lib/store/state-table';
import { MAX_PROPERTY_CHARS, StorageError } from '../../lib/store/table';
import { TimeoutError } from '../../lib/util/deadline';
import { TableClient } from '@azure/data-tables';
import { MemoryTable, unreachable } from '../support/memory-table';
import { handleAcknowledge } from '../../lib/acknowledge/handler';
import { LinkLedger } from '../../lib/store/link-ledger';
import { renderOptionsFor } from '../../lib/notify/render';

/**
 * The simulated soak (issue #8): thousands of cycles of the real pipeline (lib/cycle/cycle.ts and every
 * stage under it, the real stores) over in-memory stand-ins that behave like the services where it
 * matters: Table Storage with ETags, transactions and its 64 KiB limit (test/support/memory-table.ts),
 * Graph answering wire-format jobs (emulators/jobs.ts) with random throttling, outages, malformed
 * bodies and hangs, an ACS that loses answers, fails, hangs, and (the worst case) delivers
 * again every send it is given, even under a repeated Operation-Id, and a webhook channel that
 * refuses, hangs and loses answers (its receiver drops a delivery id it has). Jobs break and recover at
 * random; instances crash (an exception) or are killed dead at any cycle point; two or three
 * instances run at once. At the end, with the faults gone, the invariants are checked.
 */

/**
 * Where the stores keep their rows: in memory (the default: fast, thousands of cycles), or real
 * Table Storage (Azurite) behind a proxy the soak can cut, for a smaller soak against the real thing.
 */
export interface SoakStorage {
  alerts: TableClient;
  state: TableClient;
  /** The link ledger of acknowledge links (default: in memory). */
  ledger?: TableClient;
  /** Every row of a table, for the checks. */
  rows(table: 'alerts' | 'state'): Promise<Record<string, unknown>[]>;
  /** Makes Table Storage fail from now until `restore` (after `afterOps` more calls, where the backend can count them). */
  cut(afterOps: number): void;
  restore(): void;
}

/** Stores in memory (test/support/memory-table.ts). */
function memoryStorage(): SoakStorage {
  const alerts = new MemoryTable('SyncWatchAlerts');
  const state = new MemoryTable('SyncWatchState');
  return {
    alerts: alerts.asClient(),
    state: state.asClient(),
    ledger: new MemoryTable('SyncWatchLinkLedger').asClient(),
    rows: async (table) => (table === 'alerts' ? alerts : state).allRows(),
    cut(afterOps) {
      let left = afterOps;
      const fail = (op: string) => (--left < 0 && op !== 'createTable' ? unreachable() : undefined);
      alerts.failWith(fail);
      state.failWith(fail);
    },
    restore() {
      alerts.failWith(undefined);
      state.failWith(undefined);
    },
  };
}

export interface SoakOptions {
  cycles: number;
  /** Default: in memory. */
  storage?: SoakStorage;
  seed: number;
  tenants?: number;
  jobsPerTenant?: number;
  /** How much goes wrong (1 = the default rates). */
  faultRate?: number;
  /** Deadlines (default: a few hundred milliseconds, for in-memory stores). */
  limits?: CycleLimits;
  log?: (line: string) => void;
}

export interface SoakReport {
  cycles: number;
  instanceRuns: number;
  overlaps: number;
  crashes: number;
  kills: number;
  faults: Record<string, number>;
  incidents: number;
  emailsDelivered: number;
  noticesDelivered: number;
  noticesPlanned: number;
  /** Webhook posts made (retries included) and the notices they carried, deduplicated by delivery id. */
  postsMade: number;
  channelNoticesDelivered: number;
  /** Daily digests delivered, by email and by webhook. */
  digestsDelivered: number;
  /** Acknowledge links clicked (a GET and, when it offered the form, its POST), acknowledgements made, and those a change cleared. */
  ackClicks: number;
  acknowledgements: number;
  acknowledgementsCleared: number;
  /** Escalation notices delivered (email and webhook), and the owed ones checked. */
  escalationsDelivered: number;
  escalationsOwed: number;
  /** Reminders and escalations planned and then dropped because an acknowledgement came first. */
  droppedAsAcknowledged: number;
  maxSendsPerMinute: number;
  maxSendsPerHour: number;
  maxAlertRows: number;
  maxStateRows: number;
  largestPropertyChars: number;
  simulatedDays: number;
  wallMs: number;
  /** Each broken invariant, in words; empty when all hold. */
  violations: string[];
}

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CYCLE_MS = 5 * 60_000;
const SOAK_LIMITS: CycleLimits = { cycleMs: 200, observeMs: 120, tenantMs: 50, callMs: 25, maxRetryAfterMs: 0 };
const BUDGET = { perMinute: 4, perHour: 30 };
const POINTS = CYCLE_POINTS;

interface SimJob {
  spec: JobSpec;
  changedAt: number;
  spId: string;
}

interface SimTenant {
  id: string;
  jobs: SimJob[];
  /** Cycles left in an outage (every read fails), and how. */
  outage: { cycles: number; status: number } | undefined;
}

function route(id: string, to: string, extra: Partial<Route> = {}): Route {
  return {
    id,
    to: [to],
    cc: [],
    repeatMs: { critical: 4 * 3600_000, warning: 24 * 3600_000 },
    sendResolved: true,
    continue: false,
    routes: [],
    ...extra,
  };
}

/** The webhook the first tenant's route posts to, beside its email. */
const HOOK = { id: 'webhook:HOOK_URL', type: 'webhook' as const, urlSetting: 'HOOK_URL', secretSetting: 'HOOK_SECRET' };
/** The leads' webhook, the quarantine route's second escalation step. */
const LEADS_HOOK = {
  id: 'webhook:LEADS_URL',
  type: 'webhook' as const,
  urlSetting: 'LEADS_URL',
  secretSetting: 'HOOK_SECRET',
};
/** Where Acknowledge links point and what signs them (SNOOZE_SIGNING_KEY, SNOOZE_BASE_URL). */
const LINKS = { key: 's'.repeat(48), baseUrl: 'https://watch.soak.example' };
/** The quarantine route escalates critical alerts to the lead by email after 30 min, and every alert to the leads' webhook after 2 h. */
const ESCALATE: NonNullable<Route['escalate']> = [
  { afterMs: 30 * 60_000, to: ['lead@contoso.com'], cc: [], severities: ['critical'] },
  { afterMs: 2 * 3600_000, to: [], cc: [], channels: [LEADS_HOOK] },
];

/**
 * Two routes can take the same alert (a quarantine in the first tenant goes to both), so notices
 * are checked per route; the first tenant's route also posts to a webhook, and the root sends a
 * daily digest (email and, through root.1's inheritance, nothing more: the root has no channel).
 * The quarantine route escalates (ESCALATE) when nobody acknowledges in time.
 */
function soakPolicy(firstTenant: string): Policy {
  return {
    route: route('root', 'ops@contoso.com', {
      digest: { at: '09:00', timeZone: 'Europe/Berlin' },
      routes: [
        route('root.0', 'quarantines@contoso.com', {
          match: { condition: 'quarantine' },
          continue: true,
          escalate: ESCALATE,
        }),
        route('root.1', 'first@contoso.com', {
          match: { tenant: firstTenant },
          channels: [HOOK],
          digest: { at: '07:30', timeZone: 'America/New_York' },
        }),
      ],
    }),
    silences: [],
    maintenanceWindows: [],
    rules: defaultRules(),
    budget: BUDGET,
    tenantNames: new Map(),
  };
}

/**
 * A client of one instance that, like the Function App's (lib/clients/timeouts.ts: past the cycle's
 * deadline nothing new starts), starts no call once its cycle is over: `over()` says when. The
 * soak's cycles are simulated minutes that pass in milliseconds, while an instance's deadline and
 * its wait for the planning lease run in real time; without this, an instance left running (a
 * kill-fated one whose point never came, not awaited) acts cycles later in simulated time, with
 * evidence observed then, which no instance of the Function App can: its deadline (80 % of the
 * schedule's interval) ends before the next cycle begins, and every Table Storage, ACS and webhook
 * call after it fails. Seen in seed 2: an instance of 11:41 waited ~60 ms for the lease while four
 * simulated cycles went by, then took it at 12:02 and resolved a quarantine that had fired at
 * 12:02 from its 11:41 view of the job.
 */
function untilOver<T extends object>(client: T, what: string, over: () => boolean, calls?: string[]): T {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || (calls && !calls.includes(String(prop)))) return value;
      return (...args: unknown[]) => {
        if (!over()) return (value as (...a: unknown[]) => unknown).apply(target, args);
        const error = new TimeoutError(`${what} ${String(prop)} (its simulated cycle is over)`, CYCLE_MS);
        // A listing fails at its first page, as the SDK's paged iterator does.
        if (prop === 'listEntities') return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
        return Promise.reject(error);
      };
    },
  });
}

class SimError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
  ) {
    super(`${statusCode} ${code} (simulated)`);
  }
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = performance.now();
  const rand = random(options.seed);
  const chance = (p: number) => rand() < p * (options.faultRate ?? 1);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const faults: Record<string, number> = {};
  const count = (name: string) => (faults[name] = (faults[name] ?? 0) + 1);
  let faultsOn = true;
  let now = Date.parse('2026-11-27T00:00:00Z');
  const clock = () => new Date(now);

  // ---- the tenants and their jobs ------------------------------------------------------------
  const tenants: SimTenant[] = Array.from({ length: options.tenants ?? 4 }, (_, t) => {
    const id = guidFrom(`soak-tenant-${t}`);
    return {
      id,
      outage: undefined,
      jobs: Array.from({ length: options.jobsPerTenant ?? 5 }, (_, j) => {
        const spId = guidFrom(`soak-sp-${t}-${j}`);
        return {
          spId,
          changedAt: now,
          spec: { id: jobIdFor('Azure2Azure', id, spId), templateId: 'Azure2Azure', state: 'healthy' },
        };
      }),
    };
  });
  const evolveJobs = () => {
    for (const tenant of tenants) {
      for (const job of tenant.jobs) {
        const broken = job.spec.state === 'quarantined';
        if (!broken && faultsOn && rand() < 0.01) {
          const reason = pick([
            'TooManyDeletes',
            'EncounteredQuarantineException',
            'Unknown',
            'tooManyDeletes',
            'EncounteredEscrowProportionThreshold',
          ]);
          job.spec = {
            ...job.spec,
            state: 'quarantined',
            quarantine: { reason, currentBegan: new Date(now).toISOString() },
          };
          job.changedAt = now;
        } else if (broken && rand() < 0.04) {
          job.spec = { id: job.spec.id, templateId: job.spec.templateId, state: 'healthy' };
          job.changedAt = now;
        } else if (broken && faultsOn && rand() < 0.01) {
          // A new error code while quarantined: a change notice.
          job.spec = {
            ...job.spec,
            quarantine: {
              ...(job.spec.quarantine as NonNullable<JobSpec['quarantine']>),
              errorCode: pick(['CodeA', 'CodeB', 'CodeC']),
            },
          };
        }
      }
      if (tenant.outage) {
        if (--tenant.outage.cycles <= 0) tenant.outage = undefined;
      } else if (chance(0.004)) {
        tenant.outage = { cycles: 1 + Math.floor(rand() * 4), status: pick([503, 403]) };
        count(`tenant outage ${tenant.outage.status}`);
      }
    }
  };

  // ---- Graph ---------------------------------------------------------------------------------
  /** A call that never answers until it is aborted; like an open socket, it keeps the process running. */
  const hang = <T>(signal?: AbortSignal) =>
    new Promise<T>((_, reject) => {
      const socket = setInterval(() => undefined, 1000);
      signal?.addEventListener(
        'abort',
        () => {
          clearInterval(socket);
          reject(new Error('aborted'));
        },
        { once: true },
      );
    });
  const graphFor =
    (tenant: SimTenant) =>
    (target: Target, limits?: { deadline(): { signal: AbortSignal } }): GraphReader => {
      const signal = limits?.deadline().signal;
      const misbehave = async (): Promise<void> => {
        if (!faultsOn) return;
        if (tenant.outage)
          throw new SimError(
            tenant.outage.status,
            tenant.outage.status === 403 ? 'Authorization_RequestDenied' : 'serviceNotAvailable',
          );
        if (chance(0.01)) {
          count('graph 503');
          throw new SimError(503, 'serviceNotAvailable');
        }
        if (chance(0.002)) {
          count('graph hang');
          await hang(signal);
        }
      };
      return {
        async get() {
          await misbehave();
          if (faultsOn && chance(0.003)) {
            count('graph malformed');
            return { notValue: true };
          }
          return {
            value: tenant.jobs.map((j) => ({
              id: j.spId,
              appId: guidFrom(`app-${j.spId}`),
              displayName: `Partner ${j.spId.slice(0, 4)}`,
              applicationTemplateId: '518e5f48-1fc8-4c48-9387-9fdf28b0dfe7',
            })),
          };
        },
        async batch(requests: BatchRequest[]): Promise<BatchResponse[]> {
          await misbehave();
          return requests.map((r): BatchResponse => {
            if (faultsOn && chance(0.01)) {
              count('graph 429 in $batch');
              return {
                id: r.id,
                status: 429,
                headers: { 'retry-after': '0' },
                body: { error: { code: 'TooManyRequests', message: 'Please retry again later.' } },
              };
            }
            const spId = decodeURIComponent(/servicePrincipals\/([^/]+)/.exec(r.url)?.[1] ?? '');
            const job = tenant.jobs.find((j) => j.spId === spId);
            return {
              id: r.id,
              status: 200,
              headers: {},
              body: { value: job ? [buildJob(job.spec, job.changedAt)] : [] },
            };
          });
        },
      };
    };

  // ---- Table Storage -------------------------------------------------------------------------
  const storage = options.storage ?? memoryStorage();
  const plannedByKey = new Map<string, PlannedMessage>();
  /** Each firing period as the store saw it, with its acknowledgements: from when each stood, until a change cleared it. */
  const periods = new Map<
    string,
    {
      labels: AlertRecord['labels'];
      severity: AlertRecord['severity'];
      startsAt: string;
      firstAt: number;
      resolvedAt?: number;
      acks: Map<string, { from: number; to?: number }>;
    }
  >();
  /** When each notice was first planned (simulated time). */
  const firstPlanned = new Map<string, number>();
  class RecordingOutbox extends OutboxStore {
    override async plan(email: PlannedMessage): Promise<boolean> {
      const planned = await super.plan(email);
      if (planned) plannedByKey.set(email.key, email);
      if (planned) for (const item of email.items) if (!firstPlanned.has(item.key)) firstPlanned.set(item.key, now);
      return planned;
    }
    // A plan whose write landed but whose answer was cut (real Table Storage behind the proxy) is
    // known from the outbox the next cycle reads.
    override async list(): Promise<PlannedMessage[]> {
      const outbox = await super.list();
      for (const email of outbox) if (!plannedByKey.has(email.key)) plannedByKey.set(email.key, email);
      return outbox;
    }
  }
  class RecordingAlerts extends AlertStore {
    private note(record: AlertRecord): void {
      if (!record.startsAt) return;
      const key = `${record.fingerprint}|${record.startsAt}`;
      if (record.state === 'firing' && !periods.has(key))
        periods.set(key, {
          labels: record.labels,
          severity: record.severity,
          startsAt: record.startsAt,
          firstAt: now,
          acks: new Map(),
        });
      const period = periods.get(key);
      if (record.state === 'resolved' && period && period.resolvedAt === undefined) period.resolvedAt = now;
      const ack = record.acknowledged;
      if (period && ack && ack.startsAt === record.startsAt) {
        const known = period.acks.get(ack.linkId) ?? { from: Date.parse(ack.at) };
        if (ack.cleared && known.to === undefined) known.to = Date.parse(ack.cleared.at);
        period.acks.set(ack.linkId, known);
      }
    }
    override async save(record: AlertRecord): Promise<AlertRecord> {
      const saved = await super.save(record);
      this.note(saved);
      return saved;
    }
    override async saveMany(records: AlertRecord[]): Promise<(AlertRecord | Error)[]> {
      const results = await super.saveMany(records);
      for (const r of results) if (!(r instanceof Error)) this.note(r);
      return results;
    }
  }
  let storageCut = false;
  const storageOutage = () => {
    if (!faultsOn || !chance(0.03)) return;
    count('Table Storage unavailable mid-cycle');
    storageCut = true;
    storage.cut(Math.floor(rand() * 40));
  };
  const storageBack = () => {
    storageCut = false;
    storage.restore();
  };
  let largestProperty = 0;
  const rowsOf = async (table: 'alerts' | 'state') => {
    const rows = await storage.rows(table);
    for (const row of rows)
      for (const v of Object.values(row))
        if (typeof v === 'string') largestProperty = Math.max(largestProperty, v.length);
    return rows;
  };

  // ---- ACS -----------------------------------------------------------------------------------
  /** Every send ACS took and delivered: simulated time and the email's items (or its digest). Repeats deliver again. */
  const deliveries: { at: number; key: string; items: NotificationItem[]; digest?: string }[] = [];
  const operations = new Map<string, { status: OperationStatus; asked: number }>();
  const itemsOf = (key: string) => plannedByKey.get(key.split('#')[0] as string)?.items ?? [];
  /** `<route>@<local date>` of a planned digest message. */
  const digestOf = (key: string) => {
    const digest = plannedByKey.get(key.split('#')[0] as string)?.digest;
    return digest ? `${digest.routeId}@${digest.date}` : undefined;
  };
  /** The Acknowledge links of the messages delivered, newest last: what a person may click. */
  const ackLinks: string[] = [];
  const keepLinks = (text: string) => {
    for (const [link] of text.matchAll(/https:\/\/watch\.soak\.example\/api\/acknowledge\?[^\s"]+/g))
      ackLinks.push(link);
    ackLinks.splice(0, Math.max(0, ackLinks.length - 200));
  };
  const mailer: Mailer = {
    async send(content, _recipients, key, sendOptions) {
      const operationId = operationIdOf(key);
      const deliver = () => {
        // The notices it carried: its plan's, less those delivery dropped (its "Details for scripts" name the
        // alerts it is about: `- Alert ID: <id>` per alert, `- Alert IDs, in the order listed: <id> <id>` per cause).
        const about = new Set(
          [...content.plainText.matchAll(/^- Alert IDs?(?:, in the order listed)?: ([0-9a-f ]+)$/gm)].flatMap((m) =>
            (m[1] as string).trim().split(/\s+/),
          ),
        );
        const items = itemsOf(key).filter((item) => about.has(item.fingerprint));
        deliveries.push({ at: now, key, items, digest: digestOf(key) });
        keepLinks(content.plainText);
        operations.set(operationId, { status: 'Succeeded', asked: 0 });
      };
      if (faultsOn) {
        const roll = rand();
        if (roll < 0.03 * (options.faultRate ?? 1)) {
          count(pick(['acs 429', 'acs 503']));
          throw new SimError(503, 'ServiceUnavailable');
        }
        if (roll < 0.06 * (options.faultRate ?? 1)) {
          count('acs answer lost after delivering');
          deliver();
          throw new Error('socket hang up (simulated, after ACS took the send)');
        }
        if (roll < 0.08 * (options.faultRate ?? 1)) {
          count('acs dropped (Failed)');
          operations.set(operationId, { status: 'Failed', asked: 0 });
          throw new DeliveryFailedError(`ACS failed operation ${operationId}: EmailDropped (simulated)`);
        }
        if (roll < 0.085 * (options.faultRate ?? 1)) {
          count('acs hang');
          if (rand() < 0.5) deliver();
          await hang(sendOptions?.abortSignal);
        }
      }
      deliver();
      return { operationId };
    },
    async status(operationId) {
      if (faultsOn && chance(0.03)) {
        count('acs status failing');
        throw new SimError(503, 'ServiceUnavailable');
      }
      const op = operations.get(operationId);
      if (!op) return 'Unknown';
      op.asked++;
      // Like the service, an operation may still say Running when first asked.
      return op.status === 'Succeeded' && op.asked === 1 && rand() < 0.3 ? 'Running' : op.status;
    },
  };

  // ---- the webhook -----------------------------------------------------------------------------
  /** Every post the webhook's receiver got, by delivery id: a receiver that drops an id it has takes the first. */
  const posts: { at: number; key: string; items: NotificationItem[] }[] = [];
  const poster: HttpPoster = {
    // The webhook's URL and signing secret, as the app settings the config names would hold them.
    setting: (name) =>
      ({
        HOOK_URL: 'https://hooks.soak.example/ops',
        LEADS_URL: 'https://hooks.soak.example/leads',
        HOOK_SECRET: 's'.repeat(40),
      })[name],
    now: clock,
    async post(request, { abortSignal }) {
      const take = () => {
        const key = request.headers['Idempotency-Key'] as string;
        // The notices it carried: its plan's, less those delivery dropped (the payload lists each by its key).
        const sent = new Set(
          ((JSON.parse(request.body) as { notices?: { key: string }[] }).notices ?? []).map((n) => n.key),
        );
        posts.push({ at: now, key, items: (plannedByKey.get(key)?.items ?? []).filter((i) => sent.has(i.key)) });
        keepLinks(request.body);
      };
      if (faultsOn) {
        const roll = rand();
        if (roll < 0.03 * (options.faultRate ?? 1)) {
          const status = pick([500, 429]);
          count(`webhook ${status}`);
          return { status, body: '{"error":"simulated"}' };
        }
        if (roll < 0.05 * (options.faultRate ?? 1)) {
          count('webhook answer lost after taking the post');
          take();
          throw new PostError('no answer within 10 s (simulated, after the receiver took it)', 'unknown');
        }
        if (roll < 0.055 * (options.faultRate ?? 1)) {
          count('webhook hang');
          if (rand() < 0.5) take();
          await hang(abortSignal);
        }
      }
      take();
      return { status: 200, body: '' };
    },
  };

  // ---- instances -----------------------------------------------------------------------------
  const policy = soakPolicy(tenants[0]?.id as string);
  const logLines: string[] = [];
  const quietLog = {
    info: () => undefined,
    warn: (m: string) => logLines.push(m),
    error: (m: string) => logLines.push(m),
  };
  let instanceRuns = 0;
  let overlaps = 0;
  let crashes = 0;
  let kills = 0;
  let maxAlertRows = 0;
  let maxStateRows = 0;
  const violations: string[] = [];
  const LATE = 'an instance still running when its simulated cycle ended (no call after it, as past its deadline)';
  const instance = (id: string, fate: 'live' | 'crash' | 'kill') => {
    const point = pick(POINTS);
    // This instance's cycle is over once the simulated clock has moved on to the next one.
    const cycleAt = now;
    const over = () => now !== cycleAt;
    const alertsTable = untilOver(storage.alerts, 'Table Storage', over);
    const stateTable = untilOver(storage.state, 'Table Storage', over);
    const deps: CycleDeps = {
      targets: tenants.map((t) => ({ tenantId: t.id, tokenTenant: t.id })),
      graphFor: (target, limits) =>
        graphFor(tenants.find((t) => t.id === target.tenantId) as SimTenant)(target, limits),
      alerts: new RecordingAlerts(alertsTable),
      ...stateStores(stateTable),
      outbox: new RecordingOutbox(stateTable),
      mailer: untilOver(mailer, 'ACS', over, ['send', 'status']),
      poster: untilOver(poster, 'the webhook', over, ['post']),
      policy,
      clock,
      log: quietLog,
      budget: new CycleBudget(options.limits ?? SOAK_LIMITS),
      // Acknowledge (and snooze) links in every message, as a deployment with SNOOZE_SIGNING_KEY makes them.
      render: renderOptionsFor({
        graphEndpoint: 'https://graph.microsoft.com',
        emailFrom: 'watch@contoso.com',
        snooze: LINKS,
      }),
      instanceId: id,
      observe: { batchRetries: 1, maxRetryAfterSeconds: 0 },
      probe: (p) => {
        if (fate === 'live' || p !== point) return undefined;
        if (fate === 'crash') throw new Error(`simulated crash at ${p}`);
        return new Promise<void>(() => undefined); // killed: never resumes
      },
    };
    instanceRuns++;
    const run = runCycle(deps).then(
      () => void (over() && count(LATE)),
      (error: unknown) => {
        if (fate === 'crash' && String((error as Error).message).startsWith('simulated crash')) return;
        // Still running when its cycle was over (at the start: it could not even read the outbox).
        if (error instanceof StorageError && over()) return void count(LATE);
        // Table Storage cut before the cycle's first call: it could not run, as designed.
        if (error instanceof StorageError && storageCut)
          return void count('a cycle that could not run (Table Storage down at its start)');
        violations.push(`cycle at ${new Date(now).toISOString()} threw: ${(error as Error).stack ?? String(error)}`);
      },
    );
    // A killed instance never finishes; nobody waits for it.
    return fate === 'kill' ? Promise.resolve() : run;
  };

  // ---- people acknowledging ------------------------------------------------------------------
  const ledgerClient = storage.ledger ?? new MemoryTable('SyncWatchLinkLedger').asClient();
  let ackClicks = 0;
  let acknowledgements = 0;
  /**
   * Now and then, between cycles, someone opens the Acknowledge link of a recent message and
   * confirms it (as one of the recipients the page offers, or by name for a channel), through the
   * real handler and stores; a link of an ended period, an alert already acknowledged or a message
   * from before a change is refused by the handler as it would be.
   */
  const click = async () => {
    if (!faultsOn || ackLinks.length === 0 || rand() >= 0.12) return;
    const link = pick(ackLinks.slice(-30));
    ackClicks++;
    const deps = {
      settings: LINKS,
      alerts: new RecordingAlerts(storage.alerts),
      ledger: new LinkLedger(ledgerClient),
      policy,
      now: clock(),
    };
    const fields = Object.fromEntries(new URL(link).searchParams.entries());
    const page = await handleAcknowledge({ method: 'GET', fields }, deps);
    if (page.status !== 200 || !page.body.includes('<form')) return;
    const hidden = Object.fromEntries(
      [...page.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((m) => [m[1], m[2]]),
    );
    const who = /name="who" value="([^"]+)"/.exec(page.body)?.[1] ?? 'soak on-call';
    const done = await handleAcknowledge({ method: 'POST', fields: { ...hidden, who }, origin: LINKS.baseUrl }, deps);
    if (done.status === 201) acknowledgements++;
    else if (done.status !== 200) violations.push(`confirming ${link} answered ${done.status}: ${done.body}`);
  };

  const runOne = async (cycle: number) => {
    evolveJobs();
    await click();
    storageOutage();
    const count2 = faultsOn && chance(0.15) ? (rand() < 0.5 ? 2 : 3) : 1;
    if (count2 > 1) overlaps++;
    const fates = Array.from({ length: count2 }, () => {
      if (!faultsOn) return 'live' as const;
      const r = rand();
      if (r < 0.03 * (options.faultRate ?? 1)) return 'crash' as const;
      if (r < 0.05 * (options.faultRate ?? 1)) return 'kill' as const;
      return 'live' as const;
    });
    crashes += fates.filter((f) => f === 'crash').length;
    kills += fates.filter((f) => f === 'kill').length;
    await Promise.all(fates.map((fate, i) => instance(`i${cycle}-${i}`, fate)));
    storageBack();
    maxAlertRows = Math.max(maxAlertRows, (await rowsOf('alerts')).length);
    maxStateRows = Math.max(maxStateRows, (await rowsOf('state')).length);
    now += CYCLE_MS + Math.floor(rand() * 20_000);
  };

  for (let cycle = 0; cycle < options.cycles; cycle++) {
    await runOne(cycle);
    if (options.log && cycle > 0 && cycle % 1000 === 0)
      options.log(`  ${cycle} cycles, ${deliveries.length} emails, ${Math.round(performance.now() - started)} ms`);
  }
  // Drain: the faults stop, then every job recovers; cycles run (up to a day) until every owed
  // notice is out: the outbox empty and nothing sent for three cycles in a row.
  faultsOn = false;
  for (const tenant of tenants) tenant.outage = undefined;
  let quiet = 0;
  for (let cycle = 0; cycle < 12 * 24 && quiet < 3; cycle++) {
    if (cycle === 12)
      for (const t of tenants)
        for (const j of t.jobs)
          if (j.spec.state !== 'healthy')
            Object.assign(j, { spec: { id: j.spec.id, templateId: 'Azure2Azure', state: 'healthy' }, changedAt: now });
    const before = deliveries.length;
    await runOne(options.cycles + cycle);
    const outbox = (await rowsOf('state')).some((r) => r.partitionKey === 'outbox');
    quiet = cycle > 12 && !outbox && deliveries.length === before ? quiet + 1 : 0;
  }

  // ---- invariants ----------------------------------------------------------------------------
  const delivered = new Map<string, number>();
  for (const d of deliveries) for (const item of d.items) delivered.set(item.key, (delivered.get(item.key) ?? 0) + 1);
  // The webhook's notices, as a receiver that drops a delivery id it has sees them: each id once.
  const firstPosts = [...new Map(posts.map((p) => [p.key, p] as const)).keys()].map(
    (key) => posts.find((p) => p.key === key) as (typeof posts)[number],
  );
  for (const post of firstPosts)
    for (const item of post.items) delivered.set(item.key, (delivered.get(item.key) ?? 0) + 1);
  const planned = new Map<string, NotificationItem>();
  for (const email of plannedByKey.values()) for (const item of email.items) planned.set(item.key, item);
  for (const [key, n] of delivered) if (n > 1) violations.push(`notice ${key} delivered ${n} times`);
  for (const d of deliveries)
    if (d.items.length === 0 && !d.digest) violations.push(`a send of ${d.key} that was never planned`);
  for (const p of posts) if (!plannedByKey.has(p.key)) violations.push(`a post of ${p.key} that was never planned`);
  // A reminder or escalation planned and then acknowledged before it went out is dropped, by design.
  const periodOf = (item: NotificationItem) => periods.get(`${item.fingerprint}|${item.startsAt}`);
  const acknowledgedSincePlanned = (item: NotificationItem) =>
    (item.kind === 'reminder' || item.kind === 'escalation') &&
    [...(periodOf(item)?.acks.values() ?? [])].some((ack) => ack.from >= (firstPlanned.get(item.key) ?? Infinity));
  let droppedAsAcknowledged = 0;
  for (const [key, item] of planned)
    if (delivered.has(key)) continue;
    else if (acknowledgedSincePlanned(item)) droppedAsAcknowledged++;
    else violations.push(`notice ${key} planned but never delivered`);

  // Daily digests: each receiver's digest of a day delivered once (the webhook's after dropping
  // repeated delivery ids); each day the monitor ran past the time has one.
  const digestDeliveries = new Map<string, number>();
  for (const d of deliveries)
    if (d.digest) digestDeliveries.set(`email:${d.digest}`, (digestDeliveries.get(`email:${d.digest}`) ?? 0) + 1);
  for (const key of new Set(posts.map((p) => p.key))) {
    const digest = digestOf(key);
    if (digest) digestDeliveries.set(`webhook:${digest}`, (digestDeliveries.get(`webhook:${digest}`) ?? 0) + 1);
  }
  for (const [key, n] of digestDeliveries) if (n > 1) violations.push(`digest ${key} delivered ${n} times`);
  for (const message of plannedByKey.values()) {
    if (!message.digest) continue;
    const key = `${message.channel ? 'webhook' : 'email'}:${message.digest.routeId}@${message.digest.date}`;
    if (!digestDeliveries.has(key)) violations.push(`digest ${key} planned but never delivered`);
  }
  const start = Date.parse('2026-11-27T00:00:00Z');
  for (const { route: r } of [policy.route, ...policy.route.routes]
    .filter((x) => x.digest)
    .map((x) => ({ route: x }))) {
    const digest = r.digest as NonNullable<Route['digest']>;
    for (let day = start; day + 24 * 3600_000 < now; day += 24 * 3600_000) {
      const { date, at } = dailyOccurrence(digest.at, digest.timeZone, new Date(day + 12 * 3600_000));
      if (at.getTime() < start || at.getTime() + 24 * 3600_000 > now) continue;
      for (const receiver of receiversOf(r)) {
        const key = `${receiver.channel ? 'webhook' : 'email'}:${r.id}@${date}`;
        if (!digestDeliveries.has(key)) violations.push(`no digest ${key}, although the monitor ran all that day`);
      }
    }
  }

  const byPeriodRoute = new Map<string, { firing: number; resolved: number }>();
  for (const item of planned.values()) {
    if (!delivered.has(item.key) || (item.kind !== 'firing' && item.kind !== 'resolved')) continue;
    const k = `${item.fingerprint}|${item.startsAt}|${item.routeId}`;
    const entry = byPeriodRoute.get(k) ?? { firing: 0, resolved: 0 };
    entry[item.kind]++;
    byPeriodRoute.set(k, entry);
  }
  for (const [key, period] of periods) {
    const [fingerprint, startsAt] = key.split('|') as [string, string];
    const routes = routesFor(
      policy.route,
      matchLabelsOf(
        { fingerprint, labels: period.labels, severity: 'critical', state: 'firing', annotations: {}, notified: {} },
        policy.tenantNames,
      ),
    );
    for (const r of routes) {
      const told = byPeriodRoute.get(`${fingerprint}|${startsAt}|${r.id}`) ?? { firing: 0, resolved: 0 };
      const longEnough = (period.resolvedAt ?? now) - period.firstAt >= 6 * CYCLE_MS;
      if (told.firing > 1 || told.resolved > 1)
        violations.push(`period ${key} on route ${r.id}: ${told.firing} firing and ${told.resolved} resolved notices`);
      if (longEnough && told.firing !== 1)
        violations.push(
          `period ${key} on route ${r.id} fired for ${Math.round(((period.resolvedAt ?? now) - period.firstAt) / 60_000)} min and was told ${told.firing} time(s)`,
        );
      if (told.firing === 1 && period.resolvedAt !== undefined && told.resolved !== 1)
        violations.push(
          `period ${key} on route ${r.id} ended and its resolved notice went out ${told.resolved} time(s)`,
        );
    }
  }

  // ---- acknowledgements and escalation -------------------------------------------------------------
  // Nobody is reminded, and no escalation goes out, while an acknowledgement of the period stands.
  const standsAt = (item: NotificationItem, at: number) =>
    [...(periodOf(item)?.acks.values() ?? [])].some((ack) => ack.from <= at && (ack.to === undefined || at < ack.to));
  const sentAt = [
    ...deliveries.flatMap((d) => d.items.map((item) => ({ item, at: d.at }))),
    ...firstPosts.flatMap((p) => p.items.map((item) => ({ item, at: p.at }))),
  ];
  for (const { item, at } of sentAt)
    if ((item.kind === 'reminder' || item.kind === 'escalation') && standsAt(item, at))
      violations.push(
        `${item.kind} ${item.key} went out at ${new Date(at).toISOString()} while the period stood acknowledged`,
      );
  // Each escalation step at most once per firing period (keys aside: one notice per step and period).
  const steps = new Map<string, number>();
  for (const item of planned.values())
    if (item.kind === 'escalation' && delivered.has(item.key)) {
      const k = `${item.fingerprint}|${item.startsAt}|${item.routeId}`;
      steps.set(k, (steps.get(k) ?? 0) + 1);
    }
  for (const [k, n] of steps) if (n > 1) violations.push(`escalation step ${k} went out ${n} times in one period`);
  // Every escalation owed went out: a step whose period fired unacknowledged for its delay and a
  // few cycles more (crashes, outages and kills may hold it that long) was delivered once.
  let escalationsOwed = 0;
  const escalationReceivers = receiversOf(policy.route.routes[0] as Route).filter((r) => r.escalation);
  for (const [key, period] of periods) {
    if (period.labels.condition !== 'quarantine') continue;
    const start = Date.parse(period.startsAt);
    const end = period.resolvedAt ?? now;
    // The stretches with no acknowledgement standing: from the start, and from each clear to the next acknowledgement.
    const acks = [...period.acks.values()].sort((a, b) => a.from - b.from);
    const stretches: [number, number][] = [];
    let from = start;
    for (const ack of acks) {
      if (ack.from > from) stretches.push([from, ack.from]);
      from = Math.max(from, ack.to ?? Infinity);
    }
    if (from < end) stretches.push([from, end]);
    for (const receiver of escalationReceivers) {
      const step = receiver.escalation as NonNullable<Route['escalation']>;
      if (step.severities && !step.severities.includes(period.severity)) continue;
      const owed = stretches.some(([a, b]) => Math.min(b, end) - a >= step.afterMs + 6 * CYCLE_MS);
      if (!owed) continue;
      escalationsOwed++;
      if (!delivered.has(`${key.split('|')[0]}:${receiver.id}:escalation:${period.startsAt}`))
        violations.push(`period ${key}: escalation to ${receiver.id} was owed and never delivered`);
    }
  }
  const escalationsDelivered = [...delivered.keys()].filter((k) => k.includes(':escalation:')).length;
  const acknowledgementsCleared = [...periods.values()].reduce(
    (n, p) => n + [...p.acks.values()].filter((a) => a.to !== undefined).length,
    0,
  );

  const sendTimes = deliveries.map((d) => d.at).sort((a, b) => a - b);
  const maxIn = (window: number) => {
    let max = 0;
    for (let i = 0, j = 0; i < sendTimes.length; i++) {
      while ((sendTimes[i] as number) - (sendTimes[j] as number) >= window) j++;
      max = Math.max(max, i - j + 1);
    }
    return max;
  };
  const maxSendsPerMinute = maxIn(60_000);
  const maxSendsPerHour = maxIn(3600_000);
  if (maxSendsPerMinute > BUDGET.perMinute)
    violations.push(`${maxSendsPerMinute} sends in one minute (budget ${BUDGET.perMinute})`);
  if (maxSendsPerHour > BUDGET.perHour)
    violations.push(`${maxSendsPerHour} sends in one hour (budget ${BUDGET.perHour})`);

  const jobs = tenants.reduce((n, t) => n + t.jobs.length, 0);
  // An alert row is one (tenant, service principal, job, condition): a job (or its configuration) has at most one per
  // registered condition, a tenant one per tenant-wide condition, however many cycles run.
  const tenantWide = RULES.filter((rule) => rule.scope === 'tenant').length;
  const alertBound = jobs * RULES.length + tenants.length * tenantWide;
  if (maxAlertRows > alertBound) violations.push(`${maxAlertRows} alert rows (at most ${alertBound} expected)`);
  if (maxStateRows > 60) violations.push(`${maxStateRows} state rows at once`);
  const outboxLeft = (await rowsOf('state')).filter((r) => r.partitionKey === 'outbox').length;
  if (outboxLeft > 0) violations.push(`${outboxLeft} outbox row(s) left after the drain`);
  const largest = largestProperty;
  if (largest > MAX_PROPERTY_CHARS) violations.push(`a property of ${largest} characters`);

  return {
    cycles: options.cycles,
    instanceRuns,
    overlaps,
    crashes,
    kills,
    faults,
    incidents: periods.size,
    emailsDelivered: deliveries.length,
    noticesDelivered: [...delivered.values()].reduce((a, b) => a + b, 0),
    noticesPlanned: planned.size,
    postsMade: posts.length,
    channelNoticesDelivered: firstPosts.reduce((n, post) => n + post.items.length, 0),
    digestsDelivered: [...digestDeliveries.values()].reduce((a, b) => a + b, 0),
    ackClicks,
    acknowledgements,
    acknowledgementsCleared,
    escalationsDelivered,
    escalationsOwed,
    droppedAsAcknowledged,
    maxSendsPerMinute,
    maxSendsPerHour,
    maxAlertRows,
    maxStateRows,
    largestPropertyChars: largest,
    simulatedDays: Math.round((now - Date.parse('2026-11-27T00:00:00Z')) / 86_400_000),
    wallMs: Math.round(performance.now() - started),
    violations,
  };
}

/** The report as the lines `npm run soak` prints. */
export function formatReport(r: SoakReport): string {
  const faults = Object.entries(r.faults)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return [
    `soak: ${r.cycles} cycles (+ a day of drain) over ${r.simulatedDays} simulated days in ${(r.wallMs / 1000).toFixed(1)} s`,
    `  instances run ${r.instanceRuns}, overlapping cycles ${r.overlaps}, crashes ${r.crashes}, kills ${r.kills}`,
    `  faults: ${faults || 'none'}`,
    `  incidents (firing periods) ${r.incidents}, notices planned ${r.noticesPlanned}, delivered ${r.noticesDelivered} in ${r.emailsDelivered} emails and ${r.postsMade} webhook posts (${r.channelNoticesDelivered} webhook notices once each after the receiver drops repeated delivery ids); ${r.digestsDelivered} daily digests`,
    `  acknowledge links opened ${r.ackClicks}, acknowledgements ${r.acknowledgements} (${r.acknowledgementsCleared} cleared by a change), reminders and escalations dropped as acknowledged since planned ${r.droppedAsAcknowledged}; escalations delivered ${r.escalationsDelivered} (${r.escalationsOwed} owed, checked)`,
    `  most sends in a minute ${r.maxSendsPerMinute} (budget ${BUDGET.perMinute}), in an hour ${r.maxSendsPerHour} (budget ${BUDGET.perHour})`,
    `  most alert rows ${r.maxAlertRows}, most state rows ${r.maxStateRows}, largest property ${r.largestPropertyChars} characters`,
    r.violations.length === 0
      ? '  invariants: all hold'
      : `  INVARIANTS BROKEN (${r.violations.length}):\n${r.violations
          .slice(0, 20)
          .map((v) => `    - ${v}`)
          .join('\n')}`,
  ].join('\n');
}
