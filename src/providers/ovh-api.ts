import { z } from 'zod';
import { ProviderError } from './errors.ts';
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

const taskSchema = z.object({ id: z.number() }).loose().nullish();

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

export interface ExchangeLocation {
  org: string;
  service: string;
}

const seg = encodeURIComponent;

function servicePath(at: ExchangeLocation): string {
  return `/email/exchange/${seg(at.org)}/service/${seg(at.service)}/domain`;
}

export function exchangeDomainPath(at: ExchangeLocation, domain: string): string {
  return `${servicePath(at)}/${seg(domain)}`;
}

/** A list read through the shared, kept answers (discovery), or straight from OVH when there are none. */
function sharedList(ovh: OvhApi, shared: SharedReads | undefined, path: string, after?: number) {
  const load = () => ovh.get(path, names);
  return shared ? shared.read(`GET ${path}`, load, after) : load();
}

export class ExchangeApi {
  constructor(
    private readonly ovh: OvhApi,
    private readonly shared?: SharedReads,
  ) {}

  organizations(after?: number): Promise<string[]> {
    return sharedList(this.ovh, this.shared, '/email/exchange', after);
  }

  services(org: string, after?: number): Promise<string[]> {
    return sharedList(this.ovh, this.shared, `/email/exchange/${seg(org)}/service`, after);
  }

  domains(at: ExchangeLocation, after?: number): Promise<string[]> {
    return sharedList(this.ovh, this.shared, servicePath(at), after);
  }

  /**
   * The organization and service hosting `domain`, looked up across the account through the kept lists. When they
   * do not name it and were read before run `askedBy` was requested (the domain may be new), they are read again.
   */
  async locate(domain: string, askedBy?: number): Promise<ExchangeLocation | undefined> {
    return (await this.find(domain)) ?? (askedBy === undefined ? undefined : await this.find(domain, askedBy));
  }

  private async find(domain: string, after?: number): Promise<ExchangeLocation | undefined> {
    for (const org of await this.organizations(after)) {
      for (const service of await this.services(org, after)) {
        const hosted = await this.domains({ org, service }, after);
        if (hosted.some((d) => d.toLowerCase() === domain)) return { org, service };
      }
    }
    return undefined;
  }

  /** OVH contradicted the kept lists (a 404 on a domain they name): forget them, so the next look asks OVH. */
  forgetDiscovery(): void {
    this.shared?.forget('GET /email/exchange');
  }

  /** Whether the service is a Private Exchange (OVH's `dedicated` offers), which sends from its own IP ranges. */
  async isPrivate(at: ExchangeLocation): Promise<boolean> {
    const path = `/email/exchange/${seg(at.org)}/service/${seg(at.service)}`;
    const { offer } = await this.ovh.get(path, z.object({ offer: z.string() }));
    return offer === 'dedicated' || offer === 'dedicatedCluster';
  }

  selectors(at: ExchangeLocation, domain: string): Promise<string[]> {
    return this.ovh.get(`${exchangeDomainPath(at, domain)}/dkimSelector`, names);
  }

  existingDkim(at: ExchangeLocation, domain: string): Promise<string[]> {
    return this.ovh.get(`${exchangeDomainPath(at, domain)}/dkim`, names);
  }

  async createDkim(at: ExchangeLocation, domain: string, selectorName: string): Promise<'created' | 'exists'> {
    try {
      // The bot writes and checks the CNAME itself, so OVH is not asked to (configureDkim: false): one writer only.
      await this.ovh.post(`${exchangeDomainPath(at, domain)}/dkim`, { selectorName, configureDkim: false }, taskSchema);
      return 'created';
    } catch (error) {
      if (error instanceof ProviderError && error.status === 409) return 'exists';
      throw error;
    }
  }

  dkim(at: ExchangeLocation, domain: string, selector: string): Promise<Dkim> {
    return this.ovh.get(`${exchangeDomainPath(at, domain)}/dkim/${seg(selector)}`, dkimSchema);
  }

  /** 'already' when OVH says it is enabled or enabling (a 409): that is success too. */
  async enable(at: ExchangeLocation, domain: string, selector: string): Promise<'enabled' | 'already' | 'refused'> {
    try {
      await this.ovh.post(`${exchangeDomainPath(at, domain)}/dkim/${seg(selector)}/enable`, undefined, taskSchema);
      return 'enabled';
    } catch (error) {
      if (error instanceof ProviderError && error.status === 409) {
        return /already|enabling|production/i.test(error.details.providerMessage ?? '') ? 'already' : 'refused';
      }
      throw error;
    }
  }
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
