import type { AlertRecord, Link } from '../model';
import type { PresentContext } from './rule';
import { defangUrl, isMicrosoftUrl } from '../util/safe-text';

/** Helpers the rules share to present their alerts. Values stay raw: channels escape them. */

export function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

/**
 * A list annotation as a view reads it back: its entries, or `unreadable` when what is stored is
 * not a list (an alert stored before lists were kept as structure, whose JSON text was cut). A
 * view says the list could not be read; it never shows an empty list in its place.
 */
export function listAnnotation<T>(value: unknown): T[] | 'unreadable' {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value as T[];
  if (typeof value === 'string') {
    try {
      const parsed = JSON.parse(value) as unknown;
      if (Array.isArray(parsed)) return parsed as T[];
    } catch {
      // cut or damaged: said below
    }
  }
  return 'unreadable';
}

/** What a view says in place of a list it could not read. */
export const UNREADABLE_LIST =
  'could not be read: the stored list is damaged (an alert stored by an older version may have had it cut); see the logs for the details';

/** `the error code was A; it is now B`: one part of a material that changed, for a rule's describeChange. */
export function wasNow(what: string, before: string, now: string, none = 'none'): string {
  return `${what} was ${before || none}; it is now ${now || none}`;
}

/** Clauses as sentences (`The reason was A; it is now B.`); undefined when there are none. */
export function sentences(clauses: string[]): string | undefined {
  if (clauses.length === 0) return undefined;
  return clauses.map((c) => `${c.charAt(0).toUpperCase()}${c.slice(1)}.`).join(' ');
}

/** The tenant's name when the config gives one, else its id. */
export function shortTenant(tenantId: string, ctx: PresentContext): string {
  return ctx.tenantName(tenantId) ?? tenantId;
}

/** The configuration's display name, or its service principal id. */
export function appName(alert: AlertRecord): string {
  return str(alert.annotations.servicePrincipalName) || alert.labels.servicePrincipalId;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Where links point when the context does not say: the global cloud. */
const GLOBAL_PORTAL = 'https://entra.microsoft.com';
const GLOBAL_LOGIN = 'https://login.microsoftonline.com';

/**
 * A view of the Entra admin center in the alert's own tenant: the portal's tenant-in-URL form
 * (`https://entra.microsoft.com/{tenant}/#view/...`), so an MSP's link opens the customer's
 * directory, not whichever one the browser is signed in to.
 */
function portalView(tenantId: string, view: string, ctx?: Pick<PresentContext, 'links'>): string {
  return `${ctx?.links?.portalOrigin ?? GLOBAL_PORTAL}/${encodeURIComponent(tenantId)}/#view/${view}`;
}

/** The tenant's audit log (filter Activity: Quarantine, or by the configuration as target). */
export function auditLogLink(tenantId: string, ctx?: Pick<PresentContext, 'links'>): Link {
  return {
    label: 'Audit logs of the tenant',
    href: portalView(tenantId, 'Microsoft_AAD_IAM/AuditLogList.ReactView', ctx),
  };
}

/**
 * The job's blades in the Entra admin center: its Provisioning page (the notice's primary button),
 * its provisioning logs, and the tenant's audit log. The blade paths are the admin center's own deep
 * links (see docs/channels.md, "Links").
 */
export function jobLinks(alert: AlertRecord, ctx?: Pick<PresentContext, 'links'>): Link[] {
  const { tenantId, servicePrincipalId } = alert.labels;
  const appId = str(alert.annotations.appId);
  const links: Link[] = [];
  if (GUID.test(servicePrincipalId) && GUID.test(appId)) {
    const ids = `objectId/${servicePrincipalId}/appId/${appId}`;
    links.push(
      {
        label: "Open the job's Provisioning page",
        href: portalView(tenantId, `Microsoft_AAD_Connect_Provisioning/ProvisioningMenuBlade/~/Overview/${ids}`, ctx),
      },
      {
        label: 'Provisioning logs of the configuration',
        href: portalView(tenantId, `Microsoft_AAD_IAM/ManagedAppMenuBlade/~/ProvisioningActivity/${ids}`, ctx),
      },
    );
  }
  links.push(auditLogLink(tenantId, ctx));
  return links;
}

/**
 * Tenant-wide admin consent for the monitoring app, in the tenant's own cloud
 * (`{login}/{tenant}/adminconsent?client_id=...`); undefined without a client ID (managed identity).
 */
export function adminConsentLink(tenantId: string, ctx?: Pick<PresentContext, 'links'>): Link | undefined {
  const clientId = ctx?.links?.clientId;
  if (!clientId) return undefined;
  const login = ctx?.links?.loginOrigin ?? GLOBAL_LOGIN;
  return {
    label: 'Grant admin consent to the monitoring app in this tenant',
    href: `${login}/${encodeURIComponent(tenantId)}/adminconsent?client_id=${encodeURIComponent(clientId)}`,
  };
}

/**
 * Entra's troubleshooting link for a job: a link when it is Microsoft's; otherwise the text,
 * defanged, because the URL comes from Graph and a look-alike site must not look trusted.
 */
export function troubleshooting(value: unknown): { link?: Link; text?: string } {
  if (typeof value !== 'string' || value.trim() === '') return {};
  if (isMicrosoftUrl(value))
    return { link: { label: 'Troubleshooting guide from Microsoft', href: new URL(value).toString() } };
  return { text: defangUrl(value.trim()) };
}

/** The IDs of a job alert, for scripts and tickets: tenant, service principal, app, job and its template. */
export function jobScripts(alert: AlertRecord): [string, string][] {
  const n = alert.annotations;
  return givenFacts([
    ['Tenant ID', alert.labels.tenantId],
    ['Service principal ID', alert.labels.servicePrincipalId],
    ['App ID', n.appId],
    ['Job ID', alert.labels.jobId],
    ['Job template', n.templateId],
  ]);
}

/** The job's IDs for scripts, and the Graph request for its failed provisioning events. */
export function jobScriptsWithFailures(alert: AlertRecord): [string, string][] {
  return [
    ...jobScripts(alert),
    [
      'Failed events of the job',
      `GET /auditLogs/provisioning?$filter=jobId eq '${alert.labels.jobId}' and provisioningStatusInfo/status eq 'failure'`,
    ],
  ];
}

/** The IDs of an alert about a whole configuration, for scripts: tenant, service principal and app. */
export function configurationScripts(alert: AlertRecord): [string, string][] {
  return givenFacts([
    ['Tenant ID', alert.labels.tenantId],
    ['Service principal ID', alert.labels.servicePrincipalId],
    ['App ID', alert.annotations.appId],
  ]);
}

/** A runbook's steps with the advice for a well-known error code first, when there is one. */
export function withAdvice(steps: string[], advice: string | undefined): string[] {
  return advice ? [advice, ...steps] : steps;
}

/** Label and value pairs whose value is given (not undefined, empty, or a zero count). */
export function givenFacts(pairs: [string, unknown][]): [string, string][] {
  return pairs.filter(([, v]) => v !== undefined && v !== null && v !== '' && v !== 0).map(([k, v]) => [k, str(v)]);
}
