import { buildPolicy } from '../../lib/config/config';
import { digestView } from '../../lib/digest/digest';
import { withAlertLinks } from '../../lib/notify/digest-words';
import type { AlertRecord, DigestView } from '../../lib/model';
import { ALERT_FIXTURES, CONTOSO, ENDS_AT, FABRIKAM, NOW, RENDER_CONTEXT } from '../fixtures/alerts';
import { hostileQuarantine } from '../fixtures/hostile';

/**
 * Daily digests from the fixtures, as the digest stage makes them: a day with open alerts (one
 * muted by a silence that ends soon) and one resolved, a healthy day, and one full of hostile text.
 */

const hours = (n: number) => new Date(NOW.getTime() + n * 3600_000).toISOString();

/** Built on each call, inside the test that reads a digest (see ALERT_FIXTURES). */
const digestPolicy = () =>
  buildPolicy(
    {
      tenants: { [CONTOSO]: { name: 'Contoso' } },
      route: { digest: { at: '08:00', timeZone: 'Europe/Berlin' } },
      silences: [
        {
          matchers: { tenant: CONTOSO, condition: 'job-stalled' },
          startsAt: hours(-2),
          endsAt: hours(6),
          createdBy: 'alice@contoso.com',
          comment: 'CHG-1234 agent upgrade',
        },
      ],
    },
    { emailTo: ['ops@contoso.com'] },
  );

const resolved = (alert: AlertRecord): AlertRecord => ({ ...alert, state: 'resolved', endsAt: ENDS_AT });

/** The digest as delivery lays it out: made by the digest stage, each open alert linked to its page. */
function view(alerts: AlertRecord[]): DigestView {
  const policy = digestPolicy();
  const digest = digestView(policy.route, [policy.route], alerts, policy, [CONTOSO, FABRIKAM], NOW, '2026-11-27');
  return withAlertLinks(digest, (fp) => alerts.find((a) => a.fingerprint === fp), {
    ...RENDER_CONTEXT,
    tenantNames: policy.tenantNames,
  });
}

/** Each `digest` is built when read (see NoticeTemplate.views in templates.ts). */
export function digestTemplates(): { name: string; readonly digest: DigestView }[] {
  return [
    {
      name: 'digest.open',
      get digest() {
        return view([
          ALERT_FIXTURES.quarantine!,
          ALERT_FIXTURES['deletion-threshold']!,
          ALERT_FIXTURES['job-stalled']!,
          ALERT_FIXTURES['scim-token-expiring']!,
          resolved(ALERT_FIXTURES['job-failing']!),
        ]);
      },
    },
    {
      name: 'digest.healthy',
      get digest() {
        return view([resolved(ALERT_FIXTURES['job-failing']!)]);
      },
    },
    {
      name: 'digest.hostile',
      get digest() {
        return view([hostileQuarantine()]);
      },
    },
  ];
}

/** A digest of `count` open quarantines of long-named apps: more lines than a Teams card holds, so each section is cut short. */
export function oversizedDigest(count: number): DigestView {
  const base = ALERT_FIXTURES.quarantine!;
  return view(
    Array.from({ length: count }, (_, i) => ({
      ...base,
      fingerprint: `f${i}`,
      labels: { ...base.labels, jobId: `${base.labels.jobId}.${i}` },
      annotations: { ...base.annotations, servicePrincipalName: `Partner ${i} ${'n'.repeat(300)}` },
    })),
  );
}
