import type { LinkLedger } from '../store/link-ledger';
import type { LinkRefusal, SignedLink } from '../util/signed-links';
import type { AlertRecord } from '../model';
import { alertHeading, tenantNameOf, viewOf } from '../evaluate/view';
import type { JobSnapshot } from '../model/observation';
import { formatTime } from '../util/text';
import { describeOperators, mayAct, operatorsFor, type ActionsAccess } from './access';
import {
  DecisionAudit,
  lastAttempt,
  type Actor,
  type Decision,
  type DecisionRecord,
  type RefusalRecord,
} from './audit';
import { execute, IN_FLIGHT_MS, settle, type ExecuteDeps } from './execute';
import type { JobActions } from './graph-actions';
import type { ActionsReadiness } from './readiness';
import { bindingOf, DECIDE_BOUND, verifyDecideLink, type DecideBinding } from './links';
import {
  confirmPage,
  decisionPage,
  DECIDE_PAGE_HEADERS,
  notePage,
  refusalPage,
  resultPage,
  type NowView,
  type OnDemandChoice,
  type Viewer,
} from './pages';
import { plansFor, type ActionPlan } from './plans';
import { csrfToken, csrfValid } from './sealed';
import {
  clearCookie,
  newSession,
  readSession,
  sessionCookie,
  SIGN_IN_COOKIE,
  type ResponseCookie,
  type Session,
} from './session';
import type { ActionsSettings } from '../settings/actions';
import type { SignInService } from './sign-in';
import { describeState, sameState, stateHash, stateNow } from './state';

/**
 * What the decide endpoint does (functions/decide.ts registers it), step by step:
 *
 *   GET  /api/decide?<link>   the link checked → sign-in (if no session) → who may act → the alert
 *                             and the job re-read from Graph → the decision page. Changes nothing.
 *   POST /api/decide          step=confirm: the same checks plus Origin and the anti-forgery token
 *                             → the confirmation page. step=act: all of it again → the decision
 *                             is carried out once (lib/actions/execute.ts) → the result page.
 *   GET  /api/decide/signed-in  Entra's answer to the sign-in → the session → back to the link.
 *
 * Every refusal has a name and its own words; a refusal that names a person (signed in) or a
 * genuine link is written to the audit (an anonymous flood of garbage is only logged). Nothing
 * about the alert is trusted from the request but its identity, which the signature vouches for.
 */

export interface DecideRequest {
  method: string;
  /** The part after /api/decide: '' or 'signed-in'. */
  step: string;
  query: Record<string, string>;
  /** The fields of an application/x-www-form-urlencoded POST. */
  form: Record<string, string>;
  cookies: Record<string, string>;
  /** The Origin header of a POST. */
  origin?: string;
}

export interface DecideResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  cookies: ResponseCookie[];
}

export interface DecideDeps {
  settings: ActionsSettings;
  access: ActionsAccess;
  alerts: { get(tenantId: string, fingerprint: string): Promise<AlertRecord | undefined> };
  ledger: LinkLedger;
  /** The Graph calls of a decision in one customer tenant. */
  graphFor(tenantId: string): JobActions;
  /** Whether the monitor may write in a tenant (its token there carries the action permission). */
  readiness?(tenantId: string): Promise<ActionsReadiness>;
  signIn: SignInService;
  tenantNames: Map<string, string>;
  now: () => Date;
  checkpoint?: ExecuteDeps['checkpoint'];
  log?: (line: string) => void;
}

const page = (status: number, body: string, cookies: ResponseCookie[] = []): DecideResponse => ({
  status,
  headers: DECIDE_PAGE_HEADERS,
  body,
  cookies,
});

/** The named refusals of a link, in words a person can act on. */
const LINK_WORDS: Record<LinkRefusal, [string, string]> = {
  damaged: ['This link is incomplete', 'Copy the link again from the message, whole.'],
  foreign: [
    'This link is not one of this monitor’s decision links',
    'It was made by another monitor, for something else, or with a key that has since been replaced. Use the “Review and decide” link of a recent message.',
  ],
  tampered: [
    'This link was changed',
    'Its signature does not match what it says. Use the link in the message as it is.',
  ],
  expired: [
    'This link has expired',
    'Decision links work for a limited time after their message (24 hours by default): the state may have changed since. Use the link of a newer message, or the Entra admin center.',
  ],
};

interface Context {
  request: DecideRequest;
  deps: DecideDeps;
  now: Date;
  fields: Record<string, string>;
  link?: SignedLink;
  binding?: DecideBinding;
  session?: Session;
}

function viewer(session: Session | undefined): Viewer | undefined {
  return session ? { name: session.person.name, upn: session.person.upn } : undefined;
}

/** Writes a refusal to the audit when someone is named (a session) or the link is genuine; logs it always. */
async function refuse(
  ctx: Context,
  status: number,
  refusal: string,
  title: string,
  text: string,
  extra: { now?: NowView; detail?: string; action?: string } = {},
): Promise<DecideResponse> {
  const who = ctx.session?.person;
  ctx.deps.log?.(
    `decide: refused (${refusal}) ${who ? `for ${who.upn || who.oid}` : 'anonymously'}${ctx.binding ? ` on alert ${ctx.binding.fingerprint} of tenant ${ctx.binding.tenantId}` : ''}`,
  );
  if (who || ctx.link) {
    const record: RefusalRecord = {
      v: 1,
      refusal,
      words: `${title}. ${text}`,
      ...(who ? { by: { name: who.name, upn: who.upn, oid: who.oid } } : {}),
      ...(ctx.binding
        ? { tenantId: ctx.binding.tenantId, fingerprint: ctx.binding.fingerprint, jobId: ctx.binding.jobId }
        : {}),
      ...(ctx.link ? { linkId: ctx.link.id } : {}),
      ...(extra.action ? { action: extra.action } : {}),
    };
    await new DecisionAudit(ctx.deps.ledger).refuse(record, ctx.now);
  }
  return page(status, refusalPage({ title, text, viewer: viewer(ctx.session), now: extra.now, detail: extra.detail }));
}

/** The alert as its messages name it (`Deletion threshold tripped: Fabrikam to Contoso (Contoso)`), and what they said. */
function describedAlert(
  alert: AlertRecord,
  deps: DecideDeps,
  now: Date,
): { heading: string; what: string; facts: [string, string][]; tenant: string; configuration: string } {
  const view = viewOf(alert, { now, tenantNames: deps.tenantNames });
  const tenant = tenantNameOf(alert, deps.tenantNames);
  return {
    heading: alertHeading(view, alert, tenant),
    what: view.what,
    facts: view.facts,
    tenant,
    configuration:
      typeof alert.annotations.servicePrincipalName === 'string' ? alert.annotations.servicePrincipalName : view.about,
  };
}

function nowView(job: JobSnapshot, alert: AlertRecord, readAt: Date): NowView {
  const state = stateNow(alert, job);
  const q = job.quarantine;
  const pairs: [string, string][] = [
    ['Job status', job.status.raw || 'not given'],
    ['Configuration', job.servicePrincipal.displayName],
  ];
  if (q) {
    pairs.push(['Quarantine reason', q.reason.raw || 'not given']);
    pairs.push(['Quarantined since', formatTime((q.seriesBegan ?? q.currentBegan)?.toISOString())]);
    if (q.error?.code) pairs.push(['Error code', q.error.code]);
  }
  if (state.held !== undefined) pairs.push(['Held deletes (as of the last check)', String(state.held)]);
  if (job.lastExecution?.timeBegan)
    pairs.push(['Last run began', formatTime(job.lastExecution.timeBegan.toISOString())]);
  return { readAt, words: `The job is ${describeState(state)}.`, facts: pairs };
}

/** The objects of the alert a person can pick for provision on demand: examples the failure digest named with their IDs. */
function onDemandChoices(alert: AlertRecord): OnDemandChoice[] {
  const choices: OnDemandChoice[] = [];
  try {
    const raw = alert.annotations.codes;
    // Structured annotations (a list) since issue 16; JSON text in rows an earlier release wrote.
    const codes = (typeof raw === 'string' ? JSON.parse(raw) : (raw ?? [])) as {
      examples?: { id?: string; name?: string; upn?: string }[];
    }[];
    for (const code of Array.isArray(codes) ? codes : [])
      for (const example of code.examples ?? [])
        if (example.id && GUID.test(example.id) && !choices.some((c) => c.objectId === example.id))
          choices.push({
            objectId: example.id,
            name:
              example.upn && example.upn !== example.name
                ? `${example.name} (${example.upn})`
                : String(example.name ?? example.id),
          });
  } catch {
    // An alert without readable examples offers only the object ID field.
  }
  return choices.slice(0, 10);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The link's fields, to carry through the forms (and nothing else of the request). */
function linkFieldsOf(fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of [...DECIDE_BOUND, 'i', 'e', 'k', 's'])
    if (fields[name] !== undefined) out[name] = fields[name] as string;
  return out;
}

function graphCallText(binding: DecideBinding, plan: ActionPlan, ruleId?: string, objectId?: string): string {
  const base = `POST /servicePrincipals/${binding.servicePrincipalId}/synchronization/jobs/${binding.jobId}`;
  if (plan.call === 'restart')
    return `${base}/restart\n${JSON.stringify({ criteria: { resetScope: plan.resetScope } })}`;
  return `${base}/provisionOnDemand\n${JSON.stringify({
    parameters: [
      { ruleId: ruleId ?? '<the rule the job schema names>', subjects: [{ objectId, objectTypeName: 'User' }] },
    ],
  })}`;
}

/** The sign-in callback: the person, a session, and back to the link. */
async function signedIn(ctx: Context): Promise<DecideResponse> {
  const { deps, request, now } = ctx;
  const result = await deps.signIn.finish(request.query, request.cookies[SIGN_IN_COOKIE], now);
  if (!result.ok) {
    deps.log?.(`decide: sign-in failed: ${result.reason}${result.detail ? ` (${result.detail})` : ''}`);
    return page(401, refusalPage({ title: 'Not signed in', text: result.reason, detail: result.detail }), [
      clearCookie(SIGN_IN_COOKIE),
    ]);
  }
  const session = newSession(result.person, deps.access, now);
  deps.log?.(`decide: ${result.person.upn || result.person.oid} signed in`);
  return {
    status: 303,
    headers: { ...DECIDE_PAGE_HEADERS, Location: `${deps.settings.baseUrl}/api/decide?${result.returnTo}` },
    body: '',
    cookies: [sessionCookie(session, deps.settings.signingKey, now), clearCookie(SIGN_IN_COOKIE)],
  };
}

/** What a used link shows: the decision as it stands, settled from Graph first if it was left half-done. */
async function decided(
  ctx: Context,
  decision: Decision,
  alert: AlertRecord | undefined,
): Promise<DecideResponse | undefined> {
  const { deps, now } = ctx;
  const last = lastAttempt(decision.record);
  const v = viewer(ctx.session) as Viewer;
  if (decision.record.status === 'done') {
    if (ctx.request.method === 'POST')
      return refuse(
        ctx,
        409,
        'replayed',
        'This link was used',
        `It acted once already: ${last.action} by ${last.by.name} at ${formatTime(last.startedAt)}.`,
      );
    return page(200, resultPage({ viewer: v, record: decision.record, already: true }));
  }
  const halfDone =
    (decision.record.status === 'started' && now.getTime() - Date.parse(last.startedAt) >= IN_FLIGHT_MS) ||
    decision.record.status === 'unknown';
  if (decision.record.status === 'started' && !halfDone)
    return page(202, resultPage({ viewer: v, record: decision.record }));
  if (halfDone && alert) {
    // Settled from Graph's state, never by calling again; and not acted on in the same request:
    // a new attempt is a person's decision on the page that shows how things stand now (a GET
    // goes on to that page).
    const settled = await settle(decision, alert, {
      ledger: deps.ledger,
      graph: deps.graphFor(decision.record.tenantId),
      now: deps.now,
    });
    if (settled.record.status === 'done') return page(200, resultPage({ viewer: v, record: settled.record }));
    if (settled.record.status === 'unknown') return page(202, resultPage({ viewer: v, record: settled.record }));
    if (ctx.request.method === 'POST') return page(502, resultPage({ viewer: v, record: settled.record }));
  }
  return undefined;
}

/** Checks everything about a request on a link and answers with the page it leads to. */
async function onLink(ctx: Context): Promise<DecideResponse> {
  const { request, deps, now, fields } = ctx;
  const { settings } = deps;
  const verified = verifyDecideLink(fields, settings, now);
  if (!verified.ok) {
    const [title, text] = LINK_WORDS[verified.refusal];
    return refuse(ctx, verified.status, verified.refusal, title, text);
  }
  ctx.link = verified.link;
  const binding = bindingOf(verified.link);
  ctx.binding = binding;

  if (!ctx.session) {
    if (request.method === 'POST')
      return refuse(
        ctx,
        401,
        'no-sign-in',
        'Sign in first',
        'Your sign-in has ended (it lasts 30 minutes). Open the link from the message again.',
      );
    const returnTo = new URLSearchParams(linkFieldsOf(fields)).toString();
    const { location, pending } = await deps.signIn.start(returnTo, now);
    return {
      status: 302,
      headers: { ...DECIDE_PAGE_HEADERS, Location: location },
      body: '',
      cookies: [{ name: SIGN_IN_COOKIE, value: pending, maxAgeSeconds: 600 }],
    };
  }

  if (request.method === 'POST' && request.origin !== new URL(settings.baseUrl).origin)
    return refuse(
      ctx,
      403,
      'cross-site',
      'Refused: not sent from this page',
      'A decision is taken only with the buttons of this monitor’s own pages.',
    );

  const verdict = mayAct(ctx.session.person, binding.tenantId, deps.access);
  if (!verdict.ok) {
    const tenant = deps.tenantNames.get(binding.tenantId.toLowerCase()) ?? binding.tenantId;
    const { tenantRule } = operatorsFor(deps.access, binding.tenantId);
    return refuse(
      ctx,
      403,
      'no-role',
      'You may not act on this alert',
      `Acting on ${tenantRule ? `alerts of ${tenant}` : 'alerts'} takes ${describeOperators(verdict.needs)}. Ask an administrator of the sign-in app (Enterprise applications > Users and groups) to assign it, then sign in again.`,
      verdict.overage
        ? {
            detail:
              'Your account is in more groups than a sign-in token lists (200), so group membership cannot be checked: use the app role.',
          }
        : {},
    );
  }
  const step = request.method === 'POST' ? fields.step : 'view';
  if (request.method === 'POST' && step !== 'confirm' && step !== 'act')
    return refuse(ctx, 400, 'bad-step', 'Refused', 'This form is not one of this monitor’s.');
  if (
    request.method === 'POST' &&
    !csrfValid(settings.signingKey, fields.csrf, ctx.session.sid, verified.link.id, step as string, now)
  )
    return refuse(
      ctx,
      403,
      'csrf',
      'Refused: the form’s anti-forgery token is missing or old',
      'Open the link from the message again and use the buttons on the page (a form is good for 30 minutes, and only in the browser that opened it).',
    );

  const alert = await deps.alerts.get(binding.tenantId, binding.fingerprint);
  const used = await deps.ledger.get<DecisionRecord>('decide', verified.link.id);
  if (used) {
    const answer = await decided(ctx, used, alert);
    if (answer) return answer;
  }
  if (!alert)
    return refuse(
      ctx,
      410,
      'alert-gone',
      'This alert is gone',
      'The monitor keeps no such alert any more (it ended more than a week ago). Nothing to decide.',
    );
  if (
    alert.labels.servicePrincipalId !== binding.servicePrincipalId ||
    alert.labels.jobId !== binding.jobId ||
    alert.labels.condition !== binding.condition
  )
    return refuse(
      ctx,
      403,
      'foreign-job',
      'This link names another job than its alert',
      'The job in the link is not the alert’s. Nothing is done on a job the alert is not about.',
    );
  const described = describedAlert(alert, deps, now);
  if (alert.state !== 'firing' || alert.startsAt !== binding.startsAt) {
    const why =
      alert.state === 'resolved'
        ? `The alert ended at ${formatTime(alert.endsAt)}: ${described.heading}.`
        : `A new alert began at ${formatTime(alert.startsAt)} since this message; its own message has its own link.`;
    return refuse(ctx, 409, 'stale', 'This message is out of date', why);
  }

  const ready = await deps.readiness?.(binding.tenantId);
  if (ready && !ready.possible)
    return refuse(
      ctx,
      403,
      'not-permitted',
      'The monitor may not act in this tenant',
      `Its sign-in to ${described.tenant} does not carry ${ready.missing.join(', ')}: an administrator of that tenant has not consented to decisions from alerts. Decide in the Entra admin center instead, or ask for the consent (docs/decisions.md, "Decisions from an alert").`,
    );

  const graph = deps.graphFor(binding.tenantId);
  let job: JobSnapshot;
  try {
    job = await graph.job(binding.servicePrincipalId, binding.jobId);
  } catch (error) {
    deps.log?.(
      `decide: reading job ${binding.jobId} of tenant ${binding.tenantId} failed: ${(error as Error).message}`,
    );
    return page(
      503,
      refusalPage({
        title: 'Graph could not be read',
        text: 'The job could not be read from Microsoft Graph just now, so nothing is offered. Try again in a minute.',
        viewer: viewer(ctx.session),
        detail: (error as Error).message.slice(0, 300),
      }),
    );
  }
  const nowState = stateNow(alert, job);
  const now$ = nowView(job, alert, now);
  if (!sameState({ hash: binding.stateHash, held: binding.held }, nowState))
    return refuse(
      ctx,
      409,
      'stale',
      'The state changed since the message',
      `The message was about another state than the job is in now: it is ${describeState(nowState)}. Nothing is offered on an out-of-date message; a new message follows if it still needs a decision.`,
      { now: now$ },
    );

  // Another message's link about the same alert and state may have decided already: a restart
  // takes effect at the job's next run, so until then the state looks the same and a second link
  // would restart it again.
  const elsewhere = (await new DecisionAudit(deps.ledger).decisions(new Date(Date.parse(binding.startsAt)))).find(
    (d) =>
      d.linkId !== verified.link.id &&
      d.record.fingerprint === binding.fingerprint &&
      d.record.alertStartsAt === binding.startsAt &&
      d.record.status !== 'refused' &&
      d.record.status !== 'interrupted' &&
      lastAttempt(d.record).stateHash === stateHash(nowState),
  );
  if (elsewhere) {
    const last = lastAttempt(elsewhere.record);
    return refuse(
      ctx,
      409,
      'decided-elsewhere',
      'Already decided from another message',
      `${last.action} by ${last.by.name} at ${formatTime(last.startedAt)} (${elsewhere.record.status === 'done' ? 'Graph accepted it; it takes effect when the job next runs' : 'its outcome is not known yet'}). Nothing more is done from this link.`,
      { now: now$ },
    );
  }

  const plans = plansFor(alert, settings.actions);
  const by: Actor = {
    name: ctx.session.person.name,
    upn: ctx.session.person.upn,
    oid: ctx.session.person.oid,
    via: verdict.via,
  };
  const choices = onDemandChoices(alert);
  const linkFields = linkFieldsOf(fields);
  if (request.method === 'GET') {
    const previous = used && used.record.status !== 'done' ? lastAttempt(used.record) : undefined;
    return page(
      200,
      decisionPage({
        viewer: viewer(ctx.session) as Viewer,
        heading: described.heading,
        what: described.what,
        sent: described.facts,
        sentAt: alert.startsAt,
        now: now$,
        offers: plans.map((plan) => ({
          plan,
          fields: {
            ...linkFields,
            step: 'confirm',
            action: plan.name,
            csrf: csrfToken(settings.signingKey, ctx.session!.sid, verified.link.id, 'confirm', now),
          },
        })),
        choices,
        ...(previous ? { previous } : {}),
      }),
    );
  }

  const plan = plans.find((p) => p.name === fields.action);
  if (!plan)
    return refuse(
      ctx,
      400,
      'not-offered',
      'This decision is not offered here',
      `“${String(fields.action ?? '').slice(0, 40)}” is not a decision this alert offers.`,
    );
  let subject: { objectId: string; name: string } | undefined;
  let ruleId: string | undefined;
  if (plan.call === 'provisionOnDemand') {
    const typed = (fields.other ?? '').trim();
    const picked = typed || fields.subject || '';
    if (!GUID.test(picked))
      return refuse(
        ctx,
        400,
        'bad-subject',
        'Which user?',
        typed
          ? 'Enter the object ID of the user (a GUID: Entra admin center > Users > the user > Object ID). Finding a user by UPN would need permission to read every user, which the monitor does not ask for.'
          : 'Pick one of the objects the alert names, or enter an object ID.',
        { action: plan.name },
      );
    subject = {
      objectId: picked.toLowerCase(),
      name: choices.find((c) => c.objectId.toLowerCase() === picked.toLowerCase())?.name ?? picked,
    };
    try {
      ruleId = await graph.onDemandRule(binding.servicePrincipalId, binding.jobId);
    } catch (error) {
      return page(
        503,
        refusalPage({
          title: 'Graph could not be read',
          text: 'The job’s schema could not be read, so provision on demand cannot be set up. Try again in a minute.',
          viewer: viewer(ctx.session),
          detail: (error as Error).message.slice(0, 300),
        }),
      );
    }
    if (!ruleId)
      return refuse(
        ctx,
        409,
        'no-rule',
        'This job offers no provision on demand',
        'Its schema names no synchronization rule that supports provision on demand.',
        { action: plan.name },
      );
  }

  if (step === 'confirm')
    return page(
      200,
      confirmPage({
        viewer: viewer(ctx.session) as Viewer,
        heading: described.heading,
        plan,
        now: now$,
        graphCall: graphCallText(binding, plan, ruleId, subject?.objectId),
        ...(subject ? { subjectName: subject.name } : {}),
        fields: {
          ...linkFields,
          step: 'act',
          action: plan.name,
          ...(subject ? { other: subject.objectId } : {}),
          csrf: csrfToken(settings.signingKey, ctx.session.sid, verified.link.id, 'act', now),
        },
      }),
    );

  const outcome = await execute(
    {
      link: verified.link,
      binding,
      plan,
      by,
      alert,
      stateSeenHash: stateHash(nowState),
      jobSeen: job,
      stateSeen: describeState(nowState),
      heading: described.heading,
      tenantName: described.tenant,
      configuration: described.configuration,
      ...(subject ? { subject: { ...subject, objectTypeName: 'User' as const } } : {}),
      ...(ruleId ? { ruleId } : {}),
    },
    { ledger: deps.ledger, graph, now: deps.now, checkpoint: deps.checkpoint },
  );
  const record = outcome.decision.record;
  deps.log?.(
    `decide: ${plan.name} on alert ${binding.fingerprint} by ${by.upn || by.oid}: ${outcome.kind}, ${record.status}`,
  );
  if (outcome.kind === 'used')
    return refuse(
      ctx,
      409,
      'replayed',
      'This link was used',
      `It acted once already: ${lastAttempt(record).action} by ${lastAttempt(record).by.name}.`,
    );
  const status =
    outcome.kind === 'in-progress' || record.status === 'unknown' ? 202 : record.status === 'done' ? 200 : 502;
  return page(status, resultPage({ viewer: viewer(ctx.session) as Viewer, record }));
}

/** Handles one request of the decide endpoint. */
export async function handleDecide(request: DecideRequest, deps: DecideDeps): Promise<DecideResponse> {
  const now = deps.now();
  const fields = request.method === 'POST' ? request.form : request.query;
  const ctx: Context = {
    request,
    deps,
    now,
    fields,
    session: readSession(request.cookies, deps.settings.signingKey, now),
  };
  if (request.step === 'signed-in' && request.method === 'GET') return signedIn(ctx);
  if (request.step !== '') return page(404, notePage('Not found', 'There is nothing here.'));
  if (request.method !== 'GET' && request.method !== 'POST')
    return {
      ...page(405, notePage('Not allowed', 'Open the link from the message.')),
      headers: { ...DECIDE_PAGE_HEADERS, Allow: 'GET, POST' },
    };
  if (
    request.method === 'GET' &&
    (fields.step !== undefined || fields.csrf !== undefined || fields.action !== undefined)
  ) {
    const verified = verifyDecideLink(fields, deps.settings, now);
    if (verified.ok) {
      ctx.link = verified.link;
      ctx.binding = bindingOf(verified.link);
    }
    return refuse(
      ctx,
      405,
      'get-acts',
      'Opening a link never acts',
      'A decision is taken only with the button on the confirmation page (a POST from this monitor’s page). Open the link as it is in the message.',
    );
  }
  return onLink(ctx);
}
