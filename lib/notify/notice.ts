import { ruleFor, RULES } from '../evaluate/rules';
import type {
  AlertRecord,
  AlertView,
  DecisionNote,
  Link,
  NotificationItem,
  NotificationKind,
  Severity,
} from '../model';
import { acknowledgementOf } from '../model/acknowledgement';
import { displayLine } from '../util/safe-text';
import { formatDuration, formatShortTime, formatTime } from '../util/text';
import { aboutTheTenant, alertHeading, tenantNameOf, viewOf, type ViewContext } from '../evaluate/view';

/**
 * What a notice says, for every channel: the alert's view from its rule (lib/evaluate/rules/),
 * and what this notice adds to it (new, reminder, changed, resolved; how bad, since when and for how
 * long, how it ended, what the reader can do), in plain words. A channel (lib/notify/channels/) only
 * lays this out; it decides no wording of its own, so email, Teams and webhooks say the same thing.
 */

/** One notice to render: what to say (the item) about which alert. */
export interface Notice {
  item: NotificationItem;
  alert: AlertRecord;
}

/**
 * Something the reader can do from a notice, most important first (the contract shared by issues 18
 * and 19: /work/notes/notice-actions.md). Only https hrefs.
 */
export interface NoticeAction extends Link {
  kind: 'decide' | 'open' | 'acknowledge' | 'snooze';
}

/** Who acknowledged the notice's firing period, as every channel shows it. */
export interface NoticeAcknowledgement {
  by: string;
  /** When (ISO). */
  at: string;
  comment?: string;
  /** False once a change cleared it (reminders and escalation resumed). */
  standing: boolean;
  /** `Acknowledged by alice@contoso.com at 2026-11-27 03:12 UTC.`, and for a cleared one what cleared it. */
  text: string;
}

export interface NoticeView {
  kind: NotificationKind;
  severity: Severity;
  item: NotificationItem;
  alert: AlertRecord;
  view: AlertView;
  /** The tenant as a reader knows it: its name from the config, else its ID. */
  tenant: string;
  /** `Quarantined: Fabrikam to Contoso (Contoso)`: the same in every message about the alert. */
  heading: string;
  /**
   * `Contoso: Quarantined: Fabrikam to Contoso (since 27 Nov 03:05 UTC)`: the subject of every
   * message of this firing of the alert, the same from its first notice to its last (the tenant
   * first, then what and where, then when the firing began), so mail clients thread them
   * (docs/channels.md, "Threading and mail rules"). No severity and no kind in it: those change while the alert lives.
   */
  stem: string;
  /** What this notice is: `New alert`, `Reminder`, `Changed`, `Escalated`, `Decided`, `Resolved`, `Ended` (webhooks' schema enumerates them). */
  status: string;
  /** Subject prefix: `` for the firing notice, `Re: ` for every later one (RFC 5322 §3.6.5). */
  prefix: string;
  /** How bad, in words (never only a colour): `Critical: act now`, `Warning`. */
  urgency: string;
  /** A resolved notice whose end is good news; false for firing notices and for alerts that ended badly. */
  resolvedWell: boolean;
  /** When it began (ISO): Entra's time when the rule knows it, else when the monitor first saw it. */
  since?: string;
  sinceSource: 'entra' | 'monitor';
  /** When it ended (ISO), for resolved notices. */
  endedAt?: string;
  /**
   * Since when and for how long, measured when the notice is made, never "ago":
   * `2026-11-27 02:40 UTC (as Entra reports it), for 4 h 30 min when this was sent`; for a resolved
   * notice, how it ended and after how long, as sentences.
   */
  when: string;
  /**
   * For a change notice, what changed since the route's last notice (`The error code was A; it is
   * now B.`), from the alert's rule; undefined for other kinds, or when the rule cannot say.
   */
  change?: string;
  /**
   * What alerts of one cause share: its condition, the error code (or reason), the kind of notice
   * and the runbook. A message lists the alerts of one cause in one section with one runbook. A
   * change notice is a cause of its own: what changed is the alert's own.
   */
  cause: string;
  /** The error code or reason that names the cause in a section's title (`AzureDirectoryB2BManagementPolicyCheckFailure`). */
  causeLabel?: string;
  /** Signed links that snooze the alert (4 h, 1 day) after a confirmation; none for resolved or decided notices or without SNOOZE_SIGNING_KEY. */
  snooze: Link[];
  /** The signed "Review and decide" link (sign-in, then a confirmation); only for alerts that offer a decision, with WATCH_ACTIONS on, and never on a resolved or decided notice. */
  decide?: Link;
  /** Who acknowledged the firing period this notice is about (standing, or cleared by a change); absent when nobody did. */
  acknowledged?: NoticeAcknowledgement;
  /** For an escalation notice: why it comes to its readers (`Nobody has acknowledged this alert in 30 min …`). */
  escalation?: string;
  /**
   * What the reader can do, most important first: actions[0] is the primary button of the first
   * screen. `decide` (with WATCH_ACTIONS on, for an alert that offers a decision), `open` (the
   * rule's first link: the job's Provisioning page), `acknowledge` (while nobody has, for the
   * alert's current firing period), then `snooze`; resolved and decided notices carry only `open`.
   */
  actions: NoticeAction[];
  /** The rule's other links (provisioning logs, audit logs, Microsoft's guide), https only. */
  moreLinks: Link[];
  /** The IANA time zone its times are shown in (the route's; UTC by default). */
  timeZone: string;
}

/** A message's notices, and how to name them all at once. */
export interface NoticeSummary {
  /** The most urgent severity among them. */
  severity: Severity;
  /** Every notice is a resolved notice (resolved and new alerts never share a message: see group.ts). */
  resolvedOnly: boolean;
  /** Every resolved notice ended well. */
  allEndedWell: boolean;
  /** `1 deletion hold, 1 quarantined, 1 with provisioning failures`. */
  counts: string;
  /** The tenants the notices are about, the most urgent notice's first. */
  tenants: string[];
}

export const SEVERITY_LABEL: Record<Severity, string> = { critical: 'Critical', warning: 'Warning' };
/** How bad, in words for the first line of every message. */
export const URGENCY: Record<Severity, string> = { critical: 'Critical: act now', warning: 'Warning' };
const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1 };
const KIND_RANK = { firing: 0, escalation: 1, changed: 2, decided: 3, reminder: 4, resolved: 5 } as const;
const CONDITION_RANK = new Map(RULES.map((rule, i) => [rule.condition, i]));
const COUNTED = new Map(RULES.map((rule) => [rule.condition, rule.counted]));

/** Bounds in a subject: the tenant always within its first 40 characters, the name never pushing the rest out. */
const SUBJECT_TENANT_MAX = 36;
const SUBJECT_TITLE_MAX = 40;
const SUBJECT_ABOUT_MAX = 80;

/** Only https links reach a button or a payload, whatever a rule returned. */
export function httpsLinks<T extends Link>(links: T[]): T[] {
  return links.filter((l) => {
    try {
      return new URL(l.href).protocol === 'https:';
    } catch {
      return false;
    }
  });
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function statusOf(item: NotificationItem, endedWell: boolean, endedAs?: string): string {
  switch (item.kind) {
    case 'firing':
      return 'New alert';
    case 'reminder':
      return 'Reminder';
    case 'changed':
      return 'Changed';
    case 'decided':
      return 'Decided';
    case 'escalation':
      return 'Escalated';
    case 'resolved':
      if (endedWell) return 'Resolved';
      return endedAs ? `Ended (${endedAs})` : 'Ended';
  }
}

/** `Deletes approved by Adele Vance (adele.vance@contoso.com) at 2026-11-27 03:12 UTC.` */
function decisionSentence(decision: DecisionNote, timeZone: string): string {
  return `${decision.title} by ${decision.by} at ${formatTime(decision.at, timeZone)}.`;
}

function whenOf(
  item: NotificationItem,
  view: AlertView,
  since: string | undefined,
  source: 'entra' | 'monitor',
  endedAt: string | undefined,
  now: Date,
  timeZone: string,
): string {
  const { kind } = item;
  const began = since ? Date.parse(since) : NaN;
  const whose = source === 'entra' ? 'as Entra reports it' : 'when the monitor first saw it';
  const decisions = item.decisions ?? [];
  if (kind === 'decided')
    return (
      decisions.map((d) => `${decisionSentence(d, timeZone)} ${d.detail}`).join(' ') ||
      'Someone decided from this alert.'
    );
  if (kind === 'resolved') {
    const end = endedAt ? Date.parse(endedAt) : now.getTime();
    const lasted = Number.isFinite(began) ? `, after ${formatDuration(end - began)}` : '';
    const from = Number.isFinite(began) ? ` It began ${formatTime(since, timeZone)} (${whose}).` : '';
    // Who decided during the period (decisions from the alert's messages), so the end names them.
    const decided = decisions.map((d) => ` ${decisionSentence(d, timeZone)}`).join('');
    return `${capitalized(view.ended)} at ${formatTime(endedAt ?? now.toISOString(), timeZone)}${lasted}.${from}${decided}`;
  }
  if (!Number.isFinite(began)) return 'not known';
  return `${formatTime(since, timeZone)} (${whose}), for ${formatDuration(now.getTime() - began)} when this was sent`;
}

/** What a change notice says changed; a notice planned before routes kept their material (`previousMaterial` absent) cannot say. */
function changeOf(item: NotificationItem, alert: AlertRecord): string | undefined {
  if (item.kind !== 'changed' || item.previousMaterial === undefined) return undefined;
  return ruleFor(alert.labels.condition)?.describeChange?.(item.previousMaterial, item.material ?? '');
}

/** Who acknowledged the notice's firing period, in the words every channel shows, in the route's time zone. */
function acknowledgedOf(
  item: NotificationItem,
  alert: AlertRecord,
  timeZone: string,
): NoticeAcknowledgement | undefined {
  const ack = acknowledgementOf(alert, item.startsAt);
  if (!ack) return undefined;
  const said = `Acknowledged by ${ack.by} at ${formatTime(ack.at, timeZone)}`;
  const text = ack.cleared
    ? `${said}, before ${ack.cleared.why} at ${formatTime(ack.cleared.at, timeZone)}: reminders resumed until someone acknowledges it again.`
    : `${said}.`;
  return { by: ack.by, at: ack.at, ...(ack.comment ? { comment: ack.comment } : {}), standing: !ack.cleared, text };
}

/** Why an escalation notice comes to its readers. */
function escalationOf(item: NotificationItem, timeZone: string): string | undefined {
  if (item.kind !== 'escalation' || !item.escalation) return undefined;
  const { afterMs, unacknowledgedSince } = item.escalation;
  return `Nobody has acknowledged this alert in ${formatDuration(afterMs)} (since ${formatTime(unacknowledgedSince, timeZone)}), so it is escalated to you. Acknowledge it to stop reminders and further escalation.`;
}

/** The error code (else the reason) an alert's rule reported: what tells one cause from another. */
function causeLabelOf(alert: AlertRecord): string | undefined {
  const { errorCode, reason } = alert.annotations;
  if (typeof errorCode === 'string' && errorCode !== '') return errorCode;
  if (typeof reason === 'string' && reason !== '') return reason;
  return undefined;
}

/**
 * `Contoso: Quarantined: Fabrikam to Contoso (since 27 Nov 03:05 UTC)`: the tenant first (within 40
 * characters, however long its name), the rule's title (not the view's, which may change while the
 * alert fires), the configuration, and when this firing began (the thread's start, which never
 * changes: a new firing after a resolve is a new thread).
 */
function stemOf(alert: AlertRecord, view: AlertView, tenant: string, item: NotificationItem, timeZone: string): string {
  const title = displayLine(ruleFor(alert.labels.condition)?.title ?? view.title, SUBJECT_TITLE_MAX);
  const what = aboutTheTenant(view, alert, tenant) ? title : `${title}: ${displayLine(view.about, SUBJECT_ABOUT_MAX)}`;
  return `${displayLine(tenant, SUBJECT_TENANT_MAX)}: ${what} (since ${formatShortTime(item.startsAt, timeZone)})`;
}

/**
 * Whether a notice is told briefly, by its `when` alone (how it ended, what was decided), without
 * the alert's explanation and runbook again: resolved and decided notices.
 */
export function brief(v: Pick<NoticeView, 'kind'>): boolean {
  return v.kind === 'resolved' || v.kind === 'decided';
}

/** The decide link of a notice about a firing alert that offers a decision (never on a decided notice: the link acted). */
function decideOf(item: NotificationItem, alert: AlertRecord, ctx: ViewContext): Link | undefined {
  if (brief(item) || alert.state !== 'firing') return undefined;
  return ctx.decide?.(alert, ctx.now);
}

/**
 * The acknowledge link of a notice about the alert's current firing period while nobody stands by
 * it (never on a resolved or decided notice, nor on one about an earlier firing).
 */
function acknowledgeOf(
  item: NotificationItem,
  alert: AlertRecord,
  acknowledged: NoticeAcknowledgement | undefined,
  ctx: ViewContext,
): Link | undefined {
  const current = alert.state === 'firing' && item.startsAt === alert.startsAt;
  if (brief(item) || !current || acknowledged?.standing) return undefined;
  return ctx.acknowledge?.(alert, item, ctx.now);
}

/**
 * The reader's actions, in the order of the contract shared by issues 18 and 19: decide, open the
 * rule's first link, acknowledge, snooze; a resolved or decided notice only opens.
 */
function actionsOf(
  decide: Link | undefined,
  links: Link[],
  acknowledge: Link | undefined,
  snooze: Link[],
): NoticeAction[] {
  const [open] = links;
  return [
    ...httpsLinks(decide ? [decide] : []).map((l) => ({ kind: 'decide' as const, ...l })),
    ...(open ? [{ kind: 'open' as const, ...open }] : []),
    ...httpsLinks(acknowledge ? [acknowledge] : []).map((l) => ({ kind: 'acknowledge' as const, ...l })),
    ...httpsLinks(snooze).map((l) => ({ kind: 'snooze' as const, ...l })),
  ];
}

/** The view of one notice; `view` when the alert's view is already known (default: from its rule). */
export function noticeView(
  { item, alert }: Notice,
  ctx: ViewContext,
  view: AlertView = viewOf(alert, ctx),
): NoticeView {
  const timeZone = ctx.timeZone ?? 'UTC';
  const tenant = tenantNameOf(alert, ctx.tenantNames);
  const heading = alertHeading(view, alert, tenant);
  const endedWell = item.kind === 'resolved' && view.endedWell !== false;
  // A rule gives Entra's own time when Entra reports one; a `since` equal to the alert's start is the monitor's.
  const sinceSource = view.since && Date.parse(view.since) !== Date.parse(item.startsAt) ? 'entra' : 'monitor';
  const since = view.since ?? item.startsAt;
  const endedAt = item.kind === 'resolved' ? (item.endsAt ?? alert.endsAt) : undefined;
  const links = httpsLinks(view.links);
  const snooze = brief(item) ? [] : (ctx.snooze?.(alert, ctx.now) ?? []);
  const decide = decideOf(item, alert, ctx);
  const change = changeOf(item, alert);
  const causeLabel = causeLabelOf(alert);
  const acknowledged = acknowledgedOf(item, alert, timeZone);
  const acknowledge = acknowledgeOf(item, alert, acknowledged, ctx);
  const escalation = escalationOf(item, timeZone);
  return {
    kind: item.kind,
    severity: alert.severity,
    item,
    alert,
    view,
    tenant,
    heading,
    stem: stemOf(alert, view, tenant, item, timeZone),
    status: statusOf(item, view.endedWell !== false, view.endedAs),
    prefix: item.kind === 'firing' ? '' : 'Re: ',
    urgency: URGENCY[alert.severity],
    resolvedWell: endedWell,
    since,
    sinceSource,
    endedAt,
    when: whenOf(item, view, since, sinceSource, endedAt, ctx.now, timeZone),
    change,
    // One section has one runbook: alerts whose runbooks differ (a deletion hold's held count) stay apart.
    cause: [
      alert.labels.condition,
      causeLabel ?? '',
      item.kind,
      endedWell,
      brief(item) ? '' : JSON.stringify(view.runbook ?? null),
      // What is the alert's own stays its own section: a change, a decision, who acknowledged it.
      ...(item.kind === 'changed' || item.kind === 'decided' || acknowledged ? [alert.fingerprint] : []),
    ].join('|'),
    ...(causeLabel ? { causeLabel } : {}),
    snooze,
    ...(acknowledged ? { acknowledged } : {}),
    ...(escalation ? { escalation } : {}),
    ...(decide ? { decide } : {}),
    actions: actionsOf(decide, links, acknowledge, snooze),
    moreLinks: links.slice(1),
    timeZone,
  };
}

/** New before changes before reminders before resolved; within each, what blocks the most first. */
function byUrgency(a: NoticeView, b: NoticeView): number {
  const rank = (n: NoticeView) => CONDITION_RANK.get(n.alert.labels.condition) ?? RULES.length;
  return (
    KIND_RANK[a.kind] - KIND_RANK[b.kind] ||
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    rank(a) - rank(b) ||
    NATURAL.compare(a.heading, b.heading)
  );
}

/** Names in the order people count them: `Partner 4` before `Partner 14`. */
export const NATURAL = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** The items of a message to render: one per alert and kind, even when two routes to the same people matched. */
function uniqueForRendering(items: NotificationItem[]): NotificationItem[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const key = `${i.fingerprint}:${i.kind}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The views of a message's notices: one per alert and kind, most urgent first. */
export function noticeViews(notices: Notice[], ctx: ViewContext): NoticeView[] {
  const unique = uniqueForRendering(notices.map((n) => n.item)).map(
    (item) => notices.find((n) => n.item === item) as Notice,
  );
  return unique.map((n) => noticeView(n, ctx)).sort(byUrgency);
}

/** `3 quarantined`, `1 deletion hold`: how a count of one condition reads. */
export function countOf(condition: string, n: number): string {
  const counted = COUNTED.get(condition) ?? { one: condition, many: condition };
  return `${n} ${n === 1 ? counted.one : counted.many}`;
}

/** What a count says of its kind in a message of several kinds: `1 still quarantined`, `1 escalated: quarantined`. */
const MIXED_WORDS: Record<NotificationKind, string> = {
  firing: '',
  reminder: 'still ',
  changed: 'changed: ',
  escalation: 'escalated: ',
  decided: 'decided: ',
  resolved: '',
};

/** The kind after the tenant in the subject of a grouped message whose notices are all of one kind (resolved ones aside). */
const ONLY_KIND_PREFIX: Partial<Record<NotificationKind, string>> = {
  reminder: 'Reminder: ',
  changed: 'Changed: ',
  escalation: 'Escalated: ',
  decided: 'Decided: ',
};

/** How a message names several notices at once. */
export function summarize(views: NoticeView[]): NoticeSummary {
  const severity = views.reduce<Severity>(
    (worst, v) => (SEVERITY_RANK[v.severity] < SEVERITY_RANK[worst] ? v.severity : worst),
    'warning',
  );
  const resolvedOnly = views.length > 0 && views.every((v) => v.kind === 'resolved');
  const allEndedWell = views.every((v) => v.kind !== 'resolved' || v.resolvedWell);
  const counts = new Map<string, { condition: string; n: number; before: string; after: string }>();
  for (const v of views) {
    // A message of reminders (or changes) only says so once, in its banner; a mixed one says it per
    // count. A resolved notice in a mixed message (one that ended badly, beside what happened instead) says how it ended.
    const mixed = views.some((o) => o.kind !== v.kind);
    const ending = v.resolvedWell ? 'resolved' : 'ended';
    const key = `${v.kind}:${v.resolvedWell}:${v.alert.labels.condition}`;
    const entry = counts.get(key) ?? {
      condition: v.alert.labels.condition,
      n: 0,
      before: mixed ? MIXED_WORDS[v.kind] : '',
      after: mixed && v.kind === 'resolved' ? ` ${ending}` : '',
    };
    entry.n++;
    counts.set(key, entry);
  }
  const text = [...counts.values()]
    .map(({ condition, n, before, after }) => {
      const [count, ...words] = countOf(condition, n).split(' ');
      return after ? `${count}${after} (${words.join(' ')})` : `${count} ${before}${words.join(' ')}`;
    })
    .join(', ');
  return {
    severity,
    resolvedOnly,
    allEndedWell,
    counts: text,
    tenants: [...new Set(views.map((v) => v.tenant))],
  };
}

/**
 * For each notice whose runbook is the same as one shown earlier in the same message, that earlier
 * notice: a message about ten quarantines with one cause says what to do once.
 */
export function repeatedRunbooks(views: NoticeView[]): Map<NoticeView, NoticeView> {
  const first = new Map<string, NoticeView>();
  const repeats = new Map<NoticeView, NoticeView>();
  for (const v of views) {
    if (!v.view.runbook || brief(v)) continue;
    const key = JSON.stringify(v.view.runbook);
    const earlier = first.get(key);
    if (earlier) repeats.set(v, earlier);
    else first.set(key, v);
  }
  return repeats;
}

/** What a resolved-only message is, in a word: `Resolved`, or `Ended` when one of them ended badly. */
function endingOf(summary: NoticeSummary): string {
  return summary.allEndedWell ? 'Resolved' : 'Ended';
}

/**
 * What a message's banner says, how bad in words first: `Critical: act now · New alert`,
 * `Warning · Reminder 2`, `Resolved`, `Critical: act now · 13 alerts`, `Ended · 2 alerts`.
 */
export function bannerOf(views: NoticeView[], summary: NoticeSummary): string {
  const [single] = views;
  if (views.length === 1 && single) return brief(single) ? single.status : `${single.urgency} · ${numbered(single)}`;
  const state = summary.resolvedOnly ? endingOf(summary) : URGENCY[summary.severity];
  const tenants = summary.tenants.length > 1 ? ` in ${summary.tenants.length} tenants` : '';
  return `${state} · ${views.length} alerts${tenants}`;
}

/**
 * What a message about these notices is called, in every channel. One alert: its stem, with `Re: `
 * after its first notice, so every message of one firing threads by subject. Several: the tenant
 * first, then the most urgent alert, then how many more (`Contoso: Quarantined: Woodgrove to Contoso
 * (+4 more)`), with `Resolved: `, `Reminder: ` or `Changed: ` after the tenant when all are of that
 * kind; a grouped message starts a thread of its own. No severity tag ever: severity is in the
 * first line and the headers, so a rule written for emergencies never matches a recovery.
 */
export function subjectOf(views: NoticeView[], summary: NoticeSummary): string {
  const [first] = views;
  if (!first) return '';
  if (views.length === 1) return `${first.prefix}${first.stem}`;
  const [tenant = first.tenant] = summary.tenants;
  const others = summary.tenants.length - 1;
  const where = `${displayLine(tenant, SUBJECT_TENANT_MAX)}${others > 0 ? ` +${others} tenant${others === 1 ? '' : 's'}` : ''}`;
  const kinds = new Set(views.map((v) => v.kind));
  const only = kinds.size === 1 ? first.kind : undefined;
  const kind = only === 'resolved' ? `${endingOf(summary)}: ` : ((only && ONLY_KIND_PREFIX[only]) ?? '');
  const title = displayLine(ruleFor(first.alert.labels.condition)?.title ?? first.view.title, SUBJECT_TITLE_MAX);
  const what = aboutTheTenant(first.view, first.alert, first.tenant)
    ? title
    : `${title}: ${displayLine(first.view.about, SUBJECT_ABOUT_MAX)}`;
  return `${where}: ${kind}${what} (+${views.length - 1} more)`;
}

/**
 * The words before anything else in a message, shown beside the subject in the mail list (the
 * preheader) and as a card's first line: the kind first, since the subject of a thread never
 * changes. `Critical: act now. Entra quarantined …`, `Reminder 2: still open, for 8 h when this was
 * sent. …`, `Changed: the error code was A; it is now B.`, `Resolved after 4 h 30 min.`
 */
export function preheaderOf(views: NoticeView[], summary: NoticeSummary, stillOpen?: string): string {
  const [single] = views;
  if (views.length === 1 && single) {
    switch (single.kind) {
      case 'firing':
        return `${single.urgency}. ${single.view.what}`;
      case 'reminder':
        return `${numbered(single)}: still open since ${single.when}. ${single.view.what}`;
      case 'changed':
        return `Changed: ${single.change ?? single.view.what}`;
      case 'decided':
        return `Decided: ${single.when}`;
      case 'escalation':
        return `Escalated: ${single.escalation ?? single.view.what}`;
      case 'resolved':
        return [single.when, stillOpen].filter(Boolean).join(' ');
    }
  }
  if (summary.resolvedOnly) return [`${endingOf(summary)}: ${summary.counts}.`, stillOpen].filter(Boolean).join(' ');
  return `${URGENCY[summary.severity]}. ${views.length} alerts: ${summary.counts}.`;
}

/**
 * Words for mail filters that cannot read headers (Gmail's): `esw-kind-firing esw-sev-critical
 * esw-cond-quarantine`, in every message's footer. Gmail matches `"esw-kind-resolved"` as a phrase.
 */
export function filterTags(views: NoticeView[], summary: NoticeSummary): string {
  const kinds = [...new Set(views.map((v) => (v.kind === 'resolved' && !v.resolvedWell ? 'ended' : v.kind)))];
  const conditions = [...new Set(views.map((v) => v.alert.labels.condition.replace(/[^A-Za-z0-9-]/g, '-')))];
  return [
    ...kinds.map((k) => `esw-kind-${k}`),
    `esw-sev-${summary.severity}`,
    ...conditions.map((c) => `esw-cond-${c}`),
  ].join(' ');
}

/** A notice's time in a few words, for a line in a list: `since 27 Nov 02:40 UTC`, `resolved after 4 h 25 min`. */
export function shortWhen(v: NoticeView): string {
  if (v.kind === 'decided') return 'decided';
  if (v.kind === 'resolved') {
    const began = v.since ? Date.parse(v.since) : NaN;
    const ended = v.endedAt ? Date.parse(v.endedAt) : NaN;
    const word = v.resolvedWell ? 'resolved' : 'ended';
    return Number.isFinite(began) && Number.isFinite(ended) ? `${word} after ${formatDuration(ended - began)}` : word;
  }
  return `since ${formatShortTime(v.since, v.timeZone)}`;
}

/**
 * How a list names a notice's state, in words (never only a colour): `Critical`, `Warning`,
 * `Resolved`, `Ended (no longer watched)`; with its kind when a message mixes kinds (`Reminder · Warning`).
 */
export function listStatus(v: NoticeView, mixed: boolean): string {
  if (brief(v)) return v.status;
  const kind = v.kind === 'firing' ? 'New' : v.status;
  return `${mixed ? `${kind} · ` : ''}${SEVERITY_LABEL[v.severity]}`;
}

/** `Reminder 2`: a notice's status with the reminder's number when it has one. */
function numbered(v: NoticeView): string {
  return v.kind === 'reminder' && v.item.reminder ? `${v.status} ${v.item.reminder}` : v.status;
}

/**
 * A section's status line: `New alert · Critical: act now`, `Reminder 2 · Warning`, `Resolved`;
 * without the reminder's number for a section of several alerts, whose numbers differ.
 */
export function statusLine(v: NoticeView, numberedReminder = true): string {
  if (brief(v)) return v.status;
  return `${numberedReminder ? numbered(v) : v.status} · ${v.urgency}`;
}
