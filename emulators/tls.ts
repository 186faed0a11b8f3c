import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The key and self-signed certificate (for 127.0.0.1 and localhost) that every emulator serves. */
export interface TlsMaterial {
  key: string;
  cert: string;
  certPath: string;
}

/**
 * Loads the certificate that scripts/with-emulator-ca.mjs made for this run. Node reads
 * NODE_EXTRA_CA_CERTS only when it starts, so the certificate has to exist before the process that
 * talks to the emulators starts; that is why it is made there and only read here.
 */
export function loadTlsMaterial(dir = process.env.EMULATOR_TLS_DIR): TlsMaterial {
  if (!dir) {
    throw new Error(
      'EMULATOR_TLS_DIR is not set: start this through scripts/with-emulator-ca.mjs (npm test, npm run demo), ' +
        'which makes the certificate and points NODE_EXTRA_CA_CERTS at it before Node starts.',
    );
  }
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  if (!existsSync(keyPath) || !existsSync(certPath)) {
    throw new Error(`EMULATOR_TLS_DIR=${dir} holds no key.pem and cert.pem; run through scripts/with-emulator-ca.mjs`);
  }
  return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8'), certPath };
}
