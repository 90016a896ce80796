import { normalizeName } from './dns.ts';
import { objectMissing, serviceMissing } from './ovh-common.ts';
import type { MailDomain, TaskNames } from './ovh-dkim.ts';

/**
 * Where the account's mail domains live: Exchange (organization → service → domain) and Email Pro (service →
 * domain). Both hold the same kind of domain (`MailDomain`), so their DKIM is one state machine at two addresses.
 */

/** The sim's Exchange task names (kept from the first simulator; OVH's guide shows `enableExchangeDKIM`, …). */
const EXCHANGE_TASKS: TaskNames = {
  add: 'addDKIM',
  enable: 'enableDKIM',
  disable: 'disableDKIM',
  remove: 'deleteDKIM',
};
/** `email.pro.TaskFunctionEnum`. */
const EMAIL_PRO_TASKS: TaskNames = {
  add: 'addDomainDKIM',
  enable: 'enableDKIM',
  disable: 'disableDKIM',
  remove: 'deleteDomainDKIM',
};

export interface MailDomainOptions {
  selectorPrefix?: string;
  newTargetOnRecreate?: boolean;
  /** Exchange: the service's offer (`email.exchange.ServiceOfferEnum`); a Private Exchange is `dedicated`. */
  serviceOffer?: ExchangeOffer;
}

export type ExchangeOffer = 'hosted' | 'provider' | 'dedicated' | 'dedicatedCluster';

export class MailServices {
  readonly exchange = new Map<string, Map<string, Map<string, MailDomain>>>();
  readonly emailPro = new Map<string, Map<string, MailDomain>>();
  /** Exchange services' offers, by `org/service` (hosted unless set). */
  private readonly exchangeOffers = new Map<string, ExchangeOffer>();
  private readonly byDomain = new Map<string, MailDomain[]>();

  constructor(private readonly nextSelectorPrefix: (kind: 'ovhex' | 'ovhemp') => string) {}

  addExchangeDomain(org: string, service: string, domain: string, options: MailDomainOptions = {}): MailDomain {
    const entry = this.entry('exchange', org, service, domain, options);
    const services = this.exchange.get(org) ?? new Map<string, Map<string, MailDomain>>();
    const domains = services.get(service) ?? new Map<string, MailDomain>();
    domains.set(entry.domain, entry);
    services.set(service, domains);
    this.exchange.set(org, services);
    if (options.serviceOffer) this.exchangeOffers.set(`${org}/${service}`, options.serviceOffer);
    return this.index(entry);
  }

  addEmailProDomain(service: string, domain: string, options: MailDomainOptions = {}): MailDomain {
    const entry = this.entry('emailpro', null, service, domain, options);
    const domains = this.emailPro.get(service) ?? new Map<string, MailDomain>();
    domains.set(entry.domain, entry);
    this.emailPro.set(service, domains);
    return this.index(entry);
  }

  // ----- Exchange -----

  organizations(): string[] {
    return [...this.exchange.keys()];
  }

  exchangeServices(org: string): string[] {
    return [...this.requireOrg(org).keys()];
  }

  /** `GET /email/exchange/{org}/service/{service}`, the fields the bot reads. */
  exchangeService(org: string, service: string): { domain: string; offer: ExchangeOffer; state: string } {
    this.requireExchangeService(org, service);
    return { domain: service, offer: this.exchangeOffers.get(`${org}/${service}`) ?? 'hosted', state: 'ok' };
  }

  exchangeDomains(org: string, service: string): string[] {
    return [...this.requireExchangeService(org, service).keys()];
  }

  exchangeDomain(org: string, service: string, domain: string): MailDomain {
    const entry = this.requireExchangeService(org, service).get(normalizeName(domain));
    if (!entry) throw objectMissing('domainName', domain);
    return entry;
  }

  // ----- Email Pro -----

  emailProServices(): string[] {
    return [...this.emailPro.keys()];
  }

  emailProDomains(service: string): string[] {
    return [...this.requireEmailProService(service).keys()];
  }

  emailProDomain(service: string, domain: string): MailDomain {
    const entry = this.requireEmailProService(service).get(normalizeName(domain));
    if (!entry) throw objectMissing('domainName', domain);
    return entry;
  }

  requireEmailProService(service: string): Map<string, MailDomain> {
    const domains = this.emailPro.get(service);
    if (!domains) throw serviceMissing();
    return domains;
  }

  // ----- for setup and inspection -----

  /** The domain's entry holding `selector` (when given), else its first entry; for setup helpers. */
  find(domain: string, selector?: string): MailDomain | undefined {
    const entries = this.byDomain.get(normalizeName(domain)) ?? [];
    if (selector === undefined) return entries[0];
    return (
      entries.find((entry) => entry.dkim.has(selector)) ?? entries.find((entry) => entry.selectors.includes(selector))
    );
  }

  private entry(
    offer: MailDomain['offer'],
    org: string | null,
    service: string,
    domain: string,
    options: MailDomainOptions,
  ): MailDomain {
    const prefix = options.selectorPrefix ?? this.nextSelectorPrefix(offer === 'exchange' ? 'ovhex' : 'ovhemp');
    return {
      offer,
      org,
      service,
      domain: normalizeName(domain),
      selectors: [`${prefix}-selector1`, `${prefix}-selector2`],
      dkim: new Map(),
      taskOwner: offer === 'exchange' ? `exchange:${org}/${service}` : `emailpro:${service}`,
      taskNames: offer === 'exchange' ? EXCHANGE_TASKS : EMAIL_PRO_TASKS,
      newTargetOnRecreate: options.newTargetOnRecreate ?? false,
      generations: new Map(),
    };
  }

  private index(entry: MailDomain): MailDomain {
    const others = (this.byDomain.get(entry.domain) ?? []).filter(
      (other) => other.offer !== entry.offer || other.org !== entry.org || other.service !== entry.service,
    );
    this.byDomain.set(entry.domain, [...others, entry]);
    return entry;
  }

  private requireOrg(org: string): Map<string, Map<string, MailDomain>> {
    const services = this.exchange.get(org);
    if (!services) throw serviceMissing();
    return services;
  }

  private requireExchangeService(org: string, service: string): Map<string, MailDomain> {
    const domains = this.requireOrg(org).get(service);
    if (!domains) throw serviceMissing();
    return domains;
  }
}
