import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../lib/evaluate/rules';
import type { AlertLabels } from '../../lib/evaluate/types';
import { renderNotification } from '../../lib/notify/render';
import { headerSafe } from '../../lib/notify/text';
import type { AlertRecord } from '../../lib/reconcile/types';

const hostile = 'Evil <script>alert(1)</script>\r\nBcc: victim@example.com';

function alert(condition: AlertLabels['condition'], annotations: AlertRecord['annotations']): AlertRecord {
  const labels: AlertLabels = { tenantId: 'aaaaaaaa-0000-0000-0000-000000000001', servicePrincipalId: 'bbbbbbbb-0000-0000-0000-000000000002', jobId: 'Azure2Azure.abc.def', condition };
  return { fingerprint: fingerprintOf(labels), labels, severity: 'critical', state: 'firing', annotations, outbox: [], startsAt: '2026-11-27T03:00:00.000Z' };
}

describe('renderNotification', () => {
  it('explains a deletion-threshold trip and how to approve or reject the held deletes', () => {
    const a = alert('deletion-threshold', { servicePrincipalName: 'Fabrikam to Contoso', appId: 'cccccccc-0000-0000-0000-000000000003', reason: 'TooManyDeletes', deleteThreshold: 500, seriesCount: 1 });
    const email = renderNotification(a, { kind: 'firing', key: 'k', createdAt: '' }, new Date('2026-11-27T03:05:00Z'));
    expect(email.subject).toBe('[Entra Sync Watch] Deletion threshold tripped: Fabrikam to Contoso is holding deletes for your decision');
    expect(email.plainText).toContain('"resetScope":"ForceDeletes"');
    expect(email.plainText).toContain('StagedDelete');
    expect(email.plainText).toContain('Do not restart before fixing');
    expect(email.html).toContain('https://entra.microsoft.com/#view/Microsoft_AAD_IAM/ManagedAppMenuBlade/~/Overview/objectId/bbbbbbbb-0000-0000-0000-000000000002/appId/cccccccc-0000-0000-0000-000000000003');
  });

  it('escapes Graph text in HTML and keeps the subject on one line', () => {
    const a = alert('quarantine', { servicePrincipalName: hostile, reason: 'EncounteredQuarantineException', errorMessage: '<img src=x onerror=alert(1)>', troubleshootingUrl: 'javascript:alert(1)' });
    const email = renderNotification(a, { kind: 'firing', key: 'k', createdAt: '' }, new Date());
    expect(email.subject).not.toMatch(/[\r\n]/);
    expect(email.html).not.toContain('<script>');
    expect(email.html).not.toContain('<img');
    expect(email.html).toContain('&lt;script&gt;');
    expect(email.html).not.toContain('javascript:');
  });

  it('says how long it lasted when resolved', () => {
    const a = { ...alert('quarantine', { servicePrincipalName: 'Fabrikam to Contoso', reason: 'EncounteredQuarantineException' }), state: 'resolved' as const, endsAt: '2026-11-27T05:10:00.000Z' };
    const email = renderNotification(a, { kind: 'resolved', key: 'k', createdAt: '', startsAt: a.startsAt, endsAt: a.endsAt }, new Date());
    expect(email.subject).toBe('[Entra Sync Watch] Resolved: Fabrikam to Contoso left quarantine after 2 h 10 min');
    expect(email.plainText).toContain('Lasted: 2 h 10 min');
  });

  it('tells which permission a tenant likely lacks', () => {
    const a = alert('tenant-unreadable', { problem: '401 UnknownError: HTTP 401 while reading synchronization/jobs (likely missing Synchronization.Read.All)', likelyMissingPermission: 'Synchronization.Read.All' });
    const email = renderNotification(a, { kind: 'firing', key: 'k', createdAt: '' }, new Date());
    expect(email.subject).toBe('[Entra Sync Watch] Cannot monitor tenant aaaaaaaa-0000-0000-0000-000000000001');
    expect(email.plainText).toContain('Likely missing: Synchronization.Read.All');
  });
});

describe('headerSafe', () => {
  it('removes every kind of line break and bounds the length', () => {
    expect(headerSafe('a\r\nb\u2028c\u0085d\te')).toBe('a b c d e');
    expect(headerSafe('x'.repeat(300), 50)).toHaveLength(50);
  });
});
