import type { PresentContext } from './rule';
import { ruleFor } from './rules';
import type { AlertRecord, AlertView, EndReason, Link, LinkTargets, NotificationItem } from '../model';

/** What channels need to present alerts: the clock, tenant names, and the other alerts of a job. */
export interface ViewContext {
  now: Date;
  /** Lower-case tenant id → name, from the config. */
  tenantNames: Map<string, string>;
  /** The other current alerts of the same job (default: none known). */
  related?: (alert: AlertRecord) => AlertRecord[];
  /** Where admin-center and consent links point (default: the global cloud, no consent link). */
  links?: LinkTargets;
  /** The IANA time zone times are shown in: the route's `timeZone` (default UTC). */
  timeZone?: string;
  /** Signed snooze links for an alert, made at `now` (lib/snooze/links.ts), when SNOOZE_SIGNING_KEY is set; none otherwise. */
  snooze?: (alert: AlertRecord, now: Date) => Link[];
  /** The signed "Review and decide" link of an alert that offers a decision (lib/actions/links.ts), when WATCH_ACTIONS is on. */
  decide?: (alert: AlertRecord, now: Date) => Link | undefined;
  /**
   * The signed Acknowledge link of a notice (lib/acknowledge/links.ts), bound to the alert's firing
   * period and the receiver the notice goes to, when SNOOZE_SIGNING_KEY is set; none otherwise.
   */
  acknowledge?: (alert: AlertRecord, item: NotificationItem, now: Date) => Link | undefined;
}

/** The other current alerts of an alert's job (none for tenant-wide alerts). */
export function relatedAlerts(alert: AlertRecord, current: Map<string, AlertRecord>): AlertRecord[] {
  const { tenantId, servicePrincipalId, jobId } = alert.labels;
  if (jobId === '-') return [];
  return [...current.values()].filter(
    (a) =>
      a !== alert &&
      a.labels.tenantId === tenantId &&
      a.labels.servicePrincipalId === servicePrincipalId &&
      a.labels.jobId === jobId,
  );
}

/** How an alert that ended for a reason of its own ended: never good news, whatever its rule would say. */
const ENDINGS: Record<EndReason, Pick<AlertView, 'ended' | 'endedAs'>> = {
  'no-longer-watched': {
    endedAs: 'no longer watched',
    ended:
      'no longer watched (its tenant was taken out of WATCH_TENANTS, so the monitor stopped checking it; this is not a recovery)',
  },
  'configuration-gone': {
    endedAs: 'configuration gone',
    ended:
      'ended because the configuration is gone (Graph no longer has it, confirmed on a second read; this is not a recovery)',
  },
};

/** The view of an alert, with how it ended when it ended for a reason of its own (lib/model.ts EndReason). */
export function viewOf(alert: AlertRecord, ctx: ViewContext): AlertView {
  const view = ruleViewOf(alert, ctx);
  if (alert.state !== 'resolved' || !alert.endReason) return view;
  return { ...view, ...ENDINGS[alert.endReason], endedWell: false };
}

/**
 * The view of an alert from its rule. An alert whose condition is no longer registered (a rule
 * removed in an upgrade, a custom rule deleted from the config) still gets a plain view, so its
 * resolved notice can go out.
 */
function ruleViewOf(alert: AlertRecord, ctx: ViewContext): AlertView {
  const present: PresentContext = {
    now: ctx.now,
    tenantName: (tenantId) => ctx.tenantNames.get(tenantId.toLowerCase()),
    related: ctx.related?.(alert) ?? [],
    links: ctx.links,
    timeZone: ctx.timeZone,
  };
  const rule = ruleFor(alert.labels.condition);
  if (rule) return rule.present(alert, present);
  const tenant = present.tenantName(alert.labels.tenantId) ?? alert.labels.tenantId;
  return {
    title: alert.labels.condition,
    about: typeof alert.annotations.servicePrincipalName === 'string' ? alert.annotations.servicePrincipalName : tenant,
    what: `Condition ${alert.labels.condition} in tenant ${tenant}.`,
    facts: [],
    scripts: [
      ['Tenant ID', alert.labels.tenantId],
      ['Job ID', alert.labels.jobId],
    ],
    links: [],
    ended: 'ended',
  };
}

/** The tenant as a reader knows it: its name from the config, else its ID. */
export function tenantNameOf(alert: AlertRecord, tenantNames: Map<string, string>): string {
  return tenantNames.get(alert.labels.tenantId.toLowerCase()) ?? alert.labels.tenantId;
}

/** A tenant-wide alert (no job) whose `about` names the tenant: `tenant Contoso`. */
export function aboutTheTenant(view: AlertView, alert: AlertRecord, tenant: string): boolean {
  return alert.labels.jobId === '-' && view.about.includes(tenant);
}

/**
 * `Quarantined: Fabrikam to Contoso (Contoso)`, the same in every message, digest and page about
 * the alert; no tenant in brackets for a tenant-wide alert that names it already.
 */
export function alertHeading(view: AlertView, alert: AlertRecord, tenant: string): string {
  return aboutTheTenant(view, alert, tenant)
    ? `${view.title}: ${view.about}`
    : `${view.title}: ${view.about} (${tenant})`;
}
