/**
 * The naive poller `npm run bench` compares against: what a straightforward script does to read
 * the same facts. One tenant after another; for each, a new credential (so a new token), the list
 * of service principals, then one GET per configuration for its jobs and one for its secrets, and
 * one for the tenant's failed provisioning events; no `$batch`, no cache, no concurrency. It waits
 * out a 429's Retry-After, as any poller must. Prints `result {json}`.
 *   BENCH_NAIVE='{"tenants":[...],"graphEndpoint":"...","authorityHost":"...","clientId":"...","clientSecret":"..."}' node --import tsx scripts/bench/naive.ts
 */
import { ClientSecretCredential } from '@azure/identity';

interface Spec {
  tenants: string[];
  graphEndpoint: string;
  authorityHost: string;
  clientId: string;
  clientSecret: string;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.BENCH_NAIVE ?? '{}') as Spec;
  let requests = 0;
  let tokens = 0;
  let throttled = 0;
  const get = async (token: string, url: string): Promise<{ value?: unknown[]; '@odata.nextLink'?: string }> => {
    for (;;) {
      requests++;
      const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
      if (response.status === 429) {
        throttled++;
        await new Promise((r) => setTimeout(r, Number(response.headers.get('retry-after') ?? 1) * 1000));
        continue;
      }
      return (await response.json()) as { value?: unknown[]; '@odata.nextLink'?: string };
    }
  };
  const all = async (token: string, url: string) => {
    const items: unknown[] = [];
    for (let next: string | undefined = url; next;) {
      const page = await get(token, next);
      items.push(...(page.value ?? []));
      next = page['@odata.nextLink'];
    }
    return items;
  };
  const root = `${spec.graphEndpoint}/v1.0`;
  const started = performance.now();
  for (const tenant of spec.tenants) {
    const credential = new ClientSecretCredential(tenant, spec.clientId, spec.clientSecret, {
      authorityHost: spec.authorityHost,
      disableInstanceDiscovery: true,
    });
    const token = (await credential.getToken(`${spec.graphEndpoint}/.default`))!.token;
    tokens++;
    const sps = (await all(
      token,
      `${root}/servicePrincipals?$select=id,appId,displayName,applicationTemplateId&$top=999`,
    )) as { id: string; applicationTemplateId?: string | null }[];
    for (const sp of sps.filter((s) => s.applicationTemplateId)) {
      await all(token, `${root}/servicePrincipals/${sp.id}/synchronization/jobs`);
      await get(token, `${root}/servicePrincipals/${sp.id}/synchronization/secrets`);
    }
    const since = new Date(Date.now() - 3600_000).toISOString();
    await all(
      token,
      `${root}/auditLogs/provisioning?$filter=activityDateTime gt ${since} and provisioningStatusInfo/status eq 'failure'&$orderby=activityDateTime asc&$top=500`,
    );
  }
  const ms = performance.now() - started;
  console.log(
    `result ${JSON.stringify({ tenants: spec.tenants.length, ms: Math.round(ms), requests, tokens, throttled })}`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
