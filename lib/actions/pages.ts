import { htmlPage } from '../util/html-page';
import { escapeHtml as e, formatTime } from '../util/text';
import type { Attempt, DecisionRecord } from './audit';
import type { OnDemandResult } from './on-demand';
import type { ActionPlan } from './plans';

/**
 * The pages of the decide endpoint: phone first (375 px) and desktop, no script, no sideways
 * scrolling (long names, job IDs and Graph's messages wrap anywhere), every value escaped (names,
 * reasons and steps come from Graph and from tenants' admins). Forms post only to this endpoint.
 */

const DECIDE_PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/**
 * `Referrer-Policy: same-origin`: the link's signed query never goes to another site, while the
 * page's own form posts still carry an `Origin` the endpoint can check (under `no-referrer`,
 * browsers send `Origin: null` with a POST, per the Fetch standard, which would make that check
 * worthless).
 */
export const DECIDE_PAGE_HEADERS: Record<string, string> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': DECIDE_PAGE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'same-origin',
};

const STYLE = `*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1b1b1f;margin:0;padding:12px;background:#f3f2f1;overflow-wrap:anywhere}
main{max-width:760px;margin:0 auto;background:#fff;padding:16px;border-radius:6px}
header{font-size:13px;color:#605e5c;display:flex;flex-wrap:wrap;justify-content:space-between;gap:4px 12px;margin-bottom:8px}
h1{font-size:20px;line-height:1.3;margin:0 0 8px}h2{font-size:17px;margin:20px 0 8px}
.alert{font-weight:600}.muted{color:#605e5c;font-size:14px}
.banner{padding:10px 12px;border-radius:4px;margin:12px 0;border-left:4px solid}
.banner.bad{background:#fde7e9;border-color:#c50f1f}.banner.good{background:#e7f6e9;border-color:#107c10}.banner.info{background:#eef4fc;border-color:#0f6cbd}.banner.warn{background:#fff4ce;border-color:#bc4b09}
dl{margin:0}dl div{padding:6px 0;border-top:1px solid #edebe9}dt{font-size:13px;color:#605e5c}dd{margin:0}
code{font:13px/1.4 ui-monospace,Consolas,monospace;background:#f3f2f1;padding:2px 4px;border-radius:3px;overflow-wrap:anywhere}
pre{font:13px/1.4 ui-monospace,Consolas,monospace;background:#f3f2f1;padding:8px;border-radius:4px;white-space:pre-wrap;overflow-wrap:anywhere;margin:8px 0}
form{margin:12px 0}.choice{border:1px solid #e1dfdd;border-radius:6px;padding:12px;margin:12px 0}
.choice h3{font-size:16px;margin:0 0 4px}.choice p{margin:4px 0 8px}
button{display:block;width:100%;min-height:44px;padding:10px 18px;font:inherit;font-weight:600;color:#fff;background:#0f6cbd;border:0;border-radius:4px;cursor:pointer}
button.danger{background:#c50f1f}
label{display:block;margin:8px 0 4px;font-size:14px}input[type=text]{width:100%;padding:8px;font:inherit;border:1px solid #8a8886;border-radius:4px}
.radio{display:flex;gap:8px;align-items:flex-start;margin:6px 0;font-size:15px}.radio input{margin-top:5px}
ol.steps{padding:0;list-style:none;margin:0}ol.steps li{border:1px solid #e1dfdd;border-radius:6px;padding:8px 10px;margin:8px 0}
.status{font-weight:600}.status.Success,.status.success{color:#107c10}.status.Failure,.status.failure,.status.Failed{color:#c50f1f}.status.Skipped,.status.skipped{color:#605e5c}
@media (min-width:640px){body{padding:24px}main{padding:24px 28px}button{display:inline-block;width:auto}}`;

function document(title: string, main: string): string {
  return htmlPage(title, STYLE, main);
}

/** Who is signed in, for the header of every page after sign-in. */
export interface Viewer {
  name: string;
  upn: string;
}

function header(viewer: Viewer | undefined): string {
  const who = viewer
    ? `<span>Signed in as ${e(viewer.name)}${viewer.upn && viewer.upn !== viewer.name ? ` (${e(viewer.upn)})` : ''}</span>`
    : '';
  return `<header><span>Entra Sync Watch · decision from an alert</span>${who}</header>`;
}

function facts(pairs: [string, string][]): string {
  if (pairs.length === 0) return '';
  return `<dl>${pairs.map(([k, v]) => `<div><dt>${e(k)}</dt><dd>${e(v)}</dd></div>`).join('')}</dl>`;
}

function hidden(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${e(name)}" value="${e(value)}">`)
    .join('\n');
}

/** What Graph says now, read at `readAt`. */
export interface NowView {
  readAt: Date;
  words: string;
  facts: [string, string][];
}

function nowBlock(now: NowView): string {
  return `<h2>Now, per Microsoft Graph</h2>
<p class="muted">Read at ${e(formatTime(now.readAt.toISOString()))}.</p>
<p><strong>${e(now.words)}</strong></p>
${facts(now.facts)}`;
}

/** One offered decision with the form that leads to its confirmation. */
export interface OfferedPlan {
  plan: ActionPlan;
  fields: Record<string, string>;
}

/** A candidate object for provision on demand (from the alert's examples). */
export interface OnDemandChoice {
  objectId: string;
  name: string;
}

function planForm(offer: OfferedPlan, choices: OnDemandChoice[]): string {
  const { plan } = offer;
  const subject =
    plan.call === 'provisionOnDemand'
      ? `${choices
          .map(
            (c, i) =>
              `<label class="radio"><input type="radio" name="subject" value="${e(c.objectId)}"${i === 0 ? ' checked' : ''}><span>${e(c.name)}</span></label>`,
          )
          .join('\n')}
<label for="other">${choices.length > 0 ? 'Or another object: its object ID' : 'The object ID of the user (Entra admin center > Users > the user > Object ID)'}</label>
<input type="text" id="other" name="other" maxlength="200" autocomplete="off" spellcheck="false">`
      : '';
  return `<div class="choice">
<h3>${e(plan.label)}</h3>
<p>${e(plan.does)}</p>
<form method="post" action="">
${hidden(offer.fields)}
${subject}
<button type="submit"${plan.name === 'approve-deletes' ? ' class="danger"' : ''}>${e(plan.label)}…</button>
</form>
</div>`;
}

/** The decision page: the alert, the job now, the decisions on offer. Opening it changes nothing. */
export function decisionPage(input: {
  viewer: Viewer;
  heading: string;
  what: string;
  sent: [string, string][];
  sentAt?: string;
  now: NowView;
  offers: OfferedPlan[];
  choices: OnDemandChoice[];
  previous?: Attempt;
}): string {
  const previous = input.previous
    ? `<div class="banner warn"><strong>An earlier attempt did not take effect.</strong> ${e(attemptWords(input.previous))}</div>`
    : '';
  return document(
    'Decide',
    `${header(input.viewer)}
<h1>${e(input.heading)}</h1>
<p>${e(input.what)}</p>
${previous}
${nowBlock(input.now)}
<h2>Decide</h2>
${input.offers.map((o) => planForm(o, input.choices)).join('\n')}
<p class="muted">Nothing has changed yet: each button first shows exactly what will happen. This link acts once.</p>
<h2>What the alert said${input.sentAt ? ` (${e(formatTime(input.sentAt))})` : ''}</h2>
${facts(input.sent)}`,
  );
}

/** The confirmation page: exactly what will happen, the Graph call, and the button that does it. */
export function confirmPage(input: {
  viewer: Viewer;
  heading: string;
  plan: ActionPlan;
  now: NowView;
  graphCall: string;
  subjectName?: string;
  fields: Record<string, string>;
}): string {
  const { plan } = input;
  return document(
    'Confirm',
    `${header(input.viewer)}
<h1>${e(plan.label)}?</h1>
<p class="alert">${e(input.heading)}</p>
${input.subjectName ? `<p>Object: <strong>${e(input.subjectName)}</strong></p>` : ''}
<p>${e(plan.does)}</p>
${plan.warning ? `<div class="banner warn">${e(plan.warning)}</div>` : ''}
${nowBlock(input.now)}
<h2>The call to Microsoft Graph</h2>
<pre>${e(input.graphCall)}</pre>
<form method="post" action="">
${hidden(input.fields)}
<button type="submit"${plan.name === 'approve-deletes' ? ' class="danger"' : ''}>Confirm: ${e(plan.label.toLowerCase())}</button>
</form>
<p class="muted">Your decision is recorded with your name, the state above and Graph's answer, and the alert's recipients are told.</p>`,
  );
}

/** One attempt in words: who, what, when, and what came of it. */
function attemptWords(attempt: Attempt): string {
  const graph = attempt.graph
    ? ` Graph answered ${attempt.graph.status || 'nothing'}${attempt.graph.code ? ` ${attempt.graph.code}` : ''}${attempt.graph.message ? `: ${attempt.graph.message}` : ''}.`
    : '';
  const what = `${attempt.action}${attempt.resetScope ? ` (resetScope ${attempt.resetScope})` : ''}${attempt.subject ? ` for ${attempt.subject.name ?? attempt.subject.objectId}` : ''}`;
  return `${what} by ${attempt.by.name} at ${formatTime(attempt.startedAt)}: ${STATUS_WORDS[attempt.status]}.${graph}${attempt.note ? ` ${attempt.note}` : ''}`;
}

const STATUS_WORDS: Record<Attempt['status'], string> = {
  started: 'under way',
  done: 'done',
  refused: 'refused by Graph, nothing was done',
  unknown: 'no clear answer from Graph, so not known yet',
  interrupted: 'interrupted before Graph answered, not done',
};

function stepsBlock(result: OnDemandResult): string {
  const steps = result.steps
    .map(
      (
        s,
      ) => `<li><div><span class="status ${e(s.status.replace(/[^A-Za-z]/g, ''))}">${e(s.status || 'no status')}</span> · ${e(s.type || s.name)}${s.name && s.type ? ` <span class="muted">(${e(s.name)})</span>` : ''}</div>
<div>${e(s.description)}</div>${s.details.length > 0 ? `<details><summary class="muted">Details</summary>${facts(s.details)}</details>` : ''}</li>`,
    )
    .join('\n');
  return `<h2>Graph’s steps${result.subject ? ` for ${e(result.subject)}` : ''}</h2>
<p>Result: <span class="status ${e((result.result ?? '').replace(/[^A-Za-z]/g, ''))}">${e(result.result ?? 'not given')}</span>${result.reason ? ` · ${e(result.reason)}` : ''}</p>
${steps ? `<ol class="steps">${steps}</ol>` : '<p class="muted">Graph listed no steps.</p>'}`;
}

/** The result page: Graph's answer to this decision (and provisionOnDemand's steps), or why it was not done. */
export function resultPage(input: { viewer: Viewer; record: DecisionRecord; already?: boolean }): string {
  const { record } = input;
  const last = record.attempts[record.attempts.length - 1] as Attempt;
  const banner =
    record.status === 'done'
      ? `<div class="banner good"><strong>${input.already ? 'Already decided.' : 'Done.'}</strong> ${e(attemptWords(last))}</div>`
      : record.status === 'started'
        ? `<div class="banner info"><strong>Under way.</strong> ${e(attemptWords(last))} Reload this page in a minute.</div>`
        : record.status === 'unknown'
          ? `<div class="banner warn"><strong>Not known yet.</strong> ${e(attemptWords(last))}</div>`
          : `<div class="banner bad"><strong>Not done.</strong> ${e(attemptWords(last))}</div>`;
  const earlier = record.attempts.slice(0, -1);
  return document(
    record.status === 'done' ? 'Decided' : 'Not done',
    `${header(input.viewer)}
<h1>${e(record.heading)}</h1>
${banner}
${record.result ? stepsBlock(record.result) : ''}
${earlier.length > 0 ? `<h2>Earlier attempts</h2>${earlier.map((a) => `<p class="muted">${e(attemptWords(a))}</p>`).join('')}` : ''}
<p class="muted">Recorded in the audit (status page) and told to the alert's recipients.${record.status === 'done' ? '' : ' Open the link from the message again to see the state now and decide.'}</p>`,
  );
}

/** A refusal: what was refused and why, and, when known, what is true now. */
export function refusalPage(input: {
  title: string;
  text: string;
  viewer?: Viewer;
  now?: NowView;
  detail?: string;
}): string {
  return document(
    input.title,
    `${header(input.viewer)}
<h1>${e(input.title)}</h1>
<div class="banner bad">${e(input.text)}</div>
${input.detail ? `<p class="muted">${e(input.detail)}</p>` : ''}
${input.now ? nowBlock(input.now) : ''}
<p class="muted">Nothing was changed.</p>`,
  );
}

/** A plain note without the alert (actions off, a sign-in that failed). */
export function notePage(title: string, text: string): string {
  return document(title, `${header(undefined)}\n<h1>${e(title)}</h1>\n<p>${e(text)}</p>`);
}
