import type { GraphReader } from '../clients/graph';
import { InvalidGraphData, normalizeServicePrincipal } from './normalize';
import type { ServicePrincipalRef } from '../model/observation';

/** Graph's largest page of service principals. */
const SERVICE_PRINCIPAL_PAGE_SIZE = 999;
/** Pages a sweep reads before it stops (about 100,000 service principals). */
export const DEFAULT_MAX_PAGES = 100;

export interface ServicePrincipalList {
  servicePrincipals: ServicePrincipalRef[];
  /** Set when the page cap stopped the listing: the list is partial. */
  truncatedAfterPages?: number;
}

/**
 * Every service principal of the tenant, paging through `@odata.nextLink` with only the four
 * properties discovery needs. Discovery narrows them to those with an application template
 * itself: Graph can only filter `applicationTemplateId ne null` as an advanced query (the
 * `ConsistencyLevel: eventual` header and `$count=true`, docs/reference/graph-provisioning-api.md
 * §1.12), which is eventually consistent and needs a header the reader does not send. A sweep runs
 * once a day, so a few pages of 999 are cheap. Throws Graph errors, and InvalidGraphData when a
 * page is malformed or Graph repeats a nextLink.
 */
export async function listServicePrincipals(
  reader: GraphReader,
  maxPages = DEFAULT_MAX_PAGES,
): Promise<ServicePrincipalList> {
  const servicePrincipals: ServicePrincipalRef[] = [];
  let next: string | undefined =
    `/servicePrincipals?$select=id,appId,displayName,applicationTemplateId&$top=${SERVICE_PRINCIPAL_PAGE_SIZE}`;
  const seen = new Set<string>();
  for (let page = 0; next; page++) {
    if (page >= maxPages) return { servicePrincipals, truncatedAfterPages: maxPages };
    if (seen.has(next))
      throw new InvalidGraphData('Graph returned the same @odata.nextLink twice while listing service principals');
    seen.add(next);
    const body = (await reader.get(next)) as { value?: unknown; '@odata.nextLink'?: unknown };
    if (!body || !Array.isArray(body.value))
      throw new InvalidGraphData('the service principal list from Graph has no value array');
    for (const raw of body.value) servicePrincipals.push(normalizeServicePrincipal(raw));
    next = typeof body['@odata.nextLink'] === 'string' ? body['@odata.nextLink'] : undefined;
  }
  return { servicePrincipals };
}

/** Whether a tenant's last sweep is older than the refresh interval (or there was none: a tenant new to the monitor). */
export function sweepDue(sweptAt: string | undefined, refreshMs: number, now: Date): boolean {
  const at = sweptAt ? Date.parse(sweptAt) : NaN;
  return !Number.isFinite(at) || now.getTime() - at >= refreshMs;
}
