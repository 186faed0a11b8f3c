import type { Policy, Route } from '../model/policy';
import { matches } from '../model/matchers';
import type { AlertRecord, MatchLabels } from '../model';

/** The labels routes, silences and inhibition match on, from an alert and the config's tenant names. */
export function matchLabelsOf(alert: AlertRecord, tenantNames: Policy['tenantNames']): MatchLabels {
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    tenant: alert.labels.tenantId,
    tenantName: tenantNames.get(alert.labels.tenantId.toLowerCase()),
    servicePrincipal: alert.labels.servicePrincipalId,
    app: text(alert.annotations.servicePrincipalName),
    jobTemplate: text(alert.annotations.templateId),
    job: alert.labels.jobId,
    condition: alert.labels.condition,
    severity: alert.severity,
  };
}

/**
 * The routes an alert goes to, as Alertmanager walks its tree: children are tried in order, the
 * first that matches takes the alert (and its own children are tried in turn); `continue` lets
 * later siblings match too. A node none of whose children match takes the alert itself.
 */
export function routesFor(root: Route, labels: MatchLabels): Route[] {
  const matched: Route[] = [];
  for (const child of root.routes) {
    if (!matches(child.match, labels)) continue;
    matched.push(...routesFor(child, labels));
    if (!child.continue) break;
  }
  return matched.length > 0 ? matched : [root];
}

/** The id of a route's channel's notification log: `root.0~teams:TEAMS_OPS_URL` (email keeps the route's own id). */
export function receiverId(route: Route, channelId: string): string {
  return `${route.id}~${channelId}`;
}

/** The id of an escalation step's receivers: `root.0.escalate.1` (its channels' logs add `~teams:…`). */
function escalationId(route: Route, step: number): string {
  return `${route.id}.escalate.${step}`;
}

/**
 * The route a receiver belongs to: `root.0` of `root.0~teams:TEAMS_OPS_URL`, and of an escalation
 * step's `root.0.escalate.1` (whose time zone and scope are its route's).
 */
export function routeIdOfReceiver(id: string): string {
  return (id.split('~')[0] as string).replace(/\.escalate\.\d+$/, '');
}

/** Whether a receiver id is an escalation step's (its email or one of its channels). */
export function isEscalationReceiver(id: string): boolean {
  return /\.escalate\.\d+(?:~|$)/.test(id);
}

/** A route's own receivers: its email and each of its channels. */
function ownReceivers(route: Route): Route[] {
  return [
    route,
    ...(route.channels ?? []).map((channel) => ({ ...route, id: receiverId(route, channel.id), channel })),
  ];
}

/**
 * The receivers of a route's escalation steps: per step, its email (when it has recipients) and
 * each of its channels, each a copy of the route that says which step it is (`escalation`), with
 * the step's recipients and a log of its own. They hear an alert once per firing period (the
 * escalation notice) and then its end; no reminders, no changes, no digests.
 */
function escalationReceivers(route: Route): Route[] {
  return (route.escalate ?? []).flatMap((step, i) => {
    const base: Route = {
      ...route,
      id: escalationId(route, i),
      to: step.to,
      cc: step.cc,
      channels: step.channels,
      escalate: undefined,
      digest: undefined,
      escalation: { step: i, afterMs: step.afterMs, ...(step.severities ? { severities: step.severities } : {}) },
    };
    return ownReceivers(base).filter((r) => r.channel || r.to.length > 0);
  });
}

/**
 * Where a route delivers: email (the route itself, whose log keeps the route's id), each of its
 * channels, and its escalation steps' receivers, each a copy of the route with its own id. Each
 * receiver keeps its own notification log on the alert (`notified[id]`), so each is told, reminded
 * and retried on its own: a channel that is down delays only itself.
 */
export function receiversOf(route: Route): Route[] {
  return [...ownReceivers(route), ...escalationReceivers(route)];
}

/** Every receiver of every route of the tree: what a planned message's receiver is looked up in. */
export function allReceivers(root: Route): Route[] {
  return [...receiversOf(root), ...root.routes.flatMap(allReceivers)];
}
