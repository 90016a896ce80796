import { isDmarcRecord } from '../../domain/dmarc-record.ts';
import { relativeName } from '../../domain/names.ts';
import { isSpfRecord } from '../../domain/spf.ts';
import { quotedTxt, txtText } from '../../domain/txt.ts';
import type { StepContext } from '../../engine/types.ts';
import type { ZoneApi } from '../../providers/ovh-api.ts';
import { RECORD_TTL } from '../common/publish.ts';

/**
 * The SPF record lives in the apex's TXT strings, the DMARC record in `_dmarc`'s. In an OVH zone they may be TXT or
 * OVH's own SPF and DMARC field types (served as TXT): both are read, and a record keeps its type when it is changed
 * (OVH cannot change a record's type by PUT).
 */

export type RecordWhat = 'spf' | 'dmarc';

/** One TXT string at a name, and the OVH record holding it when the zone is at OVH. */
export interface TxtAt {
  text: string;
  record?: { id: number; fieldType: string };
}

/** A change the card shows and, once approved, the bot makes: `before` (null: a new record) becomes `after`. */
export interface RecordChange {
  what: RecordWhat;
  /** The owner name, without the final dot: `x.fr` or `_dmarc.x.fr`. */
  name: string;
  before: string | null;
  after: string;
  /** The OVH record to PUT (an existing one); a new one is POSTed as TXT. */
  record?: { id: number; fieldType: string };
}

const TYPES: Record<RecordWhat, string[]> = { spf: ['TXT', 'SPF'], dmarc: ['TXT', 'DMARC'] };

export function ownerName(domain: string, what: RecordWhat): string {
  return what === 'spf' ? domain : `_dmarc.${domain}`;
}

/** The TXT strings at the name of `what`: from the OVH zone (with their records) or, zone elsewhere, from DNS. */
export async function readTxt(
  domain: string,
  what: RecordWhat,
  zone: string | null,
  zones: ZoneApi | undefined,
  ctx: StepContext,
): Promise<TxtAt[]> {
  const name = ownerName(domain, what);
  if (!zone || !zones) return (await ctx.dns.txt(name)).map((text) => ({ text: text.trim() }));
  const subDomain = relativeName(name, zone) ?? '';
  const found: TxtAt[] = [];
  for (const fieldType of TYPES[what]) {
    for (const record of await zones.records(zone, fieldType, subDomain)) {
      found.push({ text: txtText(record.target).trim(), record: { id: record.id, fieldType: record.fieldType } });
    }
  }
  return found;
}

export type WriteResult = 'written' | 'present' | { changed: string };

/**
 * Makes `change` in the OVH zone unless it is made: the name is read first, so that a write whose answer was lost
 * (a crash, a timeout) is found done and never made twice; a record changed by someone since the card is left alone.
 */
export async function writeChange(
  change: RecordChange,
  zone: string,
  zones: ZoneApi,
  ctx: StepContext,
  domain: string,
): Promise<WriteResult> {
  const now = await readTxt(domain, change.what, zone, zones, ctx);
  if (now.some((t) => t.text === change.after)) return 'present';
  const target = quotedTxt(change.after);
  if (change.before === null) {
    const other = now.find((t) => isRecordOf(t.text, change.what));
    if (other) return { changed: other.text };
    await zones.createRecord(zone, {
      fieldType: 'TXT',
      subDomain: relativeName(change.name, zone) ?? '',
      target,
      ttl: RECORD_TTL,
    });
    return 'written';
  }
  const current = now.find((t) => t.record?.id === change.record?.id);
  if (!current?.record || current.text !== change.before) return { changed: current?.text ?? 'nothing' };
  await zones.updateRecord(zone, current.record.id, target);
  return 'written';
}

/** Whether a TXT string is a record of that kind (an SPF or a DMARC record). */
export function isRecordOf(text: string, what: RecordWhat): boolean {
  return what === 'spf' ? isSpfRecord(text) : isDmarcRecord(text);
}
