import { createHash } from 'node:crypto';
import { normalizeName } from './dns.ts';

/** DKIM key material as OVH's mail platforms publish it: a TXT at `targetRecord` under dkim.mail.ovh.net. */

export const DKIM_HEADER = 'from;to;subject;date';

/**
 * `targetRecord` of a selector. Generation 0 is the first key of the selector; a later generation (a key created
 * again after a delete) gets another target only when the domain was set up to change targets on re-creation.
 */
export function dkimTargetFor(selector: string, domain: string, generation = 0): string {
  const dashed = normalizeName(domain).replace(/\./g, '-');
  const named = generation === 0 ? dashed : `${dashed}-${generation}`;
  // One DNS label (at most 63 bytes), as OVH's are, whatever the domain's length.
  const cluster =
    named.length <= 63 ? named : `${named.slice(0, 54)}-${createHash('sha1').update(named).digest('hex').slice(0, 8)}`;
  return `${selector}._domainkey.${cluster}.aa.dkim.mail.ovh.net`;
}

/**
 * A stable stand-in for an RSA-2048 public key: 392 base64 characters, so the TXT exceeds 255 bytes. Each generation
 * of a key at the same target gives another key.
 */
export function dkimPublicKey(target: string, generation = 0): string {
  const seed = generation === 0 ? target : `${target}@${generation}`;
  let key = '';
  for (let round = 0; key.length < 392; round++) {
    key += createHash('sha512').update(`${seed}#${round}`).digest('base64').replace(/=+$/, '');
  }
  return `MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${key}`.slice(0, 392);
}

export function dkimTxt(target: string, generation = 0): string {
  return `v=DKIM1; k=rsa; p=${dkimPublicKey(target, generation)}`;
}

export interface ServedKey {
  generation: number;
  /** False while the key is not made yet (an Exchange key in `todo`). */
  served(): boolean;
}

/** The TXT records OVH's DKIM name servers answer, by target name. */
export class KeyServer {
  private readonly keys = new Map<string, ServedKey>();

  register(target: string, key: ServedKey): void {
    this.keys.set(normalizeName(target), key);
  }

  /** Withdraws the key at `target` if it is still `key` (a newer key at the same target stays). */
  withdraw(target: string, key: ServedKey): void {
    const name = normalizeName(target);
    if (this.keys.get(name) === key) this.keys.delete(name);
  }

  /** The DKIM TXT served at `name`, or undefined when no key is served there. */
  txtAt(name: string): string | undefined {
    const key = this.keys.get(normalizeName(name));
    return key?.served() ? dkimTxt(normalizeName(name), key.generation) : undefined;
  }
}
