import { doctorCommand } from './doctor-command';

/**
 * `npm run doctor`: the preflight after a deploy (see doctor-command.ts for what it prints and its
 * exit codes). It exits as soon as the report is printed: a request abandoned at its time limit
 * (a hung socket) must not keep the process alive.
 */
const width = process.stdout.isTTY ? Math.max(60, Math.min(process.stdout.columns || 100, 100)) : 100;
doctorCommand(
  process.env,
  { out: (line) => console.log(line), err: (line) => console.error(line) },
  process.argv.slice(2),
  { width },
).then((code) => process.exit(code));
