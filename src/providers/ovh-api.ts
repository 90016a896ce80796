import { z } from 'zod';
import { ProviderError } from './errors.ts';
import type { OvhApi } from './ovh.ts';

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

export function exchangeDomainPath(at: ExchangeLocation, domain: string): string {
  return `/email/exchange/${seg(at.org)}/service/${seg(at.service)}/domain/${seg(domain)}`;
}

export class ExchangeApi {
  constructor(private readonly ovh: OvhApi) {}

  organizations(): Promise<string[]> {
    return this.ovh.get('/email/exchange', names);
  }

  services(org: string): Promise<string[]> {
    return this.ovh.get(`/email/exchange/${seg(org)}/service`, names);
  }

  domains(at: ExchangeLocation): Promise<string[]> {
    return this.ovh.get(`/email/exchange/${seg(at.org)}/service/${seg(at.service)}/domain`, names);
  }

  /** The organization and service hosting `domain`, looked up across the account. */
  async locate(domain: string): Promise<ExchangeLocation | undefined> {
    for (const org of await this.organizations()) {
      for (const service of await this.services(org)) {
        const hosted = await this.domains({ org, service });
        if (hosted.some((d) => d.toLowerCase() === domain)) return { org, service };
      }
    }
    return undefined;
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
  constructor(private readonly ovh: OvhApi) {}

  zones(): Promise<string[]> {
    return this.ovh.get('/domain/zone', names);
  }

  async records(zone: string, fieldType: string, subDomain: string): Promise<ZoneRecord[]> {
    const ids = await this.ovh.get(`/domain/zone/${seg(zone)}/record`, z.array(z.number()), { fieldType, subDomain });
    const records: ZoneRecord[] = [];
    for (const id of ids) records.push(await this.ovh.get(`/domain/zone/${seg(zone)}/record/${id}`, zoneRecordSchema));
    return records;
  }

  createRecord(zone: string, record: { fieldType: string; subDomain: string; target: string; ttl: number }) {
    return this.ovh.post(`/domain/zone/${seg(zone)}/record`, record, z.unknown());
  }

  refresh(zone: string): Promise<unknown> {
    return this.ovh.post(`/domain/zone/${seg(zone)}/refresh`, undefined, z.unknown());
  }
}
