/** SPF records (RFC 7208): finding the one at a name, adding OVH's include, counting its DNS look-ups. */

export const OVH_SPF_INCLUDE = 'mx.ovh.com';
/** OVH's value for MX Plan, Email Pro and Hosted Exchange. */
export const OVH_DEFAULT_SPF = `v=spf1 include:${OVH_SPF_INCLUDE} ~all`;
/** RFC 7208 §4.6.4: DNS-querying terms an evaluation may use, and look-ups that may find nothing. */
export const SPF_LOOKUP_LIMIT = 10;
export const SPF_VOID_LOOKUP_LIMIT = 2;

const SPF_VERSION = /^v=spf1(?=\s|$)/i;
const LOOKUP_MECHANISMS = new Set(['include', 'a', 'mx', 'ptr', 'exists']);
const MECHANISMS = new Set([...LOOKUP_MECHANISMS, 'all', 'ip4', 'ip6']);
const QUALIFIERS = ['+', '-', '~', '?'] as const;

export type SpfAtName =
  | { kind: 'none' }
  | { kind: 'one'; record: string }
  /** Two or more `v=spf1` records: a permerror for every receiver, said to a person and never "fixed" by the bot. */
  | { kind: 'permerror'; records: string[] };

/** Whether a TXT string is an SPF record (`v=spf1`, spaces around it ignored). */
export function isSpfRecord(txt: string): boolean {
  return SPF_VERSION.test(txt.trim());
}

/** The `v=spf1` records among a name's TXT strings. */
export function findSpf(txt: string[]): SpfAtName {
  const [record, ...others] = txt.map((t) => t.trim()).filter(isSpfRecord);
  if (record === undefined) return { kind: 'none' };
  if (others.length > 0) return { kind: 'permerror', records: [record, ...others] };
  return { kind: 'one', record };
}

export interface SpfTerm {
  /** The term as written. */
  raw: string;
  /** Where it starts in the record. */
  offset: number;
  kind: 'mechanism' | 'modifier' | 'unknown';
  qualifier: '+' | '-' | '~' | '?';
  /** Lower-case: `include`, `all`, `redirect`, … */
  name: string;
  /** What follows `:` (mechanism) or `=` (modifier), as written; '' when there is none. */
  value: string;
}

/** The terms after `v=spf1`, each with its place in the text so an edit can keep the rest byte for byte. */
export function parseSpf(record: string): SpfTerm[] {
  const terms: SpfTerm[] = [];
  for (const match of record.matchAll(/\S+/g)) {
    if (match.index === 0 && SPF_VERSION.test(match[0])) continue;
    terms.push(parseTerm(match[0], match.index));
  }
  return terms;
}

function parseTerm(raw: string, offset: number): SpfTerm {
  const [, modifierName, modifierValue = ''] = /^([a-z][a-z0-9_.-]*)=(.*)$/i.exec(raw) ?? [];
  if (modifierName) {
    return { raw, offset, kind: 'modifier', qualifier: '+', name: modifierName.toLowerCase(), value: modifierValue };
  }
  const qualifier = QUALIFIERS.find((q) => raw.startsWith(q));
  const body = qualifier ? raw.slice(1) : raw;
  const [, name = '', separator, rest = ''] = /^([a-z0-9]+)(?:([:/])(.*))?$/i.exec(body) ?? [];
  const lower = name.toLowerCase();
  const kind = MECHANISMS.has(lower) ? 'mechanism' : 'unknown';
  // `a:x.fr/24` and `mx/24` may carry a CIDR after the domain, or instead of it.
  const domainOnly = lower === 'a' || lower === 'mx' ? rest.replace(/\/\d+(\/\/\d+)?$/, '') : rest;
  return { raw, offset, kind, qualifier: qualifier ?? '+', name: lower, value: separator === ':' ? domainOnly : '' };
}

export type IncludeEdit = { changed: false; record: string } | { changed: true; record: string };

/** Whether the record lets `domain`'s senders pass: an `include` of it not qualified `-` (a final dot ignored). */
export function includes(record: string, domain = OVH_SPF_INCLUDE): boolean {
  const wanted = domain.toLowerCase();
  return parseSpf(record).some(
    (t) => t.name === 'include' && t.qualifier !== '-' && t.value.toLowerCase().replace(/\.$/, '') === wanted,
  );
}

/**
 * The record with `include:<domain>` added: before the `all` term, else before `redirect=` (which only applies when
 * nothing matched), else at the end. Every other term stays as written; already included, nothing changes.
 */
export function withInclude(record: string, domain = OVH_SPF_INCLUDE): IncludeEdit {
  if (includes(record, domain)) return { changed: false, record };
  const terms = parseSpf(record);
  const anchor = terms.find((t) => t.name === 'all') ?? terms.find((t) => t.name === 'redirect');
  const include = `include:${domain}`;
  if (!anchor) return { changed: true, record: `${record.trimEnd()} ${include}` };
  return { changed: true, record: `${record.slice(0, anchor.offset)}${include} ${record.slice(anchor.offset)}` };
}

/** A TXT look-up: a name's TXT strings, [] when it has none (as `DnsChecker.txt` answers). */
export type ResolveTxt = (name: string) => Promise<string[]>;

export interface CountedLookup {
  /** The term that costs a look-up, as written. */
  term: string;
  /** The name whose record holds it. */
  at: string;
}

export interface LookupCount {
  count: number;
  counted: CountedLookup[];
  /** Includes or redirects whose name has no TXT record at all (RFC 7208 §4.6.4 allows 2). */
  voidLookups: number;
  /** What would make a receiver's evaluation fail or that the count could not follow, in words. */
  problems: string[];
  /** A term a receiver fails on (an unknown term, a loop, an include with no or several SPF records). */
  permerror: boolean;
  /** Terms the count could not follow (a macro, no domain, past the walk's limit): the count is a lower bound. */
  unfollowed: number;
  /** Over 10 look-ups or 2 void ones: a permerror at the receivers. */
  overLimit: boolean;
}

interface Walk {
  resolveTxt: ResolveTxt;
  result: LookupCount;
  /** Past this many look-ups, the walk stops following (a loop or a huge tree must not cost endless DNS). */
  stopAt: number;
}

/**
 * Counts the DNS-querying terms of an SPF record (`include`, `a`, `mx`, `ptr`, `exists`, `redirect`), following
 * includes and redirects by DNS as a receiver would, every term counted (the worst case: a receiver stops at the first
 * match). `record` is read at `name` (the domain it is, or will be, published at).
 */
export async function countLookups(record: string, resolveTxt: ResolveTxt, name = '(record)'): Promise<LookupCount> {
  const result: LookupCount = {
    count: 0,
    counted: [],
    voidLookups: 0,
    problems: [],
    permerror: false,
    unfollowed: 0,
    overLimit: false,
  };
  await walk(record, name, [name.toLowerCase()], { resolveTxt, result, stopAt: SPF_LOOKUP_LIMIT * 3 });
  result.overLimit = result.count > SPF_LOOKUP_LIMIT || result.voidLookups > SPF_VOID_LOOKUP_LIMIT;
  return result;
}

async function walk(record: string, at: string, path: string[], w: Walk): Promise<void> {
  const terms = parseSpf(record);
  const hasAll = terms.some((t) => t.name === 'all');
  for (const term of terms) {
    if (term.kind === 'unknown') {
      w.result.problems.push(`${at}: unknown term \`${term.raw}\``);
      w.result.permerror = true;
    }
    // RFC 7208 §6.1: a redirect is ignored when the record has an `all` term.
    const isRedirect = term.kind === 'modifier' && term.name === 'redirect' && !hasAll;
    if (!isRedirect && !(term.kind === 'mechanism' && LOOKUP_MECHANISMS.has(term.name))) continue;
    w.result.count++;
    w.result.counted.push({ term: term.raw, at });
    if (w.result.count > w.stopAt) {
      w.result.problems.push(`stopped counting past ${w.stopAt} look-ups`);
      w.result.unfollowed++;
      return;
    }
    if (isRedirect || term.name === 'include') await follow(term, at, path, w);
  }
}

async function follow(term: SpfTerm, at: string, path: string[], w: Walk): Promise<void> {
  const target = term.value.toLowerCase().replace(/\.$/, '');
  if (target === '' || target.includes('%')) {
    w.result.problems.push(`${at}: \`${term.raw}\` not followed (${target ? 'a macro' : 'no domain'})`);
    w.result.unfollowed++;
    return;
  }
  if (path.includes(target)) {
    w.result.problems.push(`${at}: \`${term.raw}\` loops back to ${target}`);
    w.result.permerror = true;
    return;
  }
  const txt = await w.resolveTxt(target);
  if (txt.length === 0) w.result.voidLookups++;
  const spf = findSpf(txt);
  if (spf.kind === 'one') return walk(spf.record, target, [...path, target], w);
  const why = spf.kind === 'none' ? 'has no SPF record' : 'has several SPF records';
  w.result.problems.push(`${at}: \`${term.raw}\`: ${target} ${why} (a permerror)`);
  w.result.permerror = true;
}

export type SpfPlan =
  /** Two or more records at the name: said, never fixed. */
  | { kind: 'permerror'; records: string[] }
  /** OVH's include is there already. */
  | { kind: 'present'; record: string; lookups: LookupCount }
  | { kind: 'change'; before: string | null; after: string; lookups: LookupCount }
  /** The change would pass 10 look-ups (or 2 void ones): refused, with the count to say. */
  | { kind: 'refused'; before: string | null; after: string; lookups: LookupCount };

/** What `/dkim dmarc` would do to a domain's SPF, from the apex's TXT strings. */
export async function planSpf(domain: string, apexTxt: string[], resolveTxt: ResolveTxt): Promise<SpfPlan> {
  const found = findSpf(apexTxt);
  if (found.kind === 'permerror') return found;
  const before = found.kind === 'one' ? found.record : null;
  const edit = before === null ? { changed: true, record: OVH_DEFAULT_SPF } : withInclude(before);
  const lookups = await countLookups(edit.record, resolveTxt, domain);
  if (!edit.changed) return { kind: 'present', record: edit.record, lookups };
  return { kind: lookups.overLimit ? 'refused' : 'change', before, after: edit.record, lookups };
}
