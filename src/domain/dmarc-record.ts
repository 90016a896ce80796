/** DMARC policy records at `_dmarc.<domain>` (RFC 7489 §6.3, DMARCbis): finding, reading and editing them. */

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';
const POLICIES: readonly DmarcPolicy[] = ['none', 'quarantine', 'reject'];

const DMARC_VERSION = /^v=DMARC1\s*(;|$)/i;

/** Whether a TXT string is a DMARC record (`v=DMARC1`, spaces around it ignored): one test for the scan and the bot. */
export function isDmarcRecord(txt: string): boolean {
  return DMARC_VERSION.test(txt.trim());
}

export interface DmarcTag {
  /** The tag name as written. */
  name: string;
  /** Lower-case, for comparisons. */
  key: string;
  /** As written, without the white space around it. */
  value: string;
}

export type DmarcAtName =
  | { kind: 'none' }
  | { kind: 'one'; record: string; tags: DmarcTag[] }
  /** Two or more records: receivers ignore them all (RFC 7489 §6.6.3). Said, never fixed silently. */
  | { kind: 'invalid'; records: string[]; reason: string };

/** The `v=DMARC1` records among `_dmarc`'s TXT strings. */
export function findDmarc(txt: string[]): DmarcAtName {
  const records = txt.map((t) => t.trim()).filter(isDmarcRecord);
  const [record] = records;
  if (record === undefined) return { kind: 'none' };
  if (records.length > 1) return { kind: 'invalid', records, reason: `${records.length} DMARC records at one name` };
  return { kind: 'one', record, tags: parseDmarc(record) };
}

/** The tags of a record, in order; parts without `=` are dropped (receivers ignore them too). */
export function parseDmarc(record: string): DmarcTag[] {
  const tags: DmarcTag[] = [];
  for (const part of record.split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const name = part.slice(0, at).trim();
    if (name === '') continue;
    tags.push({ name, key: name.toLowerCase(), value: part.slice(at + 1).trim() });
  }
  return tags;
}

export function formatDmarc(tags: DmarcTag[]): string {
  return tags.map((t) => `${t.name}=${t.value}`).join('; ');
}

function tag(key: string, value: string): DmarcTag {
  return { name: key, key, value };
}

/**
 * A report address as a `mailto:` URI. Commas and `!` would change the meaning of a `rua` list (RFC 7489 §6.2),
 * and `;` would end the tag: such an address is refused.
 */
export function ruaUri(address: string): string {
  const bare = address.replace(/^mailto:/i, '');
  if (!/^[^\s;,!@]+@[^\s;,!@]+\.[^\s;,!@]+$/.test(bare)) throw new Error(`not a report address: ${address}`);
  return `mailto:${bare}`;
}

/** The record the bot writes where there is none: reports only, relaxed alignment said out loud. */
export function initialDmarc(ruaAddress: string): string {
  return `v=DMARC1; p=none; rua=${ruaUri(ruaAddress)}; adkim=r; aspf=r`;
}

export type DmarcEdit = { changed: false; record: string } | { changed: true; record: string };

/** The record with the bot's address in `rua` (appended to a list that has others); unchanged when it is there. */
export function withRua(record: string, ruaAddress: string): DmarcEdit {
  const uri = ruaUri(ruaAddress);
  const tags = parseDmarc(record);
  const rua = tags.find((t) => t.key === 'rua');
  if (rua && ruaList(rua.value).some((u) => sameUri(u, uri))) return { changed: false, record };
  if (rua) rua.value = rua.value === '' ? uri : `${rua.value},${uri}`;
  else tags.splice(indexAfter(tags, 'p'), 0, tag('rua', uri));
  return { changed: true, record: formatDmarc(tags) };
}

function ruaList(value: string): string[] {
  return value
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
}

/** `mailto:a@x.fr!10m` names the same mailbox as `mailto:A@x.fr`. */
function sameUri(a: string, b: string): boolean {
  const bare = (u: string) => u.replace(/!\d+[kmgt]?$/i, '').toLowerCase();
  return bare(a) === bare(b);
}

function indexAfter(tags: DmarcTag[], key: string): number {
  const at = tags.findIndex((t) => t.key === key);
  return at < 0 ? tags.length : at + 1;
}

export type PolicyChange = 'step-up' | 'rollback';
export type PolicyEdit = { ok: true; record: string } | { ok: false; reason: string };

/**
 * The record with policy `p`, every other tag kept. A step-up only goes stricter and a rollback only less strict:
 * a policy is never lowered except by a rollback.
 */
export function withPolicy(record: string, p: DmarcPolicy, change: PolicyChange): PolicyEdit {
  const tags = parseDmarc(record);
  const current = readPolicy(tags).p;
  const order = (policy: DmarcPolicy) => POLICIES.indexOf(policy);
  if (change === 'step-up' && order(p) <= order(current)) {
    return { ok: false, reason: `p=${p} is not stricter than p=${current}` };
  }
  if (change === 'rollback' && order(p) >= order(current)) {
    return { ok: false, reason: `p=${p} is not a rollback from p=${current}` };
  }
  const policy = tags.find((t) => t.key === 'p');
  if (policy) policy.value = p;
  else tags.splice(indexAfter(tags, 'v'), 0, tag('p', p));
  return { ok: true, record: formatDmarc(tags) };
}

export interface DmarcReading {
  /** A record without a valid `p` is read as `none` (DMARCbis §5.3.1), `pInvalid` says so. */
  p: DmarcPolicy;
  pInvalid: boolean;
  sp?: DmarcPolicy;
  /** RFC 7489 only; DMARCbis drops it. */
  pct?: number;
  /** DMARCbis test mode (`t=y`). */
  t?: boolean;
  rua: string[];
}

export function readPolicy(tagsOrRecord: DmarcTag[] | string): DmarcReading {
  const tags = typeof tagsOrRecord === 'string' ? parseDmarc(tagsOrRecord) : tagsOrRecord;
  const value = (key: string) => tags.find((t) => t.key === key)?.value;
  const p = asPolicy(value('p'));
  const sp = asPolicy(value('sp'));
  const pct = /^\d{1,3}$/.test(value('pct') ?? '') ? Number(value('pct')) : undefined;
  const t = value('t')?.toLowerCase();
  return {
    p: p ?? 'none',
    pInvalid: p === undefined,
    ...(sp ? { sp } : {}),
    ...(pct !== undefined && pct <= 100 ? { pct } : {}),
    ...(t === 'y' || t === 'n' ? { t: t === 'y' } : {}),
    rua: ruaList(value('rua') ?? ''),
  };
}

function asPolicy(value: string | undefined): DmarcPolicy | undefined {
  const lower = value?.toLowerCase();
  return POLICIES.find((p) => p === lower);
}

/**
 * Relaxed alignment (RFC 7489 §3.1) without the public-suffix list: two names are aligned when they are equal or one
 * is a subdomain of the other. That misses two sibling subdomains of one organisation (`a.x.fr` and `b.x.fr`: not
 * aligned here, aligned at a receiver), and would align a name with its public suffix, which no signer uses.
 */
export function relaxedAligned(a: string, b: string): boolean {
  const x = a.toLowerCase().replace(/\.$/, '');
  const y = b.toLowerCase().replace(/\.$/, '');
  if (x === '' || y === '') return false;
  return x === y || x.endsWith(`.${y}`) || y.endsWith(`.${x}`);
}
