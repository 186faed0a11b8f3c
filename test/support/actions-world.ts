import { DEFAULT_ACCESS, type ActionsAccess, type Person } from '../../lib/actions/access';
import { GraphWriteError, type GraphAnswer, type JobActions } from '../../lib/actions/graph-actions';
import { handleDecide, type DecideDeps, type DecideRequest, type DecideResponse } from '../../lib/actions/handler';
import { decideLinkFor } from '../../lib/actions/links';
import { readOnDemandAnswer } from '../../lib/actions/on-demand';
import { newSession, SESSION_COOKIE, SESSION_LIFETIME_MS, sessionCookie } from '../../lib/actions/session';
import { ACTION_NAMES, type ActionsSettings } from '../../lib/settings/actions';
import type { SignInService } from '../../lib/actions/sign-in';
import { LinkLedger } from '../../lib/store/link-ledger';
import type { AlertRecord } from '../../lib/model';
import type { JobSnapshot } from '../../lib/model/observation';
import { MemoryTable } from './memory-table';

/**
 * A world for the decide endpoint's unit tests: its real handler, ledger (on the in-memory table)
 * and pages, with Graph, the alert store and the sign-in replaced by small fakes that behave as
 * documented (restart's reset scopes change the job as Microsoft describes them). The integration
 * tests run the same handler against the emulators and Azurite.
 */

export const BASE = 'https://watch.contoso.com';
const ORIGIN = BASE;

export const SETTINGS: ActionsSettings = {
  actions: [...ACTION_NAMES],
  signingKey: 'a'.repeat(48),
  baseUrl: BASE,
  linkLifetimeMs: 24 * 3600_000,
  signIn: {
    tenantId: '11111111-2222-4333-8444-555555555555',
    clientId: '66666666-7777-4888-9999-000000000000',
    authorityHost: 'https://login.microsoftonline.com',
    clientSecret: 'secret',
  },
};

export const OPERATOR: Person = {
  oid: 'a0a0a0a0-0000-4000-8000-000000000001',
  tid: SETTINGS.signIn.tenantId,
  name: 'Adele Vance',
  upn: 'adele.vance@contoso.com',
  roles: ['SyncWatch.Operator'],
  groups: [],
  groupsOverage: false,
};

export const BYSTANDER: Person = {
  ...OPERATOR,
  oid: 'b0b0b0b0-0000-4000-8000-000000000002',
  name: 'Megan Bowen',
  upn: 'megan.bowen@contoso.com',
  roles: [],
};

/** A job as Graph would return it, from the alert's labels: quarantined as the alert says. */
export function jobOf(alert: AlertRecord, reason = String(alert.annotations.reason ?? 'TooManyDeletes')): JobSnapshot {
  const job = {
    tenantId: alert.labels.tenantId,
    servicePrincipal: { id: alert.labels.servicePrincipalId, appId: 'app', displayName: 'Fabrikam to Contoso' },
    jobId: alert.labels.jobId,
    templateId: 'Azure2Azure',
  };
  if (alert.annotations.seriesBegan === undefined)
    return {
      ...job,
      status: { known: 'Active', raw: 'Active' },
      lastExecution: { timeBegan: new Date('2026-11-27T06:00:00Z') },
    };
  const series = new Date(String(alert.annotations.seriesBegan));
  return {
    ...job,
    status: { known: 'Quarantine', raw: 'Quarantine' },
    quarantine: { reason: { known: reason as never, raw: reason }, seriesBegan: series, currentBegan: series },
  };
}

type FakeFault =
  | { kind: 'refuse'; status: 403 | 409 | 404 | 429; code: string }
  | { kind: 'fail'; status: 500 | 503 }
  /** Graph carries the restart out, and its answer is lost on the way back (a 504, a reset socket). */
  | { kind: 'lose-answer' };

/** Graph as far as a decision sees it: one job, its restarts and on-demand provisioning. */
class FakeGraph implements JobActions {
  restarts: { scope: string; at: number }[] = [];
  onDemand: { ruleId: string; objectId: string }[] = [];
  faults: FakeFault[] = [];
  reads = 0;
  readFault: Error | undefined;
  rule: string | undefined = 'USER_INBOUND_USER';

  constructor(public snapshot: JobSnapshot) {}

  async job(): Promise<JobSnapshot> {
    this.reads++;
    if (this.readFault) throw this.readFault;
    return structuredClone(this.snapshot);
  }

  private pending: string[] = [];

  /**
   * The job runs at `at` (Entra's next cycle): restarts accepted since the last run take effect
   * (ForceDeletes runs the held deletes and leaves quarantine; QuarantineState lifts it), as the
   * Graph emulator models it; without one, a quarantined job is evaluated again (a new currentBegan).
   */
  run(at: Date): void {
    const scopes = this.pending.flatMap((scope) => scope.split(',').map((s) => s.trim()));
    this.pending = [];
    if (scopes.includes('ForceDeletes') || scopes.includes('QuarantineState')) {
      const { quarantine: _lifted, ...rest } = this.snapshot;
      this.snapshot = { ...rest, status: { known: 'Active', raw: 'Active' }, lastExecution: { timeBegan: at } };
    } else if (this.snapshot.quarantine)
      this.snapshot = {
        ...this.snapshot,
        quarantine: {
          ...this.snapshot.quarantine,
          currentBegan: at,
          seriesCount: (this.snapshot.quarantine.seriesCount ?? 1) + 1,
        },
      };
    else this.snapshot = { ...this.snapshot, lastExecution: { timeBegan: at } };
  }

  async restart(_sp: string, _job: string, resetScope: string): Promise<GraphAnswer> {
    const fault = this.faults.shift();
    if (fault?.kind === 'refuse')
      throw new GraphWriteError(
        { status: fault.status, code: fault.code, message: `${fault.code} from the fake` },
        'refused',
      );
    if (fault?.kind === 'fail')
      throw new GraphWriteError({ status: fault.status, code: 'UnknownError', message: 'fake outage' }, 'unknown');
    this.restarts.push({ scope: resetScope, at: Date.now() });
    this.pending.push(resetScope);
    if (fault?.kind === 'lose-answer') throw new GraphWriteError({ status: 0, message: 'socket hang up' }, 'unknown');
    return { status: 204, requestId: 'req-1' };
  }

  async onDemandRule(): Promise<string | undefined> {
    return this.rule;
  }

  async provisionOnDemand(_sp: string, _job: string, ruleId: string, subject: { objectId: string }) {
    const fault = this.faults.shift();
    if (fault?.kind === 'refuse')
      throw new GraphWriteError(
        { status: fault.status, code: fault.code, message: `${fault.code} from the fake` },
        'refused',
      );
    this.onDemand.push({ ruleId, objectId: subject.objectId });
    const value = {
      reportableIdentifier: 'alex.wilber@fabrikam.com',
      provisioningSteps: [
        {
          name: 'EntryImport',
          type: 'Import',
          status: 'Success',
          description: "Retrieved User 'alex.wilber@fabrikam.com' from the source",
        },
        {
          name: 'EntrySynchronizationScoping',
          type: 'Scoping',
          status: 'Success',
          description: 'In scope',
          details: { Assigned: 'True' },
        },
        {
          name: 'EntryExport',
          type: 'Export',
          status: 'Failure',
          description: '<script>alert(1)</script> target refused the update',
        },
      ],
      statusInfo: { status: 'Failure', reason: 'The target refused the update' },
    };
    const body = { key: JSON.stringify({ result: 'Failure', details: {} }), value: JSON.stringify(value) };
    return { answer: { status: 200 }, result: readOnDemandAnswer(body) };
  }
}

/** A sign-in that knows people by the `code` Entra would send back. */
function fakeSignIn(people: Record<string, Person>): SignInService {
  return {
    async start(returnTo) {
      return { location: `https://login.microsoftonline.com/authorize?state=s1`, pending: `pending:${returnTo}` };
    },
    async finish(query, pending) {
      if (!pending?.startsWith('pending:')) return { ok: false, reason: 'no sign-in started' };
      const person = people[query.code ?? ''];
      return person
        ? { ok: true, person, returnTo: pending.slice('pending:'.length) }
        : { ok: false, reason: 'unknown code' };
    },
  };
}

export interface ActionsWorld {
  deps: DecideDeps;
  graph: FakeGraph;
  ledger: LinkLedger;
  table: MemoryTable;
  alerts: Map<string, AlertRecord>;
  clock: { now: Date };
  /** The alert's "Review and decide" link as its message would carry it, made now. */
  linkFor(alert: AlertRecord): string;
  /** The session cookie of a person (signed in when first asked for, then the same one). */
  cookieFor(person: Person): Record<string, string>;
  get(url: string, cookies?: Record<string, string>): Promise<DecideResponse>;
  post(form: Record<string, string>, cookies?: Record<string, string>, origin?: string): Promise<DecideResponse>;
  send(request: Partial<DecideRequest>): Promise<DecideResponse>;
}

export function actionsWorld(
  alert: AlertRecord,
  options: { access?: ActionsAccess; settings?: Partial<ActionsSettings>; now?: Date } = {},
): ActionsWorld {
  const table = new MemoryTable('ledger');
  const ledger = new LinkLedger(table.asClient());
  const graph = new FakeGraph(jobOf(alert));
  const alerts = new Map([[`${alert.labels.tenantId}|${alert.fingerprint}`, alert]]);
  const clock = { now: options.now ?? new Date('2026-11-27T07:12:00Z') };
  const settings = { ...SETTINGS, ...options.settings };
  const log: string[] = [];
  const sessions = new Map<string, { cookie: string; at: number }>();
  const deps: DecideDeps = {
    settings,
    access: options.access ?? DEFAULT_ACCESS,
    alerts: { get: async (t, f) => structuredClone(alerts.get(`${t}|${f}`)) },
    ledger,
    graphFor: () => graph,
    signIn: fakeSignIn({ 'code-adele': OPERATOR, 'code-megan': BYSTANDER }),
    tenantNames: new Map([[alert.labels.tenantId.toLowerCase(), 'Contoso']]),
    now: () => clock.now,
    log: (line) => log.push(line),
  };
  const send = (request: Partial<DecideRequest>) =>
    handleDecide({ method: 'GET', step: '', query: {}, form: {}, cookies: {}, ...request }, deps);
  return {
    deps,
    graph,
    ledger,
    table,
    alerts,
    clock,
    linkFor: (a) => decideLinkFor(a, settings, clock.now)?.href ?? '',
    cookieFor: (person) => {
      // One session per person and world, as one browser keeps one, until it ends (the person signs in again).
      let session = sessions.get(JSON.stringify(person));
      if (!session || clock.now.getTime() - session.at >= SESSION_LIFETIME_MS) {
        const cookie = sessionCookie(newSession(person, deps.access, clock.now), settings.signingKey, clock.now).value;
        session = { cookie, at: clock.now.getTime() };
        sessions.set(JSON.stringify(person), session);
      }
      return { [SESSION_COOKIE]: session.cookie };
    },
    get: (url, cookies = {}) => send({ method: 'GET', query: Object.fromEntries(new URL(url).searchParams), cookies }),
    post: (form, cookies = {}, origin = ORIGIN) => send({ method: 'POST', form, cookies, origin }),
    send,
  };
}

/** The hidden fields of the form whose button says `button` (or of the first form). */
export function formFields(html: string, button?: string): Record<string, string> {
  const forms = [...html.matchAll(/<form method="post"[^>]*>([\s\S]*?)<\/form>/g)].map((m) => m[1] as string);
  const form = button ? forms.find((f) => f.includes(button)) : forms[0];
  if (!form) throw new Error(`no form${button ? ` with "${button}"` : ''} on the page`);
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    fields[m[1] as string] = (m[2] as string)
      .replace(/&amp;/g, '&')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>');
  return fields;
}
