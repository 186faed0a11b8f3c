import { describe, expect, it } from 'vitest';
import { cloudOfGraphEndpoint, linkTargetsFor } from '../../lib/evaluate/cloud';
import { adminConsentLink, jobLinks, troubleshooting } from '../../lib/evaluate/present';
import { isMicrosoftUrl } from '../../lib/util/safe-text';
import { quarantineRunbook } from '../../lib/evaluate/runbooks';
import { renderOptionsFor } from '../../lib/notify/render';
import { viewOf } from '../../lib/evaluate/view';
import { ALERT_FIXTURES, CONTOSO, FABRIKAM, RENDER_CONTEXT } from '../fixtures/alerts';

const quarantine = ALERT_FIXTURES.quarantine!;
const SP = quarantine.labels.servicePrincipalId;
const APP = String(quarantine.annotations.appId);

describe('which cloud links point into', () => {
  it.each([
    ['https://graph.microsoft.com', 'global', 'https://entra.microsoft.com', 'https://login.microsoftonline.com'],
    ['https://graph.microsoft.us', 'usgov', 'https://entra.microsoft.us', 'https://login.microsoftonline.us'],
    ['https://dod-graph.microsoft.us', 'usgov-dod', 'https://entra.microsoft.us', 'https://login.microsoftonline.us'],
    [
      'https://microsoftgraph.chinacloudapi.cn',
      'china',
      'https://entra.microsoftonline.cn',
      'https://login.partner.microsoftonline.cn',
    ],
    ['https://127.0.0.1:8443', 'global', 'https://entra.microsoft.com', 'https://login.microsoftonline.com'],
  ])('%s is the %s cloud', (graphEndpoint, cloud, portalOrigin, loginOrigin) => {
    expect(cloudOfGraphEndpoint(graphEndpoint)).toBe(cloud);
    expect(linkTargetsFor({ graphEndpoint })).toEqual({ portalOrigin, loginOrigin });
  });

  it('takes a named cloud over the Graph endpoint, and the client ID for admin consent', () => {
    expect(linkTargetsFor('china', ' abc ')).toEqual({
      portalOrigin: 'https://entra.microsoftonline.cn',
      loginOrigin: 'https://login.partner.microsoftonline.cn',
      clientId: 'abc',
    });
    const options = renderOptionsFor({
      graphEndpoint: 'https://graph.microsoft.com',
      emailFrom: 'DoNotReply@watch.contoso.com',
      clientId: 'abc',
      cloud: 'usgov',
    });
    expect(options).toEqual({
      links: {
        portalOrigin: 'https://entra.microsoft.us',
        loginOrigin: 'https://login.microsoftonline.us',
        clientId: 'abc',
      },
      messageIdDomain: 'watch.contoso.com',
    });
  });
});

describe('admin-center links', () => {
  it("open the alert's own tenant in the tenant-in-URL form, on the job's Provisioning page, its provisioning logs and the audit logs", () => {
    expect(jobLinks(quarantine, RENDER_CONTEXT).map((l) => l.href)).toEqual([
      `https://entra.microsoft.com/${CONTOSO}/#view/Microsoft_AAD_Connect_Provisioning/ProvisioningMenuBlade/~/Overview/objectId/${SP}/appId/${APP}`,
      `https://entra.microsoft.com/${CONTOSO}/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/ProvisioningActivity/objectId/${SP}/appId/${APP}`,
      `https://entra.microsoft.com/${CONTOSO}/#view/Microsoft_AAD_IAM/AuditLogList.ReactView`,
    ]);
  });

  it("go to the sovereign cloud's portal for a sovereign tenant", () => {
    const links = jobLinks(quarantine, { links: linkTargetsFor({ graphEndpoint: 'https://graph.microsoft.us' }) });
    expect(links.every((l) => l.href.startsWith(`https://entra.microsoft.us/${CONTOSO}/#view/`))).toBe(true);
  });

  it("come from the rule's view with the context's cloud, plus Microsoft's troubleshooting guide", () => {
    const view = viewOf(quarantine, { ...RENDER_CONTEXT, links: linkTargetsFor('china') });
    expect(view.links.map((l) => new URL(l.href).host)).toEqual([
      'entra.microsoftonline.cn',
      'entra.microsoftonline.cn',
      'entra.microsoftonline.cn',
      'learn.microsoft.com',
    ]);
  });

  it.each(Object.keys(ALERT_FIXTURES))(
    "of every rule's alert (%s) point into the cloud of the context, never the global portal for a sovereign tenant",
    (condition) => {
      const view = viewOf(ALERT_FIXTURES[condition]!, { ...RENDER_CONTEXT, links: linkTargetsFor('usgov', 'abc') });
      const hosts = view.links.map((l) => new URL(l.href).host).filter((h) => h !== 'learn.microsoft.com');
      expect(hosts.length, "an admin-center link (the notice's open action)").toBeGreaterThan(0);
      for (const host of hosts) expect(['entra.microsoft.us', 'login.microsoftonline.us']).toContain(host);
    },
  );

  it('leave out the job blades when the IDs are not GUIDs, and keep the audit log', () => {
    const odd = { ...quarantine, annotations: { ...quarantine.annotations, appId: 'not-a-guid' } };
    expect(jobLinks(odd).map((l) => l.label)).toEqual(['Audit logs of the tenant']);
  });

  it("ask for admin consent in the tenant's own cloud, for the monitoring app, only when its client ID is known", () => {
    expect(adminConsentLink(FABRIKAM, { links: linkTargetsFor('usgov', 'a-b') })?.href).toBe(
      `https://login.microsoftonline.us/${FABRIKAM}/adminconsent?client_id=a-b`,
    );
    expect(adminConsentLink(FABRIKAM, { links: linkTargetsFor('global') })).toBeUndefined();
  });
});

describe('troubleshootingUrl from Graph', () => {
  it.each([
    ['https://learn.microsoft.com/entra/x', true],
    ['https://go.microsoft.com/fwlink/?linkid=1', true],
    ['https://aka.ms/provisioning', true],
    ['https://docs.azure.cn/entra/x', true],
    ['https://evil.example/learn.microsoft.com', false],
    ['https://learn.microsoft.com.evil.example/x', false],
    ['https://evilmicrosoft.com/x', false],
    ['https://user:pass@learn.microsoft.com/x', false],
    ['https://learn.microsoft.com:8443/x', false],
    ['http://learn.microsoft.com/x', false],
    ['javascript:alert(1)', false],
    ['', false],
  ])('%s is linked: %s', (url, linked) => {
    expect(isMicrosoftUrl(url)).toBe(linked);
    const result = troubleshooting(url);
    expect(result.link !== undefined).toBe(linked);
  });

  it('shows a foreign URL as defanged text, never as a link', () => {
    const evil = {
      ...quarantine,
      annotations: { ...quarantine.annotations, troubleshootingUrl: 'https://evil.example/fix' },
    };
    const view = viewOf(evil, RENDER_CONTEXT);
    expect(view.links.some((l) => l.href.includes('evil'))).toBe(false);
    expect(view.facts).toContainEqual([
      'Troubleshooting link from Graph (not a Microsoft site, so not linked)',
      'hxxps://evil[.]example/fix',
    ]);
  });
});

describe('runbooks', () => {
  it('are chosen by error code first, then by reason', () => {
    const b2b = quarantineRunbook('EncounteredQuarantineException', 'AzureDirectoryB2BManagementPolicyCheckFailure');
    expect(b2b.meaning).toContain('cross-tenant access settings');
    expect(b2b.meaning).not.toContain('credentials are invalid');
    expect(quarantineRunbook('EncounteredQuarantineException', undefined).meaning).toContain('credentials are invalid');
    expect(quarantineRunbook('EncounteredQuarantineException', 'SomethingNew').meaning).toContain(
      'credentials are invalid',
    );
  });

  it("do not borrow a reason's explanation for an error code known only by a hint", () => {
    const hinted = quarantineRunbook('EncounteredQuarantineException', 'AzureActiveDirectoryQuotaLimitExceeded');
    expect(hinted.meaning).toBe(
      'Entra quarantined the job (EncounteredQuarantineException) with error code AzureActiveDirectoryQuotaLimitExceeded.',
    );
    expect(hinted.steps[0]).toContain('object quota');
    expect(hinted.steps.join(' ')).not.toContain('Test connection');
    expect(quarantineRunbook('UnknownReason', 'UnknownCode').meaning).toContain('reduced rate');
  });
});
