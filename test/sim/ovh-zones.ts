import { type DnsRecord, type DnsRecordType, normalizeName } from './dns.ts';
import { badRequest, notFound, objectMissing, SimError, type Timing } from './ovh-common.ts';
import type { KeyServer } from './ovh-keys.ts';

/** OVH DNS zones of the account, records at other DNS hosts, and what a resolver finds for a name. */

export interface ZoneRecord {
  id: number;
  zone: string;
  fieldType: string;
  subDomain: string;
  target: string;
  ttl: number;
}

/** A record as the zone's name servers serve it after a refresh: full name, absolute targets (trailing dot). */
export interface PublishedRecord {
  name: string;
  fieldType: string;
  target: string;
  ttl: number;
}

export interface Zone {
  name: string;
  records: Map<number, ZoneRecord>;
  published: PublishedRecord[];
  lastRefresh: number;
}

export const FIELD_TYPES = new Set([
  'A',
  'AAAA',
  'CAA',
  'CNAME',
  'DKIM',
  'DMARC',
  'DNAME',
  'LOC',
  'MX',
  'NAPTR',
  'NS',
  'PTR',
  'SPF',
  'SRV',
  'SSHFP',
  'TLSA',
  'TXT',
]);

const RELATIVE_TARGET_TYPES = new Set(['CNAME', 'NS', 'MX', 'SRV', 'PTR', 'DNAME']);
/** OVH's SPF, DKIM and DMARC field types are TXT records on the wire. */
const TXT_TYPES = new Set(['TXT', 'SPF', 'DKIM', 'DMARC']);
const SERVED: Record<string, DnsRecordType> = {
  A: 'A',
  CNAME: 'CNAME',
  TXT: 'TXT',
  SPF: 'TXT',
  DKIM: 'TXT',
  DMARC: 'TXT',
};
const QUOTED_STRINGS = /^\s*(?:"(?:[^"\\]|\\.)*"\s*)+$/s;

/** A TXT target as a zone file reads it: `"a" "b"` is the text `ab`; an unquoted target is the text itself. */
export function txtText(target: string): string {
  if (!QUOTED_STRINGS.test(target)) return target;
  return [...target.matchAll(/"((?:[^"\\]|\\.)*)"/gs)].map((match) => match[1]!.replace(/\\(.)/gs, '$1')).join('');
}

function publishedTarget(record: ZoneRecord): string {
  if (TXT_TYPES.has(record.fieldType)) return txtText(record.target);
  if (!RELATIVE_TARGET_TYPES.has(record.fieldType) || record.target.endsWith('.')) return record.target;
  return `${record.target}.${record.zone}.`;
}

function publish(record: ZoneRecord): PublishedRecord {
  const name = record.subDomain ? `${record.subDomain}.${record.zone}` : record.zone;
  return { name: normalizeName(name), fieldType: record.fieldType, target: publishedTarget(record), ttl: record.ttl };
}

export function isBelow(name: string, parent: string): boolean {
  return name === parent || name.endsWith(`.${parent}`);
}

interface ExternalRecord extends DnsRecord {
  name: string;
}

/** Told which names may resolve differently now (after a refresh or a change at another DNS host). */
export type DnsChangeListener = (affects: (name: string) => boolean) => void;

export class Zones {
  readonly zones = new Map<string, Zone>();
  private readonly external = new Map<string, ExternalRecord[]>();
  private readonly listeners: DnsChangeListener[] = [];
  private nextRecordId = 5_000_000_001;

  constructor(
    private readonly timing: Pick<Timing, 'now'>,
    private readonly keys: KeyServer,
  ) {}

  onChange(listener: DnsChangeListener): void {
    this.listeners.push(listener);
  }

  // ----- OVH zones -----

  add(name: string): Zone {
    const zoneName = normalizeName(name);
    const existing = this.zones.get(zoneName);
    if (existing) return existing;
    const zone: Zone = { name: zoneName, records: new Map(), published: [], lastRefresh: this.timing.now() };
    this.zones.set(zoneName, zone);
    return zone;
  }

  zone(name: string): Zone {
    const zone = this.zones.get(normalizeName(name));
    if (!zone) throw notFound('This service does not exist');
    return zone;
  }

  record(zone: Zone, id: number): ZoneRecord {
    const record = zone.records.get(id);
    if (!record) throw objectMissing('id', id);
    return record;
  }

  createRecord(zone: Zone, fields: Omit<ZoneRecord, 'id' | 'zone'>): ZoneRecord {
    this.assertNoCnameConflict(zone, fields.fieldType, fields.subDomain);
    const record: ZoneRecord = { id: this.nextRecordId++, zone: zone.name, ...fields };
    zone.records.set(record.id, record);
    return record;
  }

  updateRecord(zone: Zone, id: number, changes: Partial<Pick<ZoneRecord, 'subDomain' | 'target' | 'ttl'>>): void {
    const record = this.record(zone, id);
    if (changes.subDomain !== undefined && changes.subDomain !== record.subDomain) {
      this.assertNoCnameConflict(zone, record.fieldType, changes.subDomain, id);
    }
    Object.assign(record, changes);
  }

  deleteRecord(zone: Zone, id: number): void {
    this.record(zone, id);
    zone.records.delete(id);
  }

  refresh(zone: Zone): void {
    zone.published = [...zone.records.values()].map(publish);
    zone.lastRefresh = this.timing.now();
    this.changed((name) => isBelow(name, zone.name));
  }

  /** The zone of this account that holds `name`, if any. */
  zoneHolding(name: string): Zone | undefined {
    const labels = normalizeName(name).split('.');
    for (let start = 0; start < labels.length; start++) {
      const zone = this.zones.get(labels.slice(start).join('.'));
      if (zone) return zone;
    }
    return undefined;
  }

  /**
   * What OVH's own robots do with `configureDkim` or MX Plan's autoconfig: add the CNAME (absolute target) in the
   * account's zone holding `name` and refresh, unless a CNAME is there already (never overwritten).
   * True when the zone holds a CNAME at `name` afterwards.
   */
  writeCnameAsOvh(name: string, target: string): boolean {
    const zone = this.zoneHolding(name);
    if (!zone) return false;
    const subDomain = normalizeName(name).slice(0, -(zone.name.length + 1));
    const exists = [...zone.records.values()].some(
      (record) => record.fieldType === 'CNAME' && record.subDomain === subDomain,
    );
    if (exists) return true;
    try {
      this.createRecord(zone, { fieldType: 'CNAME', subDomain, target: `${normalizeName(target)}.`, ttl: 0 });
      this.refresh(zone);
      return true;
    } catch (error) {
      if (!(error instanceof SimError)) throw error;
      return false;
    }
  }

  // ----- other DNS hosts -----

  setExternal(name: string, type: DnsRecordType, value: string, ttl?: number): void {
    const key = normalizeName(name);
    const kept = (this.external.get(key) ?? []).filter((record) => record.type !== type);
    this.external.set(key, [...kept, { name: key, type, value, ...(ttl === undefined ? {} : { ttl }) }]);
    this.changed((candidate) => candidate === key);
  }

  removeExternal(name: string, type?: DnsRecordType): void {
    const key = normalizeName(name);
    const kept = (this.external.get(key) ?? []).filter((record) => type !== undefined && record.type !== type);
    if (kept.length > 0) this.external.set(key, kept);
    else this.external.delete(key);
    this.changed((candidate) => candidate === key);
  }

  // ----- DNS truth -----

  /** What a recursive resolver would find at `name`: `null` for a name that does not exist. */
  lookup(name: string): DnsRecord[] | null {
    const key = normalizeName(name);
    const zone = this.zoneHolding(key);
    if (zone) return this.lookupInZone(zone, key);
    const txt = this.keys.txtAt(key);
    if (txt !== undefined) return [{ type: 'TXT', value: txt }];
    return this.lookupExternal(key);
  }

  /** The CNAME target served at `name` (normalized, no trailing dot), or undefined when there is none. */
  cnameAt(name: string): string | undefined {
    const cname = (this.lookup(name) ?? []).find((record) => record.type === 'CNAME');
    return cname ? normalizeName(cname.value) : undefined;
  }

  private changed(affects: (name: string) => boolean): void {
    for (const listener of this.listeners) listener(affects);
  }

  private assertNoCnameConflict(zone: Zone, fieldType: string, subDomain: string, ignoreId?: number): void {
    const sameName = [...zone.records.values()].filter(
      (record) => record.id !== ignoreId && record.subDomain.toLowerCase() === subDomain.toLowerCase(),
    );
    if (fieldType === 'CNAME' && subDomain === '') {
      throw badRequest('Invalid subDomain: a CNAME record cannot be created at the apex of the zone');
    }
    if (fieldType === 'CNAME' && sameName.length > 0) {
      throw badRequest(`Invalid subDomain ${subDomain}: a CNAME record cannot coexist with another record`);
    }
    if (sameName.some((record) => record.fieldType === 'CNAME')) {
      throw badRequest(`Invalid subDomain ${subDomain}: a CNAME record already exists on this subdomain`);
    }
  }

  private lookupInZone(zone: Zone, name: string): DnsRecord[] | null {
    const atName = zone.published.filter((record) => record.name === name);
    const exists = name === zone.name || zone.published.some((record) => isBelow(record.name, name));
    if (!exists) return null;
    return atName.flatMap((record) => {
      const type = SERVED[record.fieldType];
      return type ? [{ type, value: record.target, ttl: record.ttl || 60 }] : [];
    });
  }

  private lookupExternal(name: string): DnsRecord[] | null {
    const records = this.external.get(name);
    if (records) return records.map(({ type, value, ttl }) => ({ type, value, ...(ttl === undefined ? {} : { ttl }) }));
    for (const key of this.external.keys()) if (key.endsWith(`.${name}`)) return [];
    return null;
  }
}
