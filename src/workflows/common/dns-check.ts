import { type DmarcAtName, findDmarc } from '../../domain/dmarc-record.ts';
import { absolute, stripDot } from '../../domain/names.ts';
import { findSpf, type SpfAtName } from '../../domain/spf.ts';
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

/** The SPF and DMARC records a domain should serve (`spf` null: its SPF is not the bot's to check). */
export interface ExpectedRecords {
  spf: string | null;
  dmarc: string;
}

/**
 * What DNS serves where it differs from `expected`: the SPF at the apex (checked only when one is expected) and the
 * DMARC record at `_dmarc.`; nothing when both match. Each caller says it in its own words (a step waiting for DNS, the
 * watch seeing a record changed).
 */
export async function servedMismatches(
  dns: DnsChecker,
  domain: string,
  expected: ExpectedRecords,
): Promise<{ spf?: SpfAtName; dmarc?: DmarcAtName }> {
  const found: { spf?: SpfAtName; dmarc?: DmarcAtName } = {};
  if (expected.spf !== null) {
    const spf = findSpf(await dns.txt(domain));
    if (spf.kind !== 'one' || spf.record !== expected.spf) found.spf = spf;
  }
  const dmarc = findDmarc(await dns.txt(`_dmarc.${domain}`));
  if (dmarc.kind !== 'one' || dmarc.record !== expected.dmarc) found.dmarc = dmarc;
  return found;
}
