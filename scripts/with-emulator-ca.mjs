#!/usr/bin/env node
// Runs a command that must trust the local private cloud's self-signed certificate.
// Node reads NODE_EXTRA_CA_CERTS only when it starts, so the certificate is made here, first, and
// the command is started with NODE_EXTRA_CA_CERTS naming a bundle of the machine's own extra CAs
// (if any) plus ours. The emulators read the same key and certificate from EMULATOR_TLS_DIR.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: with-emulator-ca.mjs <command> [args...]');
  process.exit(2);
}

const dir = resolve(process.env.EMULATOR_TLS_DIR ?? join('.emulator', 'tls'));
const keyPath = join(dir, 'key.pem');
const certPath = join(dir, 'cert.pem');
if (!existsSync(keyPath) || !existsSync(certPath)) {
  mkdirSync(dir, { recursive: true });
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '7',
      '-subj',
      '/CN=Entra Sync Watch local private cloud',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { stdio: 'ignore' },
  );
}

const bundlePath = join(dir, 'bundle.pem');
const inherited = process.env.NODE_EXTRA_CA_CERTS;
const parts = [];
if (inherited && inherited !== bundlePath && existsSync(inherited)) parts.push(readFileSync(inherited, 'utf8'));
parts.push(readFileSync(certPath, 'utf8'));
writeFileSync(bundlePath, parts.join('\n'));

const child = spawn(command, args, {
  stdio: 'inherit',
  shell: process.platform === 'win32',
  env: { ...process.env, NODE_EXTRA_CA_CERTS: bundlePath, EMULATOR_TLS_DIR: dir },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
