/**
 * Runs the local private cloud until Ctrl-C, for a demo or for `npm run cycle` in another shell.
 *   node scripts/with-emulator-ca.mjs tsx emulators/serve.ts [scenario.json] [--outbox dir]
 */
import { join, resolve } from 'node:path';
import { settingsFor, startPrivateCloud } from './index';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outboxIndex = args.indexOf('--outbox');
  const outboxDir = resolve(outboxIndex >= 0 ? (args[outboxIndex + 1] ?? 'outbox') : 'outbox');
  const scenarioPath = resolve(
    args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--outbox') ?? join(__dirname, 'scenarios', 'demo.json'),
  );

  const cloud = await startPrivateCloud({ scenario: scenarioPath, outboxDir });
  const bundle = process.env.NODE_EXTRA_CA_CERTS ?? '';
  const quote = (value: string) => (/^[\w@%+=:,./-]*$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`);
  const exports = Object.entries(settingsFor(cloud))
    .map(([name, value]) => `export ${name}=${quote(value)}`)
    .join('\n');
  console.log(`Local private cloud running (scenario ${scenarioPath})
  authority   ${cloud.authorityHost}
  graph       ${cloud.graphEndpoint}/v1.0
  acs         ${cloud.acsEndpoint}
  logs        ${cloud.logAnalytics.endpoint}/v1/workspaces/${cloud.logAnalytics.workspaceId}/query
  control     ${cloud.graphEndpoint}/_emulator/   (POST step {"name"?}, POST faults, GET requests, PUT jobs/{tenant}/{jobId}, ...)
  outbox      ${outboxDir}
  tenants     ${cloud.tenants.join(', ')}
  timeline    ${cloud.control.timeline().steps.join(' -> ') || '(none)'}

Settings for \`npm run cycle\` in another shell (it must trust the emulator certificate):
export NODE_EXTRA_CA_CERTS=${bundle}
${exports}
# or, for Entra auth to ACS instead of the connection string: export ACS_ENDPOINT=${cloud.acsEndpoint}

Advance the timeline: curl -s -X POST ${cloud.graphEndpoint}/_emulator/step --cacert ${bundle || '<cert.pem>'}
Ctrl-C to stop.`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping...');
    cloud.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
