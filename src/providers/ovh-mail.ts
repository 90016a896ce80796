import { z } from 'zod';
import { ProviderError } from './errors.ts';
import type { OvhApi } from './ovh.ts';
import { type Dkim, dkimSchema, sharedList } from './ovh-api.ts';
import type { SharedReads } from './shared-reads.ts';

/**
 * OVH's mail offers (DESIGN §2.1, §2.4, §2.5) and where each keeps a domain's DKIM:
 * - Hosted/Private Exchange and Email Pro share one model (two selectors, a key each, enable per selector) at two
 *   addresses: an offer knows its discovery and its paths;
 * - MX Plan and Zimbra (`/email/domain`) have one switch per domain.
 */

export type OfferId = 'exchange' | 'pro' | 'mxplan';

export const OFFER_LABELS: Record<OfferId, string> = {
  exchange: 'Exchange',
  pro: 'Email Pro',
  mxplan: 'MX Plan',
};

/** Where a domain's mail is: the offer, and its service (Exchange: organization and service). */
export interface MailService {
  offer: OfferId;
  /** Exchange only. */
  org?: string;
  /** Exchange and Email Pro; none for MX Plan, whose API is per domain. */
  service?: string;
}

const names = z.array(z.string());
const seg = encodeURIComponent;
const taskSchema = z.object({ id: z.number() }).loose().nullish();

export function describeService(at: MailService): string {
  if (at.offer === 'mxplan') return OFFER_LABELS.mxplan;
  const name = at.offer === 'exchange' ? `${at.org}/${at.service}` : at.service;
  return `${OFFER_LABELS[at.offer]} service \`${name}\``;
}

/** `exchange/<org>/<service>`, `pro/<service>`, `mxplan` (or, as before offers, `<org>/<service>` for Exchange). */
export function parseServiceSpec(spec: string): MailService | undefined {
  const parts = spec.split('/');
  // A name of letters, digits, dots, dashes and underscores; never only dots, which would walk the API's paths.
  const ok = (value: string | undefined) =>
    value !== undefined && /^[A-Za-z0-9._-]{1,80}$/.test(value) && !/^\.+$/.test(value);
  if (parts[0] === 'mxplan' && parts.length === 1) return { offer: 'mxplan' };
  if (parts[0] === 'pro' && parts.length === 2 && ok(parts[1])) return { offer: 'pro', service: parts[1] };
  if (parts[0] === 'exchange' && parts.length === 3 && ok(parts[1]) && ok(parts[2])) {
    return { offer: 'exchange', org: parts[1], service: parts[2] };
  }
  // The form from before the offers, `<org>/<service>`, unless it starts with an offer's name.
  const offerWord = ['exchange', 'pro', 'mxplan'].includes(parts[0] ?? '');
  if (parts.length === 2 && !offerWord && ok(parts[0]) && ok(parts[1])) {
    return { offer: 'exchange', org: parts[0], service: parts[1] };
  }
  return undefined;
}

export function serviceSpec(at: MailService): string {
  if (at.offer === 'mxplan') return 'mxplan';
  return at.offer === 'exchange' ? `exchange/${at.org}/${at.service}` : `pro/${at.service}`;
}

/** Where the bot looked for a domain, said when it is found nowhere. */
export interface LookedAt {
  offer: OfferId;
  services: number;
  /** The credentials may not read this offer (403), or the account has none of it (404). */
  unreadable?: string;
  /** Services of the offer whose domains could not be read (403, 404: being deleted, a right missing), with why. */
  skipped?: string[];
}

/** " (not read: org1/svc3 — This service does not exist)" for the services an offer's look went past; else "". */
export function skippedNote(lookedAt: LookedAt): string {
  return lookedAt.skipped?.length ? ` (not read: ${lookedAt.skipped.join('; ')})` : '';
}

/** Every mail service of the account that hosts a domain, across the three offers, through the kept answers. */
export class MailDiscovery {
  constructor(
    private readonly ovh: OvhApi,
    private readonly shared?: SharedReads,
  ) {}

  /**
   * The services hosting `domain`. When none does and the kept lists were read before run `askedBy` was requested
   * (the domain may have been added since), they are read again once.
   */
  async locate(domain: string, askedBy?: number): Promise<{ found: MailService[]; lookedAt: LookedAt[] }> {
    const first = await this.find(domain);
    if (first.found.length > 0 || askedBy === undefined) return first;
    return this.find(domain, askedBy);
  }

  /**
   * Every domain of every service of the account (the fleet scan); with `only`, that domain's entries alone, the
   * others passed over without an object each (a setup's look-up, once per run, on accounts of thousands of domains).
   */
  async everything(
    after?: number,
    only?: string,
  ): Promise<{ domains: { domain: string; at: MailService }[]; lookedAt: LookedAt[] }> {
    const lookedAt: LookedAt[] = [];
    const domains: { domain: string; at: MailService }[] = [];
    for (const offer of ['exchange', 'pro', 'mxplan'] as const) {
      const listed = await this.offerDomains(offer, after, only);
      lookedAt.push(listed.lookedAt);
      for (const entry of listed.domains) domains.push(entry);
    }
    return { domains, lookedAt };
  }

  /** OVH contradicted the kept lists (a 404 on a domain they name): forget them, so the next look asks OVH. */
  forget(): void {
    for (const prefix of ['GET /email/exchange', 'GET /email/pro', 'GET /email/domain']) this.shared?.forget(prefix);
  }

  private async find(domain: string, after?: number) {
    const { domains, lookedAt } = await this.everything(after, domain);
    return { found: domains.map((d) => d.at), lookedAt };
  }

  private async offerDomains(offer: OfferId, after?: number, only?: string) {
    const domains: { domain: string; at: MailService }[] = [];
    const skipped: string[] = [];
    /** One service's list: refused (403, 404), it is looked past and named, and the offer's other services are read. */
    const serviceList = async (path: string, name: string): Promise<string[]> => {
      try {
        return await sharedList(this.ovh, this.shared, path, after);
      } catch (error) {
        const refusal = refusalOf(error);
        if (refusal === undefined) throw error;
        skipped.push(`${name} — ${refusal}`);
        return [];
      }
    };
    const add = (list: string[], at: MailService) => {
      for (const d of list) {
        if (only !== undefined && (d.length !== only.length || d.toLowerCase() !== only)) continue;
        domains.push({ domain: d.toLowerCase(), at });
      }
    };
    const looked = (services: number): LookedAt => ({ offer, services, ...(skipped.length ? { skipped } : {}) });
    try {
      if (offer === 'mxplan') {
        const listed = await sharedList(this.ovh, this.shared, '/email/domain', after);
        add(listed, { offer });
        return { domains, lookedAt: looked(listed.length > 0 ? 1 : 0) };
      }
      if (offer === 'pro') {
        const services = await sharedList(this.ovh, this.shared, '/email/pro', after);
        for (const service of services) {
          add(await serviceList(`/email/pro/${seg(service)}/domain`, service), { offer, service });
        }
        return { domains, lookedAt: looked(services.length) };
      }
      let count = 0;
      for (const org of await sharedList(this.ovh, this.shared, '/email/exchange', after)) {
        for (const service of await serviceList(`/email/exchange/${seg(org)}/service`, org)) {
          count++;
          add(await serviceList(exchangeServicePath(org, service), `${org}/${service}`), { offer, org, service });
        }
      }
      return { domains, lookedAt: looked(count) };
    } catch (error) {
      // An offer the credentials may not read (least privilege) or the account does not have is looked past, and said.
      const refusal = refusalOf(error);
      if (refusal === undefined) throw error;
      return { domains, lookedAt: { ...looked(0), unreadable: refusal } };
    }
  }
}

/** OVH's words when it refused a read (403: a right missing; 404: none there); undefined for any other error. */
function refusalOf(error: unknown): string | undefined {
  if (!(error instanceof ProviderError) || (error.status !== 403 && error.status !== 404)) return undefined;
  return error.details.providerMessage ?? `HTTP ${error.status}`;
}

function exchangeServicePath(org: string, service: string): string {
  return `/email/exchange/${seg(org)}/service/${seg(service)}/domain`;
}

/** The path of a domain in an Exchange or Email Pro service. */
export function keyedDomainPath(at: MailService, domain: string): string {
  if (at.offer === 'exchange' && at.org && at.service)
    return `${exchangeServicePath(at.org, at.service)}/${seg(domain)}`;
  if (at.offer === 'pro' && at.service) return `/email/pro/${seg(at.service)}/domain/${seg(domain)}`;
  throw new Error(`${at.offer} keeps no per-selector keys`);
}

/**
 * DKIM of a domain on an Exchange or Email Pro service: two selectors, a key each, enabled one at a time. The same
 * calls and shapes for both offers; only the address differs.
 */
export class KeyedDkimApi {
  readonly path: string;

  constructor(
    private readonly ovh: OvhApi,
    readonly at: MailService,
    readonly domain: string,
  ) {
    this.path = keyedDomainPath(at, domain);
  }

  selectors(): Promise<string[]> {
    return this.ovh.get(`${this.path}/dkimSelector`, names);
  }

  existing(): Promise<string[]> {
    return this.ovh.get(`${this.path}/dkim`, names);
  }

  /** 'exists' on a 409: a key made by a call whose answer was lost is not an error. */
  async create(selectorName: string): Promise<'created' | 'exists'> {
    // The bot writes and checks the CNAME itself, so OVH is not asked to (configureDkim: false): one writer only.
    // Email Pro takes autoEnableDKIM too: never, signing starts only after an approval.
    const body =
      this.at.offer === 'pro'
        ? { selectorName, configureDkim: false, autoEnableDKIM: false }
        : {
            selectorName,
            configureDkim: false,
          };
    try {
      await this.ovh.post(`${this.path}/dkim`, body, taskSchema);
      return 'created';
    } catch (error) {
      if (error instanceof ProviderError && error.status === 409) return 'exists';
      throw error;
    }
  }

  dkim(selector: string): Promise<Dkim> {
    return this.ovh.get(`${this.path}/dkim/${seg(selector)}`, dkimSchema);
  }

  enablePath(selector: string): string {
    return `${this.path}/dkim/${seg(selector)}/enable`;
  }

  disablePath(selector: string): string {
    return `${this.path}/dkim/${seg(selector)}/disable`;
  }

  keyPath(selector: string): string {
    return `${this.path}/dkim/${seg(selector)}`;
  }

  /** 'already' on a 409 (OVH says it is not enabled, or disabling). */
  async disable(selector: string): Promise<'disabled' | 'already'> {
    try {
      await this.ovh.post(this.disablePath(selector), undefined, taskSchema);
      return 'disabled';
    } catch (error) {
      if (error instanceof ProviderError && error.status === 409) return 'already';
      throw error;
    }
  }

  /** Deletes a selector's key; 'gone' when OVH no longer has it (404). */
  async remove(selector: string): Promise<'deleting' | 'gone'> {
    try {
      await this.ovh.delete(this.keyPath(selector), taskSchema);
      return 'deleting';
    } catch (error) {
      if (error instanceof ProviderError && error.status === 404) return 'gone';
      throw error;
    }
  }

  /** The key of a selector, or undefined when OVH has none (404). */
  async dkimOrNone(selector: string): Promise<Dkim | undefined> {
    try {
      return await this.dkim(selector);
    } catch (error) {
      if (error instanceof ProviderError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** 'already' when OVH says it is enabled or enabling (a 409): that is success too. */
  async enable(selector: string): Promise<'enabled' | 'already' | 'refused'> {
    try {
      await this.ovh.post(this.enablePath(selector), undefined, taskSchema);
      return 'enabled';
    } catch (error) {
      if (error instanceof ProviderError && error.status === 409) {
        return /already|enabling|production/i.test(error.details.providerMessage ?? '') ? 'already' : 'refused';
      }
      throw error;
    }
  }
}

/** `email.domain.dkim_simplified`, parsed strictly: anything else fails the run with OVH's raw answer. */
export const MX_PLAN_STATUSES = ['disabled', 'modifying', 'toConfigure', 'enabled', 'error'] as const;
const mxPlanSchema = z.object({
  status: z.enum(MX_PLAN_STATUSES),
  activeSelector: z.string().nullish(),
  autoconfig: z.boolean().nullish(),
  selectors: z
    .array(
      z.object({
        selectorName: z.string(),
        status: z.enum(['set', 'toSet', 'toFix']),
        cname: z.string().refine((value) => parseMxPlanCname(value) !== undefined, 'not "<name> CNAME <target>."'),
      }),
    )
    .nullish()
    .transform((v) => v ?? []),
});
export type MxPlanDkim = z.infer<typeof mxPlanSchema>;

/** `"<name> CNAME <target>."`: the record a selector needs, both names without their final dot. */
export function parseMxPlanCname(cname: string): { name: string; target: string } | undefined {
  const match = /^([a-z0-9._-]+?)\.?\s+CNAME\s+([a-z0-9._-]+?)\.?$/i.exec(cname.trim());
  const [, name, target] = match ?? [];
  return name && target ? { name: name.toLowerCase(), target: target.toLowerCase() } : undefined;
}

/** MX Plan and Zimbra DKIM: one switch per domain. */
export class MxPlanApi {
  readonly path: string;

  constructor(
    private readonly ovh: OvhApi,
    readonly domain: string,
  ) {
    this.path = `/email/domain/${seg(domain)}/dkim`;
  }

  async dkim(): Promise<MxPlanDkim> {
    const raw = await this.ovh.get(this.path, z.unknown());
    const parsed = mxPlanSchema.safeParse(raw);
    if (!parsed.success) {
      throw new ProviderError(
        'ovh',
        'terminal',
        `OVH answered GET ${this.path} in a shape the bot does not know, so it does nothing: ${JSON.stringify(raw).slice(0, 500)}`,
        { call: `GET ${this.path}` },
      );
    }
    for (const selector of parsed.data.selectors) {
      if (!parseMxPlanCname(selector.cname)) {
        throw new ProviderError(
          'ovh',
          'terminal',
          `OVH answered a record the bot cannot read for ${selector.selectorName}: ${JSON.stringify(selector.cname)}`,
          { call: `GET ${this.path}` },
        );
      }
    }
    return parsed.data;
  }

  /** 'already' on a 409 (OVH is at it, or it is on): the same approval covers calling it again. */
  async enable(): Promise<'sent' | 'already'> {
    return this.put('enable');
  }

  async disable(): Promise<'sent' | 'already'> {
    return this.put('disable');
  }

  private async put(what: 'enable' | 'disable'): Promise<'sent' | 'already'> {
    try {
      await this.ovh.put(`${this.path}/${what}`, {}, taskSchema);
      return 'sent';
    } catch (error) {
      if (error instanceof ProviderError && error.status === 409) return 'already';
      throw error;
    }
  }
}
