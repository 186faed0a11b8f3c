import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../lib/evaluate/evaluate';
import type { AlertLabels } from '../../lib/model';
import type { NotificationItem } from '../../lib/notify/dedup';
import { renderEmail, type Notice } from '../../lib/notify/render';
import { headerSafe } from '../../lib/text';
import type { AlertRecord } from '../../lib/model';

const hostile = 'Evil <script>alert(1)</script>\r\nBcc: victim@example.com';
const TENANT = 'aaaaaaaa-0000-0000-0000-000000000001';
const ctx = { now: new Date('2026-11-27T07:10:00Z'), tenantNames: new Map([[TENANT, 'Contoso']]) };

function alert(condition: AlertLabels['condition'], annotations: AlertRecord['annotations'], job = 'Azure2Azure.abc.def'): AlertRecord {
  const labels: AlertLabels = { tenantId: TENANT, servicePrincipalId: 'bbbbbbbb-0000-0000-0000-000000000002', jobId: condition === 'tenant-unreadable' ? '-' : job, condition };
  return { fingerprint: fingerprintOf(labels), labels, severity: 'critical', state: 'firing', annotations, notified: {}, startsAt: '2026-11-27T03:00:00.000Z' };
}

function notice(a: AlertRecord, kind: NotificationItem['kind'], extra: Partial<NotificationItem> = {}): Notice {
  return { alert: a, item: { key: `${a.fingerprint}:${kind}`, fingerprint: a.fingerprint, routeId: 'root', kind, startsAt: a.startsAt!, ...extra } };
}

const trip = alert('deletion-threshold', { servicePrincipalName: 'Fabrikam to Contoso', appId: 'cccccccc-0000-0000-0000-000000000003', reason: 'TooManyDeletes', deleteThreshold: 500, seriesCount: 1, nextAttempt: '2026-11-27T09:00:00.000Z' });
const quarantine = alert('quarantine', { servicePrincipalName: 'Woodgrove to Contoso', reason: 'EncounteredQuarantineException', errorCode: 'AzureDirectoryB2BManagementPolicyCheckFailure' }, 'Azure2Azure.w.x');

describe('renderEmail', () => {
  it('explains a deletion-threshold trip and how to approve or reject the held deletes', () => {
    const email = renderEmail([notice(trip, 'firing')], ctx);
    expect(email.subject).toBe('[Entra Sync Watch] Deletion threshold tripped: Fabrikam to Contoso');
    expect(email.plainText).toContain('"resetScope":"ForceDeletes"');
    expect(email.plainText).toContain('StagedDelete');
    expect(email.plainText).toContain('Do not restart before fixing');
    expect(email.plainText).toContain(`Tenant: Contoso (${TENANT})`);
    expect(email.html).toContain('https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Overview/objectId/bbbbbbbb-0000-0000-0000-000000000002/appId/cccccccc-0000-0000-0000-000000000003');
  });

  it('a reminder says how long it has been firing, the series count and the next attempt', () => {
    const email = renderEmail([notice(trip, 'reminder', { reminder: 1 })], ctx);
    expect(email.subject).toBe('[Entra Sync Watch] Reminder: Deletion threshold tripped: Fabrikam to Contoso, for 4 h 10 min now');
    expect(email.plainText).toContain('Firing since: 2026-11-27 03:00 UTC (4 h 10 min)');
    expect(email.plainText).toContain('Re-evaluations in this quarantine: 1');
    expect(email.plainText).toContain('Next attempt by Entra: 2026-11-27 09:00 UTC');
  });

  it('sums up a grouped email in its subject and keeps a section per alert', () => {
    const resolved = { ...alert('quarantine', { servicePrincipalName: 'Tailspin to Contoso', reason: 'Unknown' }, 'Azure2Azure.t.y'), state: 'resolved' as const };
    const email = renderEmail([notice(trip, 'firing'), notice(quarantine, 'firing'), notice(resolved, 'resolved', { endsAt: '2026-11-27T04:00:00.000Z' })], ctx);
    expect(email.subject).toBe('[Entra Sync Watch] 1 deletion hold, 1 quarantined, 1 resolved: Contoso');
    expect(email.plainText).toContain('- Deletion threshold tripped: Fabrikam to Contoso');
    expect(email.plainText).toContain('- Quarantined: Woodgrove to Contoso');
    expect(email.plainText).toContain('- Resolved: Tailspin to Contoso left quarantine after 1 h');
    expect(email.plainText).toContain('Enable "Automatically redeem invitations"');
    expect(email.html.match(/<h3/g)).toHaveLength(3);
  });

  it('shows an alert once when two routes to the same people both carry it', () => {
    const a = notice(trip, 'firing');
    const b = { ...a, item: { ...a.item, routeId: 'root.0', key: 'other' } };
    expect(renderEmail([a, b], ctx).subject).toBe('[Entra Sync Watch] Deletion threshold tripped: Fabrikam to Contoso');
  });

  it('escapes Graph text in HTML and keeps the subject on one line', () => {
    const a = alert('quarantine', { servicePrincipalName: hostile, reason: 'EncounteredQuarantineException', errorMessage: '<img src=x onerror=alert(1)>', troubleshootingUrl: 'javascript:alert(1)' });
    const email = renderEmail([notice(a, 'firing')], ctx);
    expect(email.subject).not.toMatch(/[\r\n]/);
    expect(email.html).not.toContain('<script>');
    expect(email.html).not.toContain('<img');
    expect(email.html).toContain('&lt;script&gt;');
    expect(email.html).not.toContain('javascript:');
  });

  it('says how long it lasted when resolved', () => {
    const a = { ...alert('quarantine', { servicePrincipalName: 'Fabrikam to Contoso', reason: 'EncounteredQuarantineException' }), state: 'resolved' as const };
    const email = renderEmail([notice(a, 'resolved', { endsAt: '2026-11-27T05:10:00.000Z' })], ctx);
    expect(email.subject).toBe('[Entra Sync Watch] Resolved: Fabrikam to Contoso left quarantine after 2 h 10 min');
    expect(email.plainText).toContain('Lasted: 2 h 10 min');
  });

  it('tells which permission a tenant likely lacks', () => {
    const a = alert('tenant-unreadable', { problem: '401 UnknownError: HTTP 401 while reading synchronization/jobs (likely missing Synchronization.Read.All)', likelyMissingPermission: 'Synchronization.Read.All' });
    const email = renderEmail([notice(a, 'firing')], { ...ctx, tenantNames: new Map() });
    expect(email.subject).toBe(`[Entra Sync Watch] Cannot monitor: tenant ${TENANT}`);
    expect(email.plainText).toContain('Likely missing: Synchronization.Read.All');
  });
});

describe('headerSafe', () => {
  it('removes every kind of line break and bounds the length', () => {
    expect(headerSafe('a\r\nb\u2028c\u0085d\te')).toBe('a b c d e');
    expect(headerSafe('x'.repeat(300), 50)).toHaveLength(50);
  });
});
