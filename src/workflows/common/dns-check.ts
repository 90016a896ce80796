import { absolute, stripDot } from '../../domain/names.ts';
import { type DnsChecker, hasDkimKey } from '../../providers/dns.ts';

export interface CnameCheck {
  ok: boolean;
  /** What is true in DNS, in words a mail admin acts on. */
  observation: string;
}

/**
 * The bot's own look at DNS: `name` must be a CNAME to `target`, and (for DKIM keys) the target must publish a
 * DKIM TXT record with a non-empty key. Names the relative-target mistake when it sees it.
 */
export async function checkCname(
  dns: DnsChecker,
  name: string,
  target: string,
  options: { zone?: string | null; expectDkimKey: boolean },
): Promise<CnameCheck> {
  const owner = stripDot(name);
  const expected = stripDot(target).toLowerCase();
  const answer = await dns.cname(owner);
  if (answer.kind === 'none') {
    return { ok: false, observation: `${owner} has no CNAME record in DNS yet.` };
  }
  const seen = stripDot(answer.target);
  if (seen !== expected) {
    const zone = options.zone ? stripDot(options.zone).toLowerCase() : undefined;
    if (seen === `${expected}.${zone}` || (!zone && seen.startsWith(`${expected}.`))) {
      return {
        ok: false,
        observation: `${owner} points to ${absolute(seen)}: the target was written without its final dot, so the zone name was appended. It must be ${absolute(expected)}`,
      };
    }
    return { ok: false, observation: `${owner} points to ${absolute(seen)}, expected ${absolute(expected)}.` };
  }
  if (!options.expectDkimKey) return { ok: true, observation: `${owner} points to ${absolute(expected)}.` };
  const txt = await dns.txt(expected);
  if (!hasDkimKey(txt)) {
    return { ok: false, observation: `${owner} points to the right target, but the target has no DKIM key yet.` };
  }
  return { ok: true, observation: `${owner} points to ${absolute(expected)}, which holds a DKIM key.` };
}
