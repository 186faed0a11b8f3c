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
    const mi = world.cloud.managedIdentity;
    world.cloud.control.addFederatedCredential({
      name: 'watch-identity',
      issuer: mi.issuer,
      subject: mi.principalId,
      audiences: ['api://AzureADTokenExchange'],
    });
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
