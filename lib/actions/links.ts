import type { AlertRecord, Link } from '../model';
import { linkUrl, newLink, verifyLink, type SignedLink, type VerifiedLink } from '../util/signed-links';
import { plansFor } from './plans';
import type { ActionsSettings } from '../settings/actions';
import { stateHash, stateOfAlert } from './state';

/**
 * The "Review and decide" link of an alert's messages: a signed decide link (lib/links/) bound to
 * the alert (tenant, fingerprint, the firing period), its job, and the state the message was sent
 * about, working for ACTIONS_LINK_LIFETIME (24 h by default) and acting once. Only alerts that
 * offer a decision turned on get one; with actions off, none does.
 */

const DECIDE_PATH = 'decide';
const DECIDE_LABEL = 'Review and decide';

/** The bound fields of a decide link, by their short names in the URL. */
export const DECIDE_BOUND = ['t', 'a', 'b', 'p', 'j', 'c', 'h', 'n'] as const;

export interface DecideBinding {
  tenantId: string;
  fingerprint: string;
  /** The firing period the message was about (the alert's startsAt). */
  startsAt: string;
  servicePrincipalId: string;
  jobId: string;
  condition: string;
  /** stateHash of the state the message was about. */
  stateHash: string;
  /** The held deletes the message named, or '' when it named none. */
  held: string;
}

export function bindingOf(link: SignedLink): DecideBinding {
  const b = link.bound;
  return {
    tenantId: b.t ?? '',
    fingerprint: b.a ?? '',
    startsAt: b.b ?? '',
    servicePrincipalId: b.p ?? '',
    jobId: b.j ?? '',
    condition: b.c ?? '',
    stateHash: b.h ?? '',
    held: b.n ?? '',
  };
}

/** The decide link for an alert as it stands at `now`, or undefined when it offers no decision. */
export function decideLinkFor(alert: AlertRecord, settings: ActionsSettings, now: Date, id?: string): Link | undefined {
  if (alert.state !== 'firing' || !alert.startsAt || plansFor(alert, settings.actions).length === 0) return undefined;
  const state = stateOfAlert(alert);
  const link = newLink(
    'decide',
    {
      t: alert.labels.tenantId,
      a: alert.fingerprint,
      b: alert.startsAt,
      p: alert.labels.servicePrincipalId,
      j: alert.labels.jobId,
      c: alert.labels.condition,
      h: stateHash(state),
      n: state.held !== undefined ? String(state.held) : '',
    },
    now,
    settings.linkLifetimeMs,
    id,
  );
  return { label: DECIDE_LABEL, href: linkUrl(settings.baseUrl, DECIDE_PATH, link, settings.signingKey) };
}

/** A request's decide link, checked (signature, key, expiry); the handler then checks it against the alert. */
export function verifyDecideLink(
  fields: Record<string, string | undefined>,
  settings: ActionsSettings,
  now: Date,
): VerifiedLink {
  return verifyLink('decide', fields, DECIDE_BOUND, settings.signingKey, now);
}
