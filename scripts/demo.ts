/**
 * `npm run demo`: the whole product against the local private cloud, end to end, in under a minute.
 * Starts Azurite and the emulators (identity authority, Microsoft Graph, ACS Email), plays the demo
 * scenario with the demo config (routing, tenant names, a silence), and between steps runs real
 * cycles, each as its own `npm run cycle` process with the settings a deployment would have, so
 * alert state must survive in Table Storage between them. It shows a grouped email, a silenced
 * job, a reminder and a grouped resolved notice that says what is still open and muted, and the same as Teams cards and signed webhook
 * posts to the emulators' receivers, which check them (the webhooks with the standardwebhooks
 * library: the demo fails unless every webhook post verifies as Standard Webhooks). After the
 * deletion trip, Adele Vance follows the email's "Review and decide" link, signs in (the emulated
 * authority, authorization code with PKCE) and approves the held deletes; the next cycle tells the
 * alert's recipients, and the resolved notice that follows names her.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { loadScenario, settingsFor, startPrivateCloud, type PrivateCloud, type ReceivedPost } from '../emulators';
import { startAzurite } from '../emulators/azurite';
import { DecisionAudit, lastAttempt } from '../lib/actions/audit';
import { handleDecide, type DecideDeps } from '../lib/actions/handler';
import { decideDepsFromEnv } from '../lib/app';
import { Browser, formOf } from './decide-browser';

/** Where the decide links point in the demo (the endpoint is run in this process, not served). */
const DECIDE_BASE = 'https://sync-watch.contoso.com';
const FABRIKAM_JOB = 'Azure2Azure.3f2a7c1e9b4d4e8aa6c51d2e3f405a6b.6c1f0e2d-8a3b-4c5d-9e7f-0a1b2c3d4e01';

/**
 * Adele follows the "Review and decide" link of the deletion trip's email, signs in, and approves;
 * the decide endpoint runs in this process on the demo's settings, as a new instance per request.
 */
async function approveFromEmail(cloud: PrivateCloud, env: NodeJS.ProcessEnv): Promise<boolean> {
  const link = cloud.acs
    .messages()
    .flatMap((m) => [...(m.plainText ?? '').matchAll(/https:\/\/sync-watch\.contoso\.com\/api\/decide\?\S+/g)])
    .map((m) => m[0])
    .find((l) => new URL(l).searchParams.get('j') === FABRIKAM_JOB);
  if (!link) {
    console.log('    -> no "Review and decide" link in the emails');
    return false;
  }
  const browser = new Browser(DECIDE_BASE, (request) => handleDecide(request, decideDepsFromEnv(env) as DecideDeps));
  const page = await browser.open(link);
  const who = /Signed in as ([^<]+)</.exec(page.body)?.[1] ?? 'nobody';
  console.log(`    -> opened the email's "Review and decide" link; signed in as ${who}; the page shows the job now`);
  const confirm = await browser.post(formOf(page.body, 'Approve the held deletes'));
  console.log('    -> "Approve the held deletes…": the confirmation page shows the Graph call');
  const result = await browser.post(formOf(confirm.body, 'Confirm'));
  const restarts = cloud.control.jobActions('restart');
  console.log(
    `    -> confirmed (${result.status}); Graph got ${restarts.length} restart(s): ${restarts.map((r) => `${r.status} resetScope ${r.resetScope}`).join(', ')}`,
  );
  const [decision] = await new DecisionAudit((decideDepsFromEnv(env) as DecideDeps).ledger).decisions();
  if (!decision) return false;
  const last = lastAttempt(decision.record);
  console.log(
    `    -> audit: ${last.endedAt} ${last.by.name} <${last.by.upn}> (${last.by.via}) ${last.action} resetScope ${last.resetScope ?? '-'} on "${decision.record.heading}": ${decision.record.status}, Graph ${last.graph?.status}; state seen: ${last.stateSeen}`,
  );
  return result.status === 200 && restarts.length === 1;
}

const root = resolve(__dirname, '..');
const outboxDir = join(root, 'outbox');

interface CycleRun {
  code: number;
  output: string;
}

function runCycleProcess(env: NodeJS.ProcessEnv): Promise<CycleRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(root, 'lib', 'cli', 'cycle.ts')],
      {
        cwd: root,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolvePromise({ code: code ?? 1, output }));
  });
}

/** One line per post the receivers took: what it said and whether it checked out. */
function describePost(post: ReceivedPost): string {
  const json = JSON.parse(post.body) as {
    attachments?: { content?: { fallbackText?: string } }[];
    summary?: { subject?: string };
  };
  const check =
    post.verified && !post.problem
      ? post.kind === 'teams'
        ? 'Workflows envelope and card checked'
        : post.scheme === 'standard-webhooks'
          ? 'verified as Standard Webhooks by the standardwebhooks library'
          : `NOT STANDARD WEBHOOKS: verified by the ${post.scheme} headers only`
      : `REFUSED: ${post.problem}`;
  return post.kind === 'teams'
    ? `posted a Teams card (${check}): ${json.attachments?.[0]?.content?.fallbackText ?? ''}`
    : `posted a signed webhook (${check}): ${json.summary?.subject ?? ''}`;
}

function indent(text: string): string {
  return text
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

async function main(): Promise<number> {
  rmSync(outboxDir, { recursive: true, force: true });
  mkdirSync(outboxDir, { recursive: true });

  console.log('Starting the local private cloud (authority, Graph, ACS Email, Log Analytics) and Azurite...');
  const azurite = await startAzurite({ cwd: root });
  const scenario = loadScenario(join(root, 'emulators', 'scenarios', 'demo.json'));
  // The story runs its cycles seconds apart instead of five minutes: Graph's reports limit on the
  // provisioning logs (5 requests per 10 s per tenant) is compressed the same way.
  const cloud = await startPrivateCloud({
    scenario: { ...scenario, reportsRateLimit: { requests: 5, windowSeconds: 1 } },
    outboxDir,
  });
  try {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...settingsFor(cloud, { storage: azurite.connectionString, acs: 'entra' }),
      ACS_CONNECTION_STRING: '',
      // Routes Northwind to its own service desk, names the tenants, silences Northwind's planned
      // maintenance, and repeats every 10 s instead of 4 h so that a reminder fits in the demo.
      WATCH_CONFIG: join(root, 'emulators', 'scenarios', 'demo-config.json'),
      // Decisions from an alert: the emulator's app registration is the sign-in app too, Contoso
      // consented to the write permission, and the links point at the demo's Function App address.
      WATCH_ACTIONS: 'on',
      ACTIONS_SIGNING_KEY: 'demo-actions-signing-key-not-for-production-0123',
      ACTIONS_BASE_URL: DECIDE_BASE,
      ACTIONS_SIGNIN_CLIENT_ID: cloud.clientId,
      ACTIONS_SIGNIN_CLIENT_SECRET: cloud.clientSecret,
    };
    cloud.control.setRedirectUris([`${DECIDE_BASE}/api/decide/signed-in`]);
    cloud.control.setGrants(cloud.tenants[0] as string, [
      'Application.Read.All',
      'Synchronization.Read.All',
      'AuditLog.Read.All',
      'Synchronization.ReadWrite.All',
    ]);
    console.log(
      `  Graph ${cloud.graphEndpoint}, authority ${cloud.authorityHost}, ACS ${cloud.acsEndpoint}, tables ${azurite.connectionString.split(';').find((p) => p.startsWith('TableEndpoint'))}`,
    );
    console.log(`  Watching tenants ${cloud.tenants.join(', ')}\n`);

    /** `stillOpen`: what the chapter's resolved email must say is still open or muted (the demo fails otherwise). */
    const story: {
      steps?: string[];
      waitMs?: number;
      before?: () => Promise<boolean>;
      says: string;
      stillOpen?: RegExp[];
    }[] = [
      {
        says: 'All jobs healthy (Tailspin was started but never ran, a Cloud Sync writeback job was created but never started: no alerts)',
      },
      {
        steps: [
          'deletion-threshold-tripped',
          'woodgrove-quarantined',
          'northwind-quarantined',
          'cloud-sync-stalled',
          'scim-failing',
        ],
        says:
          'Fabrikam holds 612 deletes (threshold 500; the email names them from the provisioning logs), Woodgrove is quarantined, Cloud Sync ' +
          "has completed no run for 3 h, Acme's SCIM app fails below quarantine and 15 users fail to provision to ServiceNow: one email for all " +
          "five, the deletion hold and its button on the phone's first screen, the failures per error code below. Northwind is quarantined too, but silenced",
      },
      { steps: ['still-quarantined'], says: 'Still broken, Entra re-evaluated: no repeat email yet' },
      {
        waitMs: 10_500,
        says: 'Still broken after the repeat interval (10 s in this demo, 4 h and 1 d by default): a reminder',
      },
      {
        before: () => approveFromEmail(cloud, env),
        says: 'Adele Vance approved the held deletes from the email: a Decided notice to the alert’s recipients (the job runs them at its next run)',
      },
      {
        // Each step runs the jobs first: Fabrikam's restart (ForceDeletes) runs the held deletes.
        steps: ['woodgrove-recovered', 'cloud-sync-caught-up', 'scim-recovered'],
        says: "Fabrikam's held deletes ran, invitations fixed, the agent back and the mapping fixed: one resolved notice for all four, Fabrikam's naming who approved, which says what is not resolved: ServiceNow's failures (still in their one-hour window) and Northwind's muted quarantine",
        stillOpen: [
          /^- Still open: Provisioning failures: ServiceNow \(Contoso\)/m,
          /^- Muted: Quarantined: Contoso to Northwind \(Northwind\)/m,
        ],
      },
    ];
    let failed = false;
    for (const [i, chapter] of story.entries()) {
      if (chapter.before && !(await chapter.before())) failed = true;
      for (const step of chapter.steps ?? []) cloud.control.step(step);
      if (chapter.waitMs) await new Promise((r) => setTimeout(r, chapter.waitMs));
      const before = cloud.acs.messages().length;
      const postsBefore = cloud.webhooks.posts().length;
      console.log(`Cycle ${i + 1}: ${chapter.says}`);
      const run = await runCycleProcess(env);
      console.log(indent(run.output));
      if (run.code !== 0) {
        failed = true;
        console.log(`    (npm run cycle exited ${run.code})`);
      }
      const sent = cloud.acs.messages().slice(before);
      console.log(
        sent.length
          ? sent.map((m) => `    -> emailed ${m.to.map((t) => t.address).join(', ')}: ${m.subject}`).join('\n')
          : '    -> no email',
      );
      for (const post of cloud.webhooks.posts().slice(postsBefore)) console.log(`    -> ${describePost(post)}`);
      // A resolved email never reads as "all clear" while something is still broken or muted.
      for (const m of sent.filter((e) => e.headers?.['X-Entra-Sync-Watch-Kind'] === 'resolved')) {
        const lines = (m.plainText ?? '')
          .split('\n')
          .filter((l) => /^(Not all clear|All clear|Nothing else)|^- (Still open|Muted): /.test(l));
        console.log(lines.map((l) => `       ${l}`).join('\n'));
      }
      for (const expected of chapter.stillOpen ?? []) {
        if (sent.some((m) => expected.test(m.plainText ?? ''))) continue;
        failed = true;
        console.log(`    (the resolved email does not say ${expected.source})`);
      }
      console.log('');
    }

    // The resolved notice names who approved the held deletes.
    const named = cloud.acs
      .messages()
      .filter((m) => m.headers?.['X-Entra-Sync-Watch-Kind'] === 'resolved')
      .flatMap((m) => (m.plainText ?? '').split('\n'))
      .find((l) => l.includes('Deletes approved by'));
    console.log(
      named ? `The resolved notice says: ${named.trim()}\n` : 'The resolved notice names nobody who decided\n',
    );
    if (!named) failed = true;

    const messages = cloud.acs.messages();
    console.log(`${messages.length} email(s) sent in ${story.length} cycles. Open them:`);
    for (const m of messages) {
      console.log(`  ${relative(process.cwd(), m.htmlPath ?? '')}  (also ${relative(process.cwd(), m.emlPath ?? '')})`);
    }
    const posts = cloud.webhooks.accepted();
    console.log(
      `\n${posts.filter((p) => p.kind === 'teams').length} Teams card(s) and ${posts.filter((p) => p.kind === 'webhook').length} signed webhook post(s), each checked by the receiver (paste a card into https://adaptivecards.io/designer to see it):`,
    );
    for (const post of posts) console.log(`  ${relative(process.cwd(), post.filePath ?? '')}`);
    if (cloud.webhooks.posts().some((p) => !p.verified || p.problem)) failed = true;
    // Every webhook post must verify with a Standard Webhooks library given the configured secret.
    const hooks = cloud.webhooks.posts('webhook');
    const standard = hooks.filter((p) => p.verified && p.scheme === 'standard-webhooks').length;
    console.log(
      `${standard} of ${hooks.length} webhook post(s) verified as Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) by the standardwebhooks library with OPS_WEBHOOK_SECRET.`,
    );
    if (hooks.length === 0 || standard !== hooks.length) failed = true;
    return failed ? 1 : 0;
  } finally {
    await cloud.stop();
    await azurite.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`demo failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
