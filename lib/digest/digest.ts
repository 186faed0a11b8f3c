import { createHash } from 'node:crypto';
import type { Policy, Route } from '../model/policy';
import { matches } from '../model/matchers';
import { matchLabelsOf, receiversOf } from '../dispatch/route';
import { inhibitedBy } from '../inhibit/inhibit';
import type { Logger } from '../util/log';
import type { AlertRecord, DigestAlert, DigestSilence, DigestView, PlannedMessage } from '../model';
import { displayLine } from '../util/safe-text';
import { alertHeading, tenantNameOf, viewOf } from '../evaluate/view';
import { silencedBy } from '../silence/silence';
import { dailyOccurrence, isInWeeklyWindow, maintenanceEndsAt } from '../silence/windows';
import type { DigestMarkers } from '../store/digest-markers';
import type { OutboxStore } from '../store/outbox-store';
import { PROPERTY_BUDGET_CHARS } from '../store/table';

/**
 * The daily digest of a route (config `digest: { at, timeZone }`): once a day, at the first cycle
 * at or after the local time, what is open in the route's scope (with what mutes it), what
 * resolved in the last day, and the silences and maintenance windows that end before the next
 * digest; or that all N tenants are healthy, so a quiet day is visibly quiet rather than silent.
 *
 * A route's scope is every alert its own matchers and its ancestors' match: the root's digest is
 * about everything, a child's about what would reach it. The digest is made when it is due and
 * planned like any message (one per receiver: the route's email and each of its channels), under
 * the planning lease; a row per route records the date planned, so another instance, a restart or
 * the next cycle never plans the same day again. A day the monitor did not run at all is skipped:
 * the next digest is about the next day, never a stale one.
 */

const DAY_MS = 24 * 3600_000;
/** How many of each list a digest names; the rest it counts. */
const LISTED = { open: 30, resolved: 15, silences: 10 };

/** Every route with a digest, with its path from the root (whose matchers make its scope). */
export function digestRoutes(root: Route): { route: Route; path: Route[] }[] {
  const found: { route: Route; path: Route[] }[] = [];
  const walk = (route: Route, path: Route[]) => {
    const here = [...path, route];
    if (route.digest) found.push({ route, path: here });
    for (const child of route.routes) walk(child, here);
  };
  walk(root, []);
  return found;
}

/** The route of an id (`root.0.1`) with its ancestors, root first; undefined when the config no longer has it. */
export function routePath(root: Route, id: string): Route[] | undefined {
  const find = (route: Route, path: Route[]): Route[] | undefined => {
    const here = [...path, route];
    if (route.id === id) return here;
    for (const child of route.routes) {
      const found = find(child, here);
      if (found) return found;
    }
    return undefined;
  };
  return find(root, []);
}

/** What mutes a digest or still-open notice needs: names, silences and windows (the snoozes among them). */
type ScopePolicy = Pick<Policy, 'tenantNames' | 'silences' | 'maintenanceWindows'>;

function inScope(alert: AlertRecord, path: Route[], policy: Pick<Policy, 'tenantNames'>): boolean {
  const labels = matchLabelsOf(alert, policy.tenantNames);
  return path.every((route) => matches(route.match, labels));
}

/** Watched tenants the path's tenant matchers let through (other matchers cannot be judged for a tenant). */
function tenantsInScope(path: Route[], tenants: string[], policy: Policy): number {
  return tenants.filter((tenant) => {
    const labels = { tenant, tenantName: policy.tenantNames.get(tenant.toLowerCase()) };
    return path.every((route) =>
      matches(route.match && { tenant: route.match.tenant, tenantName: route.match.tenantName }, labels),
    );
  }).length;
}

function digestAlert(
  alert: AlertRecord,
  policy: Pick<Policy, 'tenantNames'>,
  now: Date,
  mutedBy?: string,
): DigestAlert {
  const view = viewOf(alert, { now, tenantNames: policy.tenantNames });
  const tenant = tenantNameOf(alert, policy.tenantNames);
  const heading = alertHeading(view, alert, tenant);
  return {
    fingerprint: alert.fingerprint,
    severity: alert.severity,
    condition: alert.labels.condition,
    heading: displayLine(heading, 200),
    tenant: displayLine(tenant, 80),
    ...(alert.startsAt ? { since: alert.startsAt } : {}),
    ...(alert.state === 'resolved' && alert.endsAt ? { endedAt: alert.endsAt } : {}),
    ...(mutedBy ? { mutedBy: displayLine(mutedBy, 200) } : {}),
  };
}

function matchersText(matchers: object): string {
  return Object.entries(matchers)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : String(v)}`)
    .join(', ');
}

/** Silences (config and snoozes) on now that end before the next digest, and maintenance windows that do, touching the scope. */
function endingSoon(policy: Policy, now: Date, touches: (matchers: object) => boolean): DigestSilence[] {
  const horizon = now.getTime() + DAY_MS;
  const silences: DigestSilence[] = policy.silences
    .filter((s) => s.startsAt <= now && now < s.endsAt && s.endsAt.getTime() <= horizon && touches(s.matchers))
    .map((s) => ({
      kind: 'silence',
      what: displayLine('heading' in s ? `Snooze of ${String(s.heading)}` : matchersText(s.matchers), 300),
      endsAt: s.endsAt.toISOString(),
      createdBy: displayLine(s.createdBy, 200),
      comment: displayLine(s.comment, 300),
    }));
  const windows: DigestSilence[] = [];
  for (const w of policy.maintenanceWindows) {
    if (!touches(w.matchers) || !w.weekly.some((weekly) => isInWeeklyWindow(weekly, w.timeZone, now))) continue;
    const end = maintenanceEndsAt(w.weekly, w.timeZone, now);
    if (end && end.getTime() <= horizon)
      windows.push({
        kind: 'maintenance',
        what: displayLine(`${w.name} (${w.timeZone})`, 300),
        endsAt: end.toISOString(),
        createdBy: displayLine(w.createdBy, 200),
        comment: displayLine(w.comment, 300),
      });
  }
  return [...silences, ...windows].sort((a, b) => a.endsAt.localeCompare(b.endsAt));
}

/** Lists cut to what is named, shortened further until the whole view fits one stored property. */
function bounded(view: DigestView): DigestView {
  const cut = (v: DigestView, factor: number): DigestView => {
    const keep = (list: unknown[], max: number) => Math.min(list.length, Math.floor(max * factor));
    const o = keep(view.open, LISTED.open);
    const r = keep(view.resolved, LISTED.resolved);
    const s = keep(view.silences, LISTED.silences);
    return {
      ...v,
      open: view.open.slice(0, o),
      resolved: view.resolved.slice(0, r),
      silences: view.silences.slice(0, s),
      more: { open: view.open.length - o, resolved: view.resolved.length - r, silences: view.silences.length - s },
    };
  };
  let factor = 1;
  let result = cut(view, factor);
  while (JSON.stringify(result).length > PROPERTY_BUDGET_CHARS - 2000 && factor > 0.05)
    result = cut(view, (factor /= 2));
  return result;
}

/**
 * The alerts firing now in the scope of any of these routes (each a path from the root), each with
 * what mutes it (another alert, a silence, a snooze or a maintenance window), unmuted first, then
 * critical before warning, the oldest first: what a digest lists as open, and what a resolved notice
 * says is still open.
 */
export function openInScope(paths: Route[][], alerts: AlertRecord[], policy: ScopePolicy, now: Date): DigestAlert[] {
  const firing = alerts.filter((a) => a.state === 'firing');
  return firing
    .filter((a) => paths.some((path) => inScope(a, path, policy)))
    .map((a) =>
      digestAlert(
        a,
        policy,
        now,
        inhibitedBy(a, firing) ?? silencedBy(matchLabelsOf(a, policy.tenantNames), policy, now)?.description,
      ),
    )
    .sort(
      (a, b) =>
        Number(a.mutedBy !== undefined) - Number(b.mutedBy !== undefined) ||
        (a.severity === b.severity ? 0 : a.severity === 'critical' ? -1 : 1) ||
        (a.since ?? '').localeCompare(b.since ?? '') ||
        a.heading.localeCompare(b.heading),
    );
}

/**
 * What a route's digest says at `now`: its scope's alerts from `alerts` (as stored after this
 * cycle's reconcile), muted ones marked with what mutes them (`policy` holds the snoozes too).
 */
export function digestView(
  route: Route,
  path: Route[],
  alerts: AlertRecord[],
  policy: Policy,
  tenants: string[],
  now: Date,
  date: string,
): DigestView {
  const scoped = alerts.filter((a) => inScope(a, path, policy));
  const open = openInScope([path], alerts, policy, now);
  const resolved = scoped
    .filter((a) => a.state === 'resolved' && a.endsAt !== undefined && now.getTime() - Date.parse(a.endsAt) <= DAY_MS)
    .map((a) => digestAlert(a, policy, now))
    .sort((a, b) => (b.endedAt ?? '').localeCompare(a.endedAt ?? ''));
  const touches = (matchers: object) =>
    route.id === 'root' || scoped.some((a) => matches(matchers, matchLabelsOf(a, policy.tenantNames)));
  const silences = endingSoon(policy, now, touches);
  const unmuted = open.filter((a) => !a.mutedBy);
  return bounded({
    routeId: route.id,
    date,
    at: route.digest?.at ?? '00:00',
    timeZone: route.digest?.timeZone ?? 'UTC',
    generatedAt: now.toISOString(),
    tenants: tenantsInScope(path, tenants, policy),
    open,
    resolved,
    silences,
    more: { open: 0, resolved: 0, silences: 0 },
    counts: {
      critical: unmuted.filter((a) => a.severity === 'critical').length,
      warning: unmuted.filter((a) => a.severity === 'warning').length,
      muted: open.length - unmuted.length,
      resolved: resolved.length,
    },
  });
}

/** The idempotency key of a route receiver's digest for a date. */
function digestKey(receiverId: string, date: string): string {
  return createHash('sha256').update(`digest\n${receiverId}\n${date}`).digest('hex').slice(0, 40);
}

/** What planning digests takes: the outbox to plan them in, and the day each route last had one. */
export interface DigestDeps {
  outbox: Pick<OutboxStore, 'plan'>;
  digests: Pick<DigestMarkers, 'last' | 'mark'>;
  log: Logger;
}

/**
 * Plans the digests due at `now` (routes whose local time has come and whose digest for today is
 * not planned yet), for the route's email and each of its channels; returns the planned messages.
 * `policy` is the cycle's, with the snoozes among its silences.
 */
export async function planDigests(
  alerts: AlertRecord[],
  policy: Policy,
  /** The tenants watched (for "all N tenants healthy"). */
  tenants: string[],
  deps: DigestDeps,
  now: Date,
): Promise<PlannedMessage[]> {
  const planned: PlannedMessage[] = [];
  for (const { route, path } of digestRoutes(policy.route)) {
    const digest = route.digest as NonNullable<Route['digest']>;
    const { date, at } = dailyOccurrence(digest.at, digest.timeZone, now);
    if (now < at) continue;
    const last = await deps.digests.last(route.id);
    if (last !== undefined && last >= date) continue;
    const view = digestView(route, path, alerts, policy, tenants, now, date);
    for (const receiver of receiversOf(route)) {
      const message: PlannedMessage = {
        key: digestKey(receiver.id, date),
        recipients: { to: route.to, cc: route.cc.length ? route.cc : undefined },
        items: [],
        plannedAt: now.toISOString(),
        failedAttempts: 0,
        digest: view,
        ...(receiver.channel ? { channel: { ...receiver.channel, receiver: receiver.id } } : {}),
      };
      if (await deps.outbox.plan(message)) planned.push(message);
    }
    await deps.digests.mark(route.id, date);
    deps.log.info(
      `daily digest of route ${route.id} for ${date} (${digest.timeZone}) planned: ${view.counts.critical + view.counts.warning + view.counts.muted} open, ${view.counts.resolved} resolved in the last day`,
    );
  }
  return planned;
}
