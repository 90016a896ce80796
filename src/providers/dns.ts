import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import { stripDot } from '../domain/names.ts';
import { ProviderError } from './errors.ts';

/** DNS look-ups for the self-checks. They cost no OVH budget, so they decide when an OVH status check is worth it. */

export type CnameAnswer = { kind: 'cname'; target: string } | { kind: 'none'; reason: 'no-name' | 'no-cname' };

export interface DnsChecker {
  cname(name: string): Promise<CnameAnswer>;
  /** TXT strings of a name, each record's chunks joined with no separator; [] when there is none. */
  txt(name: string): Promise<string[]>;
  /**
   * The reverse name (PTR) of an IP address, when DNS has one: the first, lower-cased, without its trailing dot. No
   * answer, a resolver in trouble or no answer within `withinMs` (the resolver's timeout unless shorter): undefined.
   * It decides nothing, only shows.
   */
  reverse(ip: string, withinMs?: number): Promise<string | undefined>;
}

export function createDnsChecker(servers: string[], timeoutMs = 3000): DnsChecker {
  const resolver = new dns.Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length > 0) resolver.setServers(servers);
  return {
    async cname(name) {
      try {
        const [target] = await resolver.resolveCname(name);
        return target ? { kind: 'cname', target: target.toLowerCase() } : { kind: 'none', reason: 'no-cname' };
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ENOTFOUND') return { kind: 'none', reason: 'no-name' };
        if (code === 'ENODATA') return { kind: 'none', reason: 'no-cname' };
        throw resolverTrouble(name, error);
      }
    },
    async txt(name) {
      try {
        return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
        throw resolverTrouble(name, error);
      }
    },
    async reverse(ip, withinMs = timeoutMs) {
      if (isIP(ip) === 0) return undefined;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), Math.min(withinMs, timeoutMs));
        timer.unref();
      });
      const lookup = resolver.reverse(ip).then(
        ([name]) => (name ? stripDot(name).toLowerCase() : undefined),
        () => undefined,
      );
      try {
        return await Promise.race([lookup, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Timeouts, SERVFAIL, refused: the resolver's trouble, not an answer about the name. */
function resolverTrouble(name: string, error: unknown): ProviderError {
  const code = (error as { code?: string }).code ?? 'error';
  return new ProviderError('dns', 'transient', `DNS look-up of ${name} failed (${code})`);
}

/** A DKIM key record with a non-empty public key. */
export function hasDkimKey(txt: string[]): boolean {
  return txt.some((record) => /(^|;)\s*v=DKIM1\s*(;|$)/i.test(record) && /(^|;)\s*p=[A-Za-z0-9+/=]+/.test(record));
}
