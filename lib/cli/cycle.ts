import { cycleCommand } from './cycle-command';

/**
 * `npm run cycle`: one monitoring cycle with the current settings (see cycle-command.ts for what
 * it does and its exit codes). It exits as soon as the cycle is over: a request abandoned at its
 * deadline (a hung socket) must not keep the process alive after the cycle has reported.
 */
cycleCommand(process.env, { out: (line) => console.log(line), err: (line) => console.error(line) }).then((code) =>
  process.exit(code),
);
