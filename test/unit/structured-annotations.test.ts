import { describe, expect, it } from 'vitest';
import { buildPolicy } from '../../lib/config/config';
import type { KqlRule } from '../../lib/model/policy';
import { evaluateTenant } from '../../lib/evaluate/evaluate';
import { evaluateKql } from '../../lib/evaluate/kql';
import { RULES, ruleFor } from '../../lib/evaluate/rules';
import { kqlRuleDefinition } from '../../lib/evaluate/rules/kql';
import type { AlertRecord, Annotations, Finding } from '../../lib/model';
import { renderEmail } from '../../lib/notify/render';
import { addFailure, emptyDigest } from '../../lib/observe/provisioning-digest';
import { normalizeGraphEvent } from '../../lib/observe/provisioning-normalize';
import type { JobSnapshot, TenantObservation } from '../../lib/model/observation';
import { AlertStore } from '../../lib/store/alert-store';
import {
  CONTOSO,
  detectionObservation,
  forecastObservation,
  failedEvent,
  firingRecordOf,
  logsObservation,
  noticeOf,
  NOW,
  partialObservation,
  RENDER_CONTEXT,
  unreadableLogsObservation,
} from '../fixtures/alerts';
import { MemoryTable } from '../support/memory-table';

/**
 * Annotations a rule's view parses back (the codes of a failure digest, the sample of held deletes,
 * a KQL rule's rows and steps) are structured data. They are bounded by what they hold (entries,
 * characters per field) where they are made, and kept as structure, never as serialised text that a
 * length bound could cut into JSON that no longer parses (issue 16, defect 1).
 */

const HUGE = 'Ü'.repeat(3000);
const CODES = ['EntryConflict', 'MandatoryFieldsMissing', 'InvalidDomain', 'ScimEndpointError', 'UserNotFound'];
const SERVICE_NOW_JOB = 'ServiceNowOutDelta.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.0a1b2c3d-0000-4000-8000-000000000012';

/** The ServiceNow job's digest: `perCode` failures of each code, with long reasons, actions and names. */
function failuresObservation(perCode: number, text: (code: string, n: number) => string): TenantObservation {
  const digest = emptyDigest();
  let n = 0;
  for (const code of CODES)
    for (let i = 0; i < perCode; i++) {
      n++;
      const at = new Date(NOW.getTime() - 30 * 60_000 + n).toISOString();
      const event = failedEvent(
        n,
        at,
        code,
        `${text(code, n)} user ${n}`,
        `reason ${text(code, n)}`,
        `act ${text(code, n)}`,
      );
      addFailure(digest, normalizeGraphEvent(event), 3600_000, NOW.getTime());
    }
  const base = logsObservation(NOW);
  return { ...base, provisioning: { ...base.provisioning!, digest } };
}

/** A job whose deletes are held, with `held` names in the sample. */
function heldDeletesObservation(held: number, name: (n: number) => string): TenantObservation {
  const base = detectionObservation();
  const first = base.jobs[2] as JobSnapshot;
  const tripped: JobSnapshot = {
    ...first,
    status: { known: 'Quarantine', raw: 'Quarantine' },
    quarantine: {
      reason: { known: 'TooManyDeletes', raw: 'TooManyDeletes' },
      error: { code: 'TooManyDeletes', message: HUGE, tenantActionable: true },
    },
  };
  const other: JobSnapshot = {
    ...(base.jobs[1] as JobSnapshot),
    status: { known: 'Quarantine', raw: 'Quarantine' },
    quarantine: {
      reason: { known: 'EncounteredQuarantineException', raw: 'EncounteredQuarantineException' },
      error: { code: HUGE, message: HUGE, tenantActionable: true },
    },
  };
  const sample = Array.from({ length: held }, (_, i) => ({
    id: `obj-${i}`,
    displayName: name(i),
    upn: `${name(i)}@contoso.com`,
    identityType: 'User',
  }));
  return {
    ...base,
    jobs: [tripped, other],
    provisioning: {
      ...logsObservation(NOW).provisioning!,
      heldDeletes: new Map([
        [tripped.jobId, { count: 612, sample, capped: false, cycleId: 'c1', lastAt: NOW.getTime() }],
      ]),
    },
  };
}

function unreadableTenant(): TenantObservation {
  return {
    tenantId: 'fabrikam.onmicrosoft.com',
    jobs: [],
    servicePrincipalsRead: new Set(),
    servicePrincipalProblems: [],
    problem: { kind: 'access', status: 403, code: 'Authorization_RequestDenied', message: HUGE, operation: 'token' },
  };
}

/** A tenant with sixty checks degraded for days, each with a long cause and fix. */
function partialTenant(): TenantObservation {
  const since = new Date(NOW.getTime() - 3 * 24 * 3600_000).toISOString();
  return {
    ...partialObservation(NOW),
    coverage: {
      subject: CONTOSO,
      checkedAt: NOW.toISOString(),
      checks: Array.from({ length: 60 }, (_, i) => ({
        check: `kql:kql-${i}-${HUGE}`,
        state: 'degraded' as const,
        cause: { kind: 'outage' as const, words: HUGE },
        fix: { kind: 'none' as const, words: HUGE },
        since,
      })),
    },
  };
}

const KQL_RULE: KqlRule = {
  name: 'kql-wide-rows',
  query: 'AADProvisioningLogs | take 10',
  timeSpanMs: 3600_000,
  threshold: { operator: '>', value: 0 },
  severity: 'warning',
  pendingCycles: 0,
  labels: {},
  steps: Array.from({ length: 40 }, (_, i) => `Step ${i + 1}: ${HUGE}`),
};

function kqlFindings(): Finding[] {
  const columns = Array.from({ length: 60 }, (_, i) => `Column${i}`);
  const rows = Array.from({ length: 10 }, (_, r) => Object.fromEntries(columns.map((c) => [c, `${r}:${HUGE}`])));
  return evaluateKql([{ rule: KQL_RULE, answer: { columns, rows } } as never], 'ws-1').findings;
}

/** Every finding of every registered rule, from Graph input as long as Graph may send it. */
function hugeFindings(): Finding[] {
  const rules = buildPolicy(
    { rules: { 'no-provisioning-events': { enabled: true } } },
    { emailTo: ['o@contoso.com'] },
  ).rules;
  const observations = [
    detectionObservation(),
    forecastObservation(NOW),
    failuresObservation(2000, () => HUGE),
    unreadableLogsObservation(),
    heldDeletesObservation(10, (i) => `${HUGE}${i}`),
    unreadableTenant(),
    partialTenant(),
  ];
  const findings = [...observations.flatMap((o) => evaluateTenant(o, { now: NOW, rules })), ...kqlFindings()];
  // The observations share jobs: one finding per alert, as a cycle has.
  return [...new Map(findings.map((f) => [f.fingerprint, f])).values()];
}

const recordOf = (f: Finding) => firingRecordOf(f, NOW.toISOString(), NOW.toISOString());

/** The alerts as the next cycle reads them back from Table Storage (through the store's own bounding). */
async function roundTrip(findings: Finding[]): Promise<Map<string, AlertRecord>> {
  const store = new AlertStore(new MemoryTable('alerts').asClient());
  for (const f of findings) await store.save(recordOf(f));
  return store.loadAll();
}

/** An annotation that is text holding JSON structure: a bound on its length can cut it. */
function serialisedStructure(value: unknown): boolean {
  if (typeof value !== 'string' || !/^\s*[[{]/.test(value)) return false;
  try {
    return typeof JSON.parse(value) === 'object';
  } catch {
    return true; // already cut
  }
}

const presentOf = (alert: AlertRecord) =>
  (ruleFor(alert.labels.condition) ?? kqlRuleDefinition(alert.labels.condition)).present(alert, {
    now: NOW,
    tenantName: () => undefined,
    related: [],
  });

describe('structured annotations are bounded by what they hold, never cut as text', () => {
  it('every rule fires in the huge world, and no annotation of any rule is serialised structure', () => {
    const findings = hugeFindings();
    const fired = new Set(findings.map((f) => f.labels.condition));
    for (const rule of RULES)
      expect(fired, `no finding of ${rule.condition}: give it one here`).toContain(rule.condition);
    for (const f of findings)
      for (const [key, value] of Object.entries(f.annotations))
        expect(serialisedStructure(value), `${f.labels.condition}.${key} is JSON in a string`).toBe(false);
  });

  it("every rule's structured annotations come back from the store whole: the entries kept, each one parsed", async () => {
    const findings = hugeFindings();
    const stored = await roundTrip(findings);
    for (const f of findings) {
      const back = stored.get(f.fingerprint) as AlertRecord;
      for (const [key, value] of Object.entries(f.annotations)) {
        if (!Array.isArray(value)) continue;
        expect(value.length, `${f.labels.condition}.${key} kept no entry`).toBeGreaterThan(0);
        expect(back.annotations[key], `${f.labels.condition}.${key} changed in the store`).toEqual(value);
      }
      for (const [key, value] of Object.entries(back.annotations))
        expect(serialisedStructure(value), `${f.labels.condition}.${key} came back as JSON text`).toBe(false);
      expect(() => presentOf(back)).not.toThrow();
    }
  });
});

describe('a failure digest names every code it holds (issue 16, defect 1)', () => {
  const digestAlert = async (perCode: number, text: (code: string, n: number) => string) => {
    const findings = evaluateTenant(failuresObservation(perCode, text), { now: NOW }).filter(
      (f) => f.labels.condition === 'provisioning-failures',
    );
    expect(findings).toHaveLength(1);
    return (await roundTrip(findings)).get(findings[0]!.fingerprint) as AlertRecord;
  };

  it('5 codes with a few hundred characters of reason and recommended action each: the email names all 5', async () => {
    const alert = await digestAlert(3, (code) => `${code} ${'explained at length; '.repeat(15)}`);
    const view = presentOf(alert);
    expect(view.what).toContain('with 5 error code(s)');
    for (const code of CODES) expect(view.facts.map(([label]) => label)).toContain(code);
    const email = renderEmail([noticeOf(alert, 'firing')], RENDER_CONTEXT);
    for (const code of CODES) expect(email.plainText).toContain(`${code}:`);
  });

  it('10,000 failures over 5 codes, with names and reasons as long as Graph sends: still every code, and what was kept of each', async () => {
    const alert = await digestAlert(2000, (code, n) => `${code}-${n}-${HUGE}`);
    const view = presentOf(alert);
    const labels = view.facts.map(([label]) => label);
    for (const code of CODES) expect(labels).toContain(code);
    const conflict = view.facts.find(([label]) => label === 'EntryConflict')?.[1] ?? '';
    expect(conflict).toMatch(/^2000 failure\(s\)/);
    expect(conflict).toContain('Reason: reason EntryConflict-');
    expect(conflict).toContain('For example: EntryConflict-');
  });

  it('says so when a stored list cannot be read (an alert stored before this fix, cut mid-JSON)', () => {
    const annotations: Annotations = {
      servicePrincipalName: 'ServiceNow',
      failures: 10,
      inWindow: 10,
      threshold: 10,
      windowMs: 3600_000,
      codeCount: 5,
      codes:
        '[{"code":"EntryConflict","count":3,"firstAt":"2026-11-27T06:40:00.000Z","reason":"Conf… [truncated: 4000 characters]',
      otherCodes: 0,
      otherFailures: 0,
    };
    const view = presentOf({
      ...recordOf({
        fingerprint: 'f',
        labels: {
          tenantId: CONTOSO,
          servicePrincipalId: 's',
          jobId: SERVICE_NOW_JOB,
          condition: 'provisioning-failures',
        },
        severity: 'warning',
        pendingCycles: 0,
        annotations,
      }),
    });
    expect(view.facts.find(([label]) => label === 'Error codes')?.[1]).toMatch(/could not be read/);
  });
});

describe('held deletes and KQL rows keep their entries whole', () => {
  it('the held objects of a deletion hold are named, each whole, however long their names', async () => {
    const findings = evaluateTenant(
      heldDeletesObservation(10, (i) => `Person ${i} ${'of a long name '.repeat(40)}`),
      {
        now: NOW,
      },
    ).filter((f) => f.labels.condition === 'deletion-threshold');
    const alert = (await roundTrip(findings)).get(findings[0]!.fingerprint) as AlertRecord;
    const held = presentOf(alert).facts.find(([label]) => label.startsWith('Held objects'));
    expect(held?.[0]).toBe('Held objects (10 of 612)');
    for (let i = 0; i < 10; i++) expect(held?.[1]).toContain(`Person ${i} `);
  });

  it("a KQL rule's sample rows and steps are bounded by rows, columns and characters, and say what was left out", async () => {
    const [finding] = kqlFindings();
    const alert = (await roundTrip([finding!])).get(finding!.fingerprint) as AlertRecord;
    const view = presentOf(alert);
    const rows = view.facts.filter(([label]) => /^Row \d+$/.test(label));
    expect(rows).toHaveLength(5);
    expect(rows[0]?.[1]).toContain('Column0=0:Ü');
    expect(view.runbook?.steps[0]).toMatch(/^Step 1: Ü/);
    expect(view.runbook?.steps.length).toBeLessThan(40);
    expect(view.runbook?.steps.at(-1)).toMatch(/more step\(s\) in the rule's config/);
  });
});
