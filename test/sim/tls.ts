import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, rootCertificates } from 'node:tls';
import { generate } from 'selfsigned';

export interface TestCertificate {
  certPem: string;
  keyPem: string;
  /** A PEM file holding the certificate, usable as NODE_EXTRA_CA_CERTS. */
  caFile: string;
}

let cached: Promise<TestCertificate> | undefined;

/** A self-signed certificate for 127.0.0.1 and localhost, made once per process. */
export function makeTestCertificate(): Promise<TestCertificate> {
  cached ??= generateCertificate();
  return cached;
}

async function generateCertificate(): Promise<TestCertificate> {
  const notBeforeDate = new Date(Date.now() - 24 * 3600_000);
  const notAfterDate = new Date(Date.now() + 3650 * 24 * 3600_000);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const caFile = join(mkdtempSync(join(tmpdir(), 'dkim-bot-sim-')), 'ca.pem');
  writeFileSync(caFile, pems.cert);
  return { certPem: pems.cert, keyPem: pems.private, caFile };
}

const trustedInProcess: string[] = [];

/**
 * Makes `https.globalAgent` (the agent node-ovh uses) trust the certificate besides the usual roots. The secure
 * context is built once: with only `ca` set, every new connection would parse all the root certificates again.
 */
export function trustInProcess(certPem: string): void {
  if (trustedInProcess.includes(certPem)) return;
  trustedInProcess.push(certPem);
  https.globalAgent.options.ca = [...trustedInProcess];
  https.globalAgent.options.secureContext = createSecureContext({ ca: [...rootCertificates, ...trustedInProcess] });
}
