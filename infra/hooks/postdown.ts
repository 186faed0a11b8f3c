import { deleteAppRegistration } from './app-registration';
import { realAz, realClock } from './az';

/**
 * azd `postdown` hook (azure.yaml): `azd down` leaves the multi-tenant app registration behind
 * (Azure/azure-dev#4724); delete it if this environment made it. Run it alone with `azd hooks run postdown`.
 */
deleteAppRegistration(process.env, { az: realAz, clock: realClock, say: (line) => console.log(line) }).then((code) => {
  process.exitCode = code;
});
