import { realAz, realClock, type HookDeps } from './az';
import { waitForDeployRole } from './deploy-role';
import { checkGraphRoles } from './graph-roles';

/**
 * azd `postprovision` hook (azure.yaml): before `azd up` deploys the package, wait until the managed
 * identity's storage role can be used (Azure/azure-dev#8026), then say whether the Graph app roles
 * are there and, if not, what an administrator runs. Run it alone with `azd hooks run postprovision`.
 */
async function main(): Promise<number> {
  const deps: HookDeps = { az: realAz, clock: realClock, say: (line) => console.log(line) };
  const graph = await checkGraphRoles(process.env, deps);
  const deploy = await waitForDeployRole(process.env, deps);
  return Math.max(graph, deploy);
}

main().then((code) => {
  process.exitCode = code;
});
