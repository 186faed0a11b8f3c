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
import { formatDuration, formatTime } from '../util/text';
import { alertHeading, tenantNameOf, viewOf, type ViewContext } from '../evaluate/view';

/**
 * What a notice says, for every channel: the alert's view from its rule (lib/evaluate/rules/),
 * and what this notice adds to it (new, reminder, changed, resolved; since when, for how long,
 * how it ended), in plain words. A channel (lib/notify/channels/) only lays this out; it decides
 * no wording of its own, so email, Teams and webhooks say the same thing.
 */

/** One notice to render: what to say (the item) about which alert. */
export interface Notice {
  item: NotificationItem;
  alert: AlertRecord;
}

/** Something the reader can do from a notice, most important first. Only https hrefs (httpsLinks). */
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
  /** `[Critical] Quarantined: Fabrikam to Contoso (Contoso)`: the stable subject stem of the alert's thread. */
  stem: string;
  /** What this notice is: `New alert`, `Reminder`, `Changed`, `Escalated`, `Decided`, `Resolved`, `Ended`. */
  status: string;
  /** Subject prefix: ``, `Reminder: `, `Changed: `, `Escalated: `, `Resolved: `, `Ended: `. */
  prefix: string;
  /** A resolved notice whose end is good news; false for firing notices and for alerts that ended badly. */
  resolvedWell: boolean;
  /** When it began (ISO): Entra's time when the rule knows it, else when the monitor first saw it. */
  since?: string;
  sinceSource: 'entra' | 'monitor';
  /** When it ended (ISO), for resolved notices. */
  endedAt?: string;
  /**
   * Since when: `2026-11-27 03:00 UTC, 4 h 10 min ago (as Entra reports it)`; for a resolved notice,
   * how it ended and after how long, as sentences.
   */
  when: string;
  /**
   * For a change notice, what changed since the route's last notice (`The error code was A; it is
   * now B.`), from the alert's rule; undefined for other kinds, or when the rule cannot say.
   */
  change?: string;
  /** Signed links that snooze the alert (4 h, 1 day) after a confirmation; none for resolved notices or without SNOOZE_SIGNING_KEY. */
  snooze: Link[];
  /** The signed "Review and decide" link (sign-in, then a confirmation); only for alerts that offer a decision, with WATCH_ACTIONS on, and never on a resolved notice. */
  decide?: Link;
  /** Who acknowledged the firing period this notice is about (standing, or cleared by a change); absent when nobody did. */
  acknowledged?: NoticeAcknowledgement;
  /** For an escalation notice: why it comes to its readers (`Nobody acknowledged it within 30 min …`). */
  escalation?: string;
  /** What the reader can do, most important first: actions[0] is the primary button of the first screen. */
  actions: NoticeAction[];
}

/** A message's notices, and how to name them all at once. */
export interface NoticeSummary {
  /** The most urgent severity among them. */
  severity: Severity;
  /** Every notice is a resolved notice (resolved and new alerts never share a message: see group.ts). */
  resolvedOnly: boolean;
  /** Every resolved notice ended well. */
  allEndedWell: boolean;
  /** `Resolved: ` / `Ended: ` for resolved-only messages, `Reminder: ` / `Changed: ` / `Escalated: ` for messages of only those, else empty. */
  prefix: string;
  /** `1 deletion hold, 1 quarantined: Contoso, Fabrikam`. */
  counts: string;
  /** `[Critical] 1 deletion hold, 1 quarantined: Contoso, Fabrikam`, with its prefix. */
  subject: string;
}

export const SEVERITY_LABEL: Record<Severity, string> = { critical: 'Critical', warning: 'Warning' };
const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1 };
const KIND_RANK = { firing: 0, escalation: 1, changed: 2, decided: 3, reminder: 4, resolved: 5 } as const;
const CONDITION_RANK = new Map(RULES.map((rule, i) => [rule.condition, i]));
const COUNTED = new Map(RULES.map((rule) => [rule.condition, rule.counted]));

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function status(kind: NotificationKind, endedWell: boolean, endedAs?: string): { status: string; prefix: string } {
  switch (kind) {
    case 'firing':
      return { status: 'New alert', prefix: '' };
    case 'reminder':
      return { status: 'Reminder', prefix: 'Reminder: ' };
    case 'changed':
      return { status: 'Changed', prefix: 'Changed: ' };
    case 'decided':
      return { status: 'Decided', prefix: 'Decided: ' };
    case 'escalation':
      return { status: 'Escalated', prefix: 'Escalated: ' };
    case 'resolved':
      if (endedWell) return { status: 'Resolved', prefix: 'Resolved: ' };
      return endedAs
        ? { status: `Ended (${endedAs})`, prefix: `Ended (${endedAs}): ` }
        : { status: 'Ended', prefix: 'Ended: ' };
  }
}

/** `Deletes approved by Adele Vance (adele.vance@contoso.com) at 2026-11-27 03:12 UTC.` */
function decisionSentence(decision: DecisionNote): string {
  return `${decision.title} by ${decision.by} at ${formatTime(decision.at)}.`;
}

function whenOf(
  item: NotificationItem,
  view: AlertView,
  since: string | undefined,
  source: 'entra' | 'monitor',
  endedAt: string | undefined,
  now: Date,
): string {
  const { kind } = item;
  const began = since ? Date.parse(since) : NaN;
  const whose = source === 'entra' ? 'as Entra reports it' : 'when the monitor first saw it';
  const decisions = item.decisions ?? [];
  if (kind === 'decided')
    return decisions.map((d) => `${decisionSentence(d)} ${d.detail}`).join(' ') || 'Someone decided from this alert.';
  if (kind === 'resolved') {
    const end = endedAt ? Date.parse(endedAt) : now.getTime();
    const lasted = Number.isFinite(began) ? `, after ${formatDuration(end - began)}` : '';
    const from = Number.isFinite(began) ? ` It began ${formatTime(since)} (${whose}).` : '';
    // Who decided during the period (decisions from the alert's messages), so the end names them.
    const decided = decisions.map((d) => ` ${decisionSentence(d)}`).join('');
    return `${capitalized(view.ended)} at ${formatTime(endedAt ?? now.toISOString())}${lasted}.${from}${decided}`;
  }
  if (!Number.isFinite(began)) return 'not known';
  return `${formatTime(since)}, ${formatDuration(now.getTime() - began)} ago (${whose})`;
}

/** What a change notice says changed; a notice planned before routes kept their material (`previousMaterial` absent) cannot say. */
function changeOf(item: NotificationItem, alert: AlertRecord): string | undefined {
  if (item.kind !== 'changed' || item.previousMaterial === undefined) return undefined;
  return ruleFor(alert.labels.condition)?.describeChange?.(item.previousMaterial, item.material ?? '');
}

/** Who acknowledged the notice's firing period, in the words every channel shows. */
function acknowledgedOf(item: NotificationItem, alert: AlertRecord): NoticeAcknowledgement | undefined {
  const ack = acknowledgementOf(alert, item.startsAt);
  if (!ack) return undefined;
  const said = `Acknowledged by ${ack.by} at ${formatTime(ack.at)}`;
  const text = ack.cleared
    ? `${said}, before ${ack.cleared.why} at ${formatTime(ack.cleared.at)}: reminders resumed until someone acknowledges it again.`
    : `${said}.`;
  return { by: ack.by, at: ack.at, ...(ack.comment ? { comment: ack.comment } : {}), standing: !ack.cleared, text };
}

/** Why an escalation notice comes to its readers. */
function escalationOf(item: NotificationItem): string | undefined {
  if (item.kind !== 'escalation' || !item.escalation) return undefined;
  const { afterMs, unacknowledgedSince } = item.escalation;
  return `Nobody has acknowledged this alert in ${formatDuration(afterMs)} (since ${formatTime(unacknowledgedSince)}), so it is escalated to you. Acknowledge it to stop reminders and further escalation.`;
}

/**
 * What a reader can do from a notice, in the order every channel shows (docs: notice actions):
 * acknowledge (while nobody has; not on resolved notices, and only for the alert's current firing
 * period), then snooze.
 */
function actionsOf(
  item: NotificationItem,
  alert: AlertRecord,
  links: { decide?: Link; snooze: Link[]; acknowledged?: NoticeAcknowledgement },
  ctx: ViewContext,
): NoticeAction[] {
  const { decide, snooze, acknowledged } = links;
  const actions: NoticeAction[] = decide ? [{ kind: 'decide', ...decide }] : [];
  const current = alert.state === 'firing' && item.startsAt === alert.startsAt;
  if (item.kind !== 'resolved' && current && !acknowledged?.standing) {
    const link = ctx.acknowledge?.(alert, item, ctx.now);
    if (link) actions.push({ kind: 'acknowledge', ...link });
  }
  actions.push(...snooze.map((link): NoticeAction => ({ kind: 'snooze', ...link })));
  return actions;
}

/** The view of one notice; `view` when the alert's view is already known (default: from its rule). */
export function noticeView(
  { item, alert }: Notice,
  ctx: ViewContext,
  view: AlertView = viewOf(alert, ctx),
): NoticeView {
  const tenant = tenantNameOf(alert, ctx.tenantNames);
  const heading = alertHeading(view, alert, tenant);
  const endedWell = item.kind === 'resolved' && view.endedWell !== false;
  const { status: label, prefix } = status(item.kind, view.endedWell !== false, view.endedAs);
  // A rule gives Entra's own time when Entra reports one; a `since` equal to the alert's start is the monitor's.
  const sinceSource = view.since && Date.parse(view.since) !== Date.parse(item.startsAt) ? 'entra' : 'monitor';
  const since = view.since ?? item.startsAt;
  const endedAt = item.kind === 'resolved' ? (item.endsAt ?? alert.endsAt) : undefined;
  const snooze = brief(item) ? [] : (ctx.snooze?.(alert, ctx.now) ?? []);
  const { decide } = decideOf(item, alert, ctx);
  const acknowledged = acknowledgedOf(item, alert);
  const escalation = escalationOf(item);
  return {
    kind: item.kind,
    severity: alert.severity,
    item,
    alert,
    view,
    tenant,
    heading,
    stem: `[${SEVERITY_LABEL[alert.severity]}] ${heading}`,
    status: label,
    prefix,
    resolvedWell: endedWell,
    since,
    sinceSource,
    endedAt,
    when: whenOf(item, view, since, sinceSource, endedAt, ctx.now),
    change: changeOf(item, alert),
    snooze,
    ...(acknowledged ? { acknowledged } : {}),
    ...(escalation ? { escalation } : {}),
    ...(decide ? { decide } : {}),
    actions: actionsOf(item, alert, { decide, snooze, acknowledged }, ctx),
  };
}

/**
 * Whether a notice is told briefly, by its `when` alone (how it ended, what was decided), without
 * the alert's explanation and runbook again: resolved and decided notices.
 */
export function brief(v: Pick<NoticeView, 'kind'>): boolean {
  return v.kind === 'resolved' || v.kind === 'decided';
}

/** The decide link of a notice about a firing alert that offers a decision (never on a decided notice: the link acted). */
function decideOf(item: NotificationItem, alert: AlertRecord, ctx: ViewContext): { decide?: Link } {
  if (item.kind === 'resolved' || item.kind === 'decided' || alert.state !== 'firing') return {};
  const decide = ctx.decide?.(alert, ctx.now);
  return decide ? { decide } : {};
}

/** New before changes before reminders before resolved; within each, what blocks the most first. */
function byUrgency(a: NoticeView, b: NoticeView): number {
  const rank = (n: NoticeView) => CONDITION_RANK.get(n.alert.labels.condition) ?? RULES.length;
  return (
    KIND_RANK[a.kind] - KIND_RANK[b.kind] ||
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    rank(a) - rank(b) ||
    a.heading.localeCompare(b.heading)
  );
}

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

/** What a count says of its kind in a message of several kinds: `1 still quarantined`, `1 escalated: quarantined`. */
const MIXED_WORDS: Record<NotificationKind, string> = {
  firing: '',
  reminder: 'still ',
  changed: 'changed: ',
  escalation: 'escalated: ',
  decided: 'decided: ',
  resolved: '',
};

/** The subject prefix of a message whose notices are all of one kind (resolved ones aside). */
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
  const counts = new Map<string, { n: number; one: string; many: string }>();
  for (const v of views) {
    const counted = COUNTED.get(v.alert.labels.condition) ?? {
      one: v.alert.labels.condition,
      many: v.alert.labels.condition,
    };
    // A message of reminders (or changes) only says so once, in its prefix; a mixed one says it per
    // count. A resolved notice in a mixed message (one that ended badly, beside what happened instead) says how it ended.
    const mixed = views.some((o) => o.kind !== v.kind);
    const words = mixed ? MIXED_WORDS[v.kind] : '';
    const ending = v.resolvedWell ? 'resolved' : 'ended';
    const key = `${v.kind}:${v.resolvedWell}:${v.alert.labels.condition}`;
    const entry =
      counts.get(key) ??
      (mixed && v.kind === 'resolved'
        ? { n: 0, one: `${ending} (${counted.one})`, many: `${ending} (${counted.many})` }
        : { n: 0, one: words + counted.one, many: words + counted.many });
    entry.n++;
    counts.set(key, entry);
  }
  const tenants = [...new Set(views.map((v) => v.tenant))];
  const where =
    tenants.length <= 3 ? tenants.join(', ') : `${tenants.slice(0, 3).join(', ')} and ${tenants.length - 3} more`;
  const text = `${[...counts.values()].map(({ n, one, many }) => `${n} ${n === 1 ? one : many}`).join(', ')}: ${where}`;
  const onlyKind = views.every((v) => v.kind === views[0]?.kind) ? views[0]?.kind : undefined;
  const prefix = resolvedOnly
    ? allEndedWell
      ? 'Resolved: '
      : 'Ended: '
    : ((onlyKind && ONLY_KIND_PREFIX[onlyKind]) ?? '');
  return {
    severity,
    resolvedOnly,
    allEndedWell,
    prefix,
    counts: text,
    subject: `${prefix}[${SEVERITY_LABEL[severity]}] ${text}`,
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

/** What a message's banner says: `Critical · New alert`, `Resolved`, `Critical · 3 alerts`, `Ended · 2 alerts`. */
export function bannerOf(views: NoticeView[], summary: NoticeSummary): string {
  const [single] = views;
  if (views.length === 1 && single)
    return single.kind === 'resolved' ? single.status : `${SEVERITY_LABEL[single.severity]} · ${single.status}`;
  const state = summary.resolvedOnly ? (summary.allEndedWell ? 'Resolved' : 'Ended') : SEVERITY_LABEL[summary.severity];
  return `${state} · ${views.length} alerts`;
}

/**
 * What a message about these notices is called, in every channel: one alert's stem with its
 * prefix (`Reminder: [Critical] Quarantined: Woodgrove to Contoso (Contoso)`), else the summary.
 */
export function subjectOf(views: NoticeView[], summary: NoticeSummary): string {
  const [single] = views;
  return views.length === 1 && single ? `${single.prefix}${single.stem}` : summary.subject;
}
