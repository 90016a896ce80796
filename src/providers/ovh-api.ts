import { z } from 'zod';
import type { OvhApi } from './ovh.ts';
import type { SharedReads } from './shared-reads.ts';

/** The OVH Exchange and DNS-zone calls the exchange workflow makes, with the shapes OVH answers. */

export const DKIM_STATUSES = [
  'todo',
  'waitingRecord',
  'ready',
  'enabling',
  'inProduction',
  'disabling',
  'deleting',
] as const;
export type DkimStatus = (typeof DKIM_STATUSES)[number];

const names = z.array(z.string());

export const dkimSchema = z.object({
  selectorName: z.string(),
  status: z.enum(DKIM_STATUSES),
  customerRecord: z.string().nullish(),
  targetRecord: z.string().nullish(),
  recordType: z.string().nullish(),
  cnameIsValid: z.boolean().nullish(),
  taskPendingId: z.number().nullish(),
  lastUpdate: z.string().nullish(),
});
export type Dkim = z.infer<typeof dkimSchema>;

export const zoneRecordSchema = z.object({
  id: z.number(),
  zone: z.string(),
  fieldType: z.string(),
  subDomain: z
    .string()
    .nullish()
    .transform((v) => v ?? ''),
  target: z.string(),
  ttl: z.number().nullish(),
});
export type ZoneRecord = z.infer<typeof zoneRecordSchema>;

const seg = encodeURIComponent;

/** A list read through the shared, kept answers (discovery), or straight from OVH when there are none. */
export function sharedList(ovh: OvhApi, shared: SharedReads | undefined, path: string, after?: number) {
  const load = () => ovh.get(path, names);
  return shared ? shared.read(`GET ${path}`, load, after) : load();
}

/** Whether an Exchange service is a Private Exchange (OVH's `dedicated` offers), which sends from its own IP ranges. */
export async function isPrivateExchange(ovh: OvhApi, org: string, service: string): Promise<boolean> {
  const { offer } = await ovh.get(
    `/email/exchange/${seg(org)}/service/${seg(service)}`,
    z.object({ offer: z.string() }),
  );
  return offer === 'dedicated' || offer === 'dedicatedCluster';
}

export class ZoneApi {
  constructor(
    private readonly ovh: OvhApi,
    private readonly shared?: SharedReads,
  ) {}

  zones(after?: number): Promise<string[]> {
    return sharedList(this.ovh, this.shared, '/domain/zone', after);
  }

  /** The longest OVH zone of the account holding `domain`, or null; a list older than run `askedBy` is read again. */
  async zoneOf(domain: string, askedBy?: number): Promise<string | null> {
    const kept = longestZone(await this.zones(), domain);
    if (kept || askedBy === undefined) return kept;
    return longestZone(await this.zones(askedBy), domain);
  }

  async records(zone: string, fieldType: string, subDomain: string): Promise<ZoneRecord[]> {
    const ids = await this.ovh.get(`/domain/zone/${seg(zone)}/record`, z.array(z.number()), { fieldType, subDomain });
    const records: ZoneRecord[] = [];
    for (const id of ids) records.push(await this.ovh.get(`/domain/zone/${seg(zone)}/record/${id}`, zoneRecordSchema));
    return records;
  }

  /** Points a record of the zone elsewhere (a record the bot wrote, whose key changed). */
  updateRecord(zone: string, id: number, target: string): Promise<unknown> {
    return this.ovh.put(`/domain/zone/${seg(zone)}/record/${id}`, { target }, z.unknown());
  }

  createRecord(zone: string, record: { fieldType: string; subDomain: string; target: string; ttl: number }) {
    return this.ovh.post(`/domain/zone/${seg(zone)}/record`, record, z.unknown());
  }

  refresh(zone: string): Promise<unknown> {
    return this.ovh.post(`/domain/zone/${seg(zone)}/refresh`, undefined, z.unknown());
  }
}

/** The OVH zone holding `domain`: the longest zone name it is in, or null. */
export function longestZone(zones: string[], domain: string): string | null {
  const matches = zones
    .map((z) => z.toLowerCase())
    .filter((z) => domain === z || domain.endsWith(`.${z}`))
    .sort((a, b) => b.length - a.length);
  return matches[0] ?? null;
}
