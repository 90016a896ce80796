import { mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
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

/** Makes `https.globalAgent` (the agent node-ovh uses) trust the certificate, besides the usual roots. */
export function trustInProcess(certPem: string): void {
  const current = https.globalAgent.options.ca;
  const trusted = current === undefined ? [...rootCertificates] : [current].flat();
  if (trusted.some((ca) => ca.toString() === certPem)) return;
  https.globalAgent.options.ca = [...trusted.map((ca) => ca.toString()), certPem];
}
