/**
 * `npm run demo`: the whole product against the local private cloud, end to end, in under a minute.
 * Starts Azurite and the emulators (identity authority, Microsoft Graph, ACS Email), plays the demo
 * scenario with the demo config (routing, tenant names, a silence), and between steps runs real
 * cycles, each as its own `npm run cycle` process with the settings a deployment would have, so
 * alert state must survive in Table Storage between them. It shows a grouped email, a silenced
 * job, a reminder and a grouped resolved notice, and the same as Teams cards and signed webhook
 * posts to the emulators' receivers, which check them (the webhooks with the standardwebhooks
 * library: the demo fails unless every webhook post verifies as Standard Webhooks).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { loadScenario, settingsFor, startPrivateCloud, type ReceivedPost } from '../emulators';
import { startAzurite } from '../emulators/azurite';

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
    };
    console.log(
      `  Graph ${cloud.graphEndpoint}, authority ${cloud.authorityHost}, ACS ${cloud.acsEndpoint}, tables ${azurite.connectionString.split(';').find((p) => p.startsWith('TableEndpoint'))}`,
    );
    console.log(`  Watching tenants ${cloud.tenants.join(', ')}\n`);

    const story: { steps?: string[]; waitMs?: number; says: string }[] = [
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
          'five, with a failure digest per error code. Northwind is quarantined too, but silenced',
      },
      { steps: ['still-quarantined'], says: 'Still broken, Entra re-evaluated: no repeat email yet' },
      {
        waitMs: 10_500,
        says: 'Still broken after the repeat interval (10 s in this demo, 4 h and 1 d by default): a reminder',
      },
      {
        steps: ['recovered', 'woodgrove-recovered', 'cloud-sync-caught-up', 'scim-recovered'],
        says: "Deletes approved, invitations fixed, the agent back and the mapping fixed: one resolved notice for all four (ServiceNow's failures are still in their one-hour window)",
      },
    ];
    let failed = false;
    for (const [i, chapter] of story.entries()) {
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
      console.log('');
    }

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
