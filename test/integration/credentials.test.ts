import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { forgetKeptCredentials } from '../../lib/clients/credentials';
import { runCycle } from '../../lib/cycle/cycle';
import { startWorld, type World } from '../support/world';

/**
 * Each way the monitor can sign in, against the emulated authority and managed identity endpoint,
 * through the real @azure/identity credentials and a whole cycle: a certificate-signed client
 * assertion, the managed identity as a federated credential of a multi-tenant app (no secret
 * anywhere), and the managed identity alone for one tenant.
 */
let world: World;
let home: string;
let other: string;
const saved = { ...process.env };

beforeAll(async () => {
  world = await startWorld();
  [home, other] = world.cloud.tenants as [string, string];
});
afterAll(async () => {
  process.env = saved;
  await world.stop();
});

beforeEach(() => {
  // Each test is a new deployment: no credential, and so no token, kept from the one before.
  forgetKeptCredentials();
  world.cloud.control.reset();
  // A new table per test: alerts of one mode must not carry into the next.
  world.tableName = `cred${Math.random().toString(36).slice(2)}`;
  // Start each test from the settings of the sample deployment minus every credential.
  for (const name of ['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH', 'WATCH_APP_CLIENT_ID', 'AZURE_CLIENT_ID'])
    delete world.env[name];
  world.env.AZURE_TENANT_ID = home;
  world.env.WATCH_TENANTS = world.cloud.tenants.join(',');
});

/** The PEM @azure/identity reads for a certificate credential: the private key and the certificate. */
function certificateFile(): { path: string; certificate: string } {
  const dir = process.env.EMULATOR_TLS_DIR as string;
  const certificate = readFileSync(join(dir, 'cert.pem'), 'utf8');
  const path = join(mkdtempSync(join(tmpdir(), 'esw-cert-')), 'app.pem');
  writeFileSync(path, `${readFileSync(join(dir, 'key.pem'), 'utf8')}\n${certificate}`);
  return { path, certificate };
}

/** The app registration trusts the managed identity as its federated credential. */
function trustManagedIdentity(): void {
  const mi = world.cloud.managedIdentity;
  world.cloud.control.addFederatedCredential({
    name: 'watch-identity',
    issuer: mi.issuer,
    subject: mi.principalId,
    audiences: ['api://AzureADTokenExchange'],
  });
}

const unreadable = (errors: string[]) => errors.filter((e) => e.includes('cannot monitor'));

describe('certificate: a client assertion signed with the app certificate', () => {
  it('is refused while the certificate is not registered on the app, then reads every tenant', async () => {
    const { path, certificate } = certificateFile();
    world.env.AZURE_CLIENT_ID = world.cloud.clientId;
    world.env.AZURE_CLIENT_CERTIFICATE_PATH = path;

    const refused = await runCycle(world.deps());
    expect(refused.tenantsUnreadable.sort()).toEqual([...world.cloud.tenants].sort());
    expect(unreadable(refused.errors).join('\n')).toMatch(
      /AADSTS700027: The certificate with identifier used to sign the client assertion is not registered/,
    );

    world.cloud.control.addAppCertificate(certificate);
    world.cloud.control.clearLogs();
    const summary = await runCycle(world.deps());
    expect(summary.tenantsUnreadable).toEqual([]);
    expect(summary.jobsSeen).toBeGreaterThan(0);
    const granted = world.cloud.control.tokenRequests().filter((t) => t.status === 200);
    expect(new Set(granted.map((t) => t.tenantId))).toEqual(new Set(world.cloud.tenants));
    expect(granted.every((t) => t.clientAuth === 'certificate')).toBe(true);
  });
});

describe('federated: the managed identity is the credential of a multi-tenant app', () => {
  beforeEach(() => {
    const mi = world.cloud.managedIdentity;
    Object.assign(process.env, mi.env); // ManagedIdentityCredential reads the platform's variables from process.env
    world.env.WATCH_APP_CLIENT_ID = world.cloud.clientId;
    world.env.AZURE_CLIENT_ID = mi.clientId;
  });

  it('is refused until the app trusts the identity, then reads every consented tenant without a secret', async () => {
    const mi = world.cloud.managedIdentity;
    const noTrust = await runCycle(world.deps());
    expect(noTrust.tenantsUnreadable.length).toBe(2);
    expect(unreadable(noTrust.errors).join('\n')).toMatch(
      /AADSTS700211: No matching federated identity record found for presented assertion issuer/,
    );

    world.cloud.control.addFederatedCredential({
      name: 'wrong-subject',
      issuer: mi.issuer,
      subject: 'someone-else',
      audiences: ['api://AzureADTokenExchange'],
    });
    const wrongSubject = await runCycle(world.deps());
    expect(unreadable(wrongSubject.errors).join('\n')).toMatch(
      new RegExp(`AADSTS700213: .*subject '${mi.principalId}'`),
    );

    world.cloud.control.addFederatedCredential({
      name: 'watch-identity',
      issuer: mi.issuer,
      subject: mi.principalId,
      audiences: ['api://AzureADTokenExchange'],
    });
    world.cloud.control.clearLogs();
    const summary = await runCycle(world.deps());
    expect(summary.errors).toEqual([]);
    expect(summary.tenantsUnreadable).toEqual([]);

    const granted = world.cloud.control.tokenRequests().filter((t) => t.status === 200);
    expect(new Set(granted.map((t) => t.tenantId))).toEqual(new Set(world.cloud.tenants));
    expect(granted.every((t) => t.clientAuth === 'federated' && t.clientId === world.cloud.clientId)).toBe(true);
    // The assertion came from the managed identity endpoint, for the token exchange audience.
    const assertions = mi.requests().filter((r) => r.status === 200);
    expect(assertions.length).toBeGreaterThan(0);
    expect(assertions.every((r) => r.resource === 'api://AzureADTokenExchange' && r.clientId === mi.clientId)).toBe(
      true,
    );
  });

  it('names a customer tenant that has not consented, and still reads the others', async () => {
    trustManagedIdentity();
    world.cloud.control.setConsented(other, false);
    const summary = await runCycle(world.deps());
    expect(summary.tenantsUnreadable).toEqual([other]);
    expect(unreadable(summary.errors).join('\n')).toMatch(/AADSTS700016: Application with identifier/);
  });
});

describe('managed identity: one tenant, no app registration', () => {
  beforeEach(() => {
    Object.assign(process.env, world.cloud.managedIdentity.env);
    world.env.AZURE_CLIENT_ID = world.cloud.managedIdentity.clientId;
  });

  it('reads its own tenant with its own Graph token, and refuses to pass off that token as another tenant', async () => {
    world.env.WATCH_TENANTS = home;
    const own = await runCycle(world.deps());
    expect(own.errors).toEqual([]);
    expect(own.jobsSeen).toBeGreaterThan(0);
    expect(world.cloud.control.tokenRequests()).toEqual([]); // no app registration involved
    expect(
      world.cloud.managedIdentity.requests().some((r) => r.resource === world.cloud.graphEndpoint && r.status === 200),
    ).toBe(true);

    world.env.WATCH_TENANTS = `${home},${other}`;
    const both = await runCycle(world.deps());
    expect(both.tenantsUnreadable).toEqual([other]);
    expect(unreadable(both.errors).join('\n')).toMatch(
      new RegExp(`the managed identity belongs to tenant ${home} and cannot read tenant ${other}.*WATCH_APP_CLIENT_ID`),
    );
  });
});

/**
 * A tenant listed by its domain name (issue 16, defect 2): in every mode each Graph token must carry
 * the tenant asked for as its `tid` (the domain resolved through its OpenID configuration); a token
 * of another tenant is a tenant-unreadable alert naming both tenant IDs, and nothing of the other
 * tenant is reported under the listed name.
 */
describe('a tenant listed by its domain: every token must belong to the tenant asked for', () => {
  const HOME_DOMAIN = 'contoso.onmicrosoft.com';
  const OTHER_DOMAIN = 'northwind.onmicrosoft.com';
  const HOME_JOB = 'Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e01';

  beforeEach(() => {
    // A home-tenant job in quarantine: read with a home token under the foreign name, it would be a foreign alert.
    world.cloud.control.setJob(home, HOME_JOB, {
      state: 'quarantined',
      quarantine: { reason: 'EncounteredQuarantineException' },
    });
    world.env.WATCH_TENANTS = `${HOME_DOMAIN},${OTHER_DOMAIN}`;
  });

  /** The cycle's stored alerts about the foreign domain: only its tenant-unreadable alert, never one of its jobs. */
  async function foreignAlerts() {
    const alerts = [...(await world.deps().alerts.loadAll()).values()];
    return alerts.filter((a) => a.labels.tenantId === OTHER_DOMAIN);
  }

  async function expectMismatchNamed(summary: Awaited<ReturnType<typeof runCycle>>) {
    expect(summary.tenantsUnreadable).toEqual([OTHER_DOMAIN]);
    const foreign = await foreignAlerts();
    expect(foreign.map((a) => a.labels.condition)).toEqual(['tenant-unreadable']);
    const text = String(foreign[0]?.annotations.problem);
    expect(text).toContain(home);
    expect(text).toContain(other);
    expect(foreign[0]?.annotations.errorCode).toBe('TenantMismatch');
    // The home tenant is read, under its own domain.
    const alerts = [...(await world.deps().alerts.loadAll()).values()];
    expect(alerts.some((a) => a.labels.tenantId === HOME_DOMAIN && a.labels.condition === 'quarantine')).toBe(true);
  }

  it('client secret: both domains are read as their own tenants; a token issued for the wrong tenant is refused', async () => {
    world.env.AZURE_CLIENT_ID = world.cloud.clientId;
    world.env.AZURE_CLIENT_SECRET = world.cloud.clientSecret;
    const both = await runCycle(world.deps());
    expect(both.tenantsUnreadable).toEqual([]);
    expect((await foreignAlerts()).map((a) => a.labels.condition)).not.toContain('quarantine');

    forgetKeptCredentials();
    world.tableName = `cred${Math.random().toString(36).slice(2)}`;
    world.cloud.control.issueTokensAs(other, home);
    await expectMismatchNamed(await runCycle(world.deps()));
  });

  it('federated (the managed identity as the credential of a multi-tenant app): a token of the wrong tenant is refused', async () => {
    const mi = world.cloud.managedIdentity;
    Object.assign(process.env, mi.env);
    world.env.WATCH_APP_CLIENT_ID = world.cloud.clientId;
    world.env.AZURE_CLIENT_ID = mi.clientId;
    trustManagedIdentity();
    world.cloud.control.issueTokensAs(other, home);
    await expectMismatchNamed(await runCycle(world.deps()));
  });

  it('the managed identity alone: its home domain is read, a foreign domain is refused, not read as the home tenant', async () => {
    Object.assign(process.env, world.cloud.managedIdentity.env);
    world.env.AZURE_CLIENT_ID = world.cloud.managedIdentity.clientId;
    const summary = await runCycle(world.deps());
    await expectMismatchNamed(summary);
    expect(unreadable(summary.errors).join('\n')).toMatch(
      new RegExp(
        `the managed identity belongs to tenant ${home} and cannot read tenant ${OTHER_DOMAIN} \\(${other}\\).*WATCH_APP_CLIENT_ID`,
      ),
    );
  });

  it('a domain the authority does not know is named as such, and the other tenants are read', async () => {
    world.env.AZURE_CLIENT_ID = world.cloud.clientId;
    world.env.AZURE_CLIENT_SECRET = world.cloud.clientSecret;
    world.env.WATCH_TENANTS = `${HOME_DOMAIN},unknown-tenant.onmicrosoft.com`;
    const summary = await runCycle(world.deps());
    expect(summary.tenantsUnreadable).toEqual(['unknown-tenant.onmicrosoft.com']);
    expect(unreadable(summary.errors).join('\n')).toMatch(
      /unknown-tenant\.onmicrosoft\.com in WATCH_TENANTS could not be resolved to a tenant ID: .* answered 400: AADSTS90002/,
    );
  });
});
