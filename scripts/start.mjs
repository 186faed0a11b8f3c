#!/usr/bin/env node
// `npm start`: builds, then runs the real Functions host (`func start`). Without Azure Functions
// Core Tools on PATH it says how to install them instead of failing with `func: not found`.
import { spawn, spawnSync } from 'node:child_process';

const windows = process.platform === 'win32';

function hasFunc() {
  const probe = spawnSync('func', ['--version'], { stdio: 'ignore', shell: windows });
  return probe.error === undefined && probe.status === 0;
}

if (!hasFunc()) {
  console.error(`npm start runs the Azure Functions host, \`func\`, from Azure Functions Core Tools v4, which is not installed (or not on PATH).
Install it with one of:

  npm:     npm install --global azure-functions-core-tools@4   (its installer downloads the func binary)
  Windows: winget install Microsoft.Azure.FunctionsCoreTools
  macOS:   brew tap azure/functions && brew install azure-functions-core-tools@4
  Linux:   apt-get install azure-functions-core-tools-4   (after adding Microsoft's package repository:
           https://learn.microsoft.com/azure/azure-functions/functions-run-local#install-the-azure-functions-core-tools)

then run \`npm start\` again. To run one cycle without the host: \`npm run cycle\`.`);
  process.exit(1);
}

const run = (command, args) =>
  new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', shell: windows });
    for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });

const built = await run('npm', ['run', 'build']);
if (built !== 0) process.exit(built);
process.exit(await run('func', ['start', ...process.argv.slice(2)]));
