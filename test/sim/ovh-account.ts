import { type DnsRecord, type DnsRecordType, normalizeName } from './dns.ts';
import type { Timing } from './ovh-common.ts';
import type { DkimStatus, MailDomain } from './ovh-dkim.ts';
import { dkimPublicKey } from './ovh-keys.ts';
import { dkimView } from './ovh-mail-routes.ts';
import { OvhModel } from './ovh-model.ts';
import { customerRecordOf, type MxPlanDkimView, type MxPlanDomain, type MxPlanStatus, targetOf } from './ovh-mxplan.ts';
import type { PublishedRecord, ZoneRecord } from './ovh-zones.ts';

/** Setting up and inspecting the simulated OVH account, apart from serving it (OvhSim adds the HTTPS server). */

export interface ExchangeDomainSetup {
  org: string;
  service: string;
  domain: string;
  selectorPrefix?: string;
  /** Create an OVH DNS zone named after the domain. */
  zone?: boolean;
  /** DKIM that already exists, by selector name. */
  dkim?: Record<string, DkimStatus>;
  /** A key created again (POST …/dkim after its DELETE) gets another targetRecord, not only another key. */
  newTargetOnRecreate?: boolean;
}

export interface ExchangeDomainInfo {
  org: string;
  service: string;
  domain: string;
  selectors: [string, string];
  zone: string | null;
}

export type EmailProDomainSetup = Omit<ExchangeDomainSetup, 'org'>;
export type EmailProDomainInfo = Omit<ExchangeDomainInfo, 'org'>;

export interface MxPlanDomainSetup {
  domain: string;
  /** Create an OVH DNS zone of this account named after the domain: OVH then writes the records (autoconfig). */
  zone?: boolean;
  /** Where the domain stands at start; default `disabled` (no keys yet). `enabled` writes the records when it can. */
  status?: MxPlanStatus;
  selectorPrefix?: string;
  /** `MX Plan` (default) or `Zimbra`: both live under /email/domain. */
  offer?: string;
  /** What `modifying` ends in when the records are not all right: `toConfigure` (default) or `disabled`. */
  manualStatus?: 'toConfigure' | 'disabled';
  /** Answer the selectors in the other order on every other read. */
  alternateSelectorOrder?: boolean;
  /** False: the zone is OVH's but OVH does not write the records (its autoconfig failed): it asks for them. */
  ovhWritesRecords?: boolean;
}

export interface MxPlanDomainInfo {
  domain: string;
  selectors: [string, string];
  /** The CNAME each selector needs: name → absolute target (trailing dot). */
  records: Array<{ name: string; target: string }>;
  zone: string | null;
}

export interface SelectorView {
  selectorName: string;
  customerRecord: string;
  targetRecord: string;
  recordType: string;
  status: DkimStatus;
  cnameIsValid: boolean;
  taskPendingId: number;
  lastUpdate: string;
  header: string;
  configureDkim: boolean;
  autoEnable: boolean;
  offer: 'exchange' | 'emailpro';
  service: string;
  /** 0 for the selector's first key, then one more per re-creation. */
  generation: number;
  /** The `p=` its target's TXT carries (while the key exists and is made). */
  publicKey: string;
}

export interface MailAuthRecords {
  /** Default `v=spf1 include:mx.ovh.com ~all`; null: none. */
  spf?: string | null;
  /** Default `v=DMARC1; p=quarantine`; null: none. */
  dmarc?: string | null;
  ttl?: number;
}

export const DEFAULT_SPF = 'v=spf1 include:mx.ovh.com ~all';
export const DEFAULT_DMARC = 'v=DMARC1; p=quarantine';

function quoted(text: string): string {
  return `"${text.replace(/["\\]/g, '\\$&')}"`;
}

export class OvhAccount {
  protected readonly model: OvhModel;

  constructor(readonly timing: Timing) {
    this.model = new OvhModel(timing);
  }

  now(): number {
    return this.timing.now();
  }

  // ----- setup: mail offers -----

  addExchangeDomain(setup: ExchangeDomainSetup): ExchangeDomainInfo {
    const entry = this.model.services.addExchangeDomain(setup.org, setup.service, setup.domain, setup);
    return { org: setup.org, ...this.finishSetup(entry, setup) };
  }

  addEmailProDomain(setup: EmailProDomainSetup): EmailProDomainInfo {
    return this.finishSetup(this.model.services.addEmailProDomain(setup.service, setup.domain, setup), setup);
  }

  addMxPlanDomain(setup: MxPlanDomainSetup): MxPlanDomainInfo {
    const entry = this.model.mxPlan.add(setup.domain, setup);
    const zone = setup.zone ? this.model.zones.add(entry.domain).name : null;
    if (setup.status && setup.status !== 'disabled') this.model.mxPlan.setStatus(entry, setup.status);
    return { domain: entry.domain, selectors: [...entry.selectors], records: this.mxPlanRecords(entry), zone };
  }

  /** Exchange or Email Pro: the selector's key in `status` now (made if missing). */
  setSelectorStatus(domain: string, selector: string, status: DkimStatus): void {
    this.model.dkim.setStatus(this.requireMailDomain(domain, selector), selector, status);
  }

  /** Someone deleted the selector's key and made it again: it answers another targetRecord. Returns that target. */
  remakeKey(domain: string, selector: string, status: DkimStatus = 'ready'): string {
    return this.model.dkim.remake(this.requireMailDomain(domain, selector), selector, status).targetRecord;
  }

  /** MX Plan: the domain in `status` now (`error` is how OVH's process failing looks). */
  setMxPlanStatus(domain: string, status: MxPlanStatus): void {
    this.model.mxPlan.setStatus(this.requireMxPlan(domain), status);
  }

  /** One pass of OVH's Exchange / Email Pro robot over every selector waiting for its record. */
  runRobot(): void {
    this.model.dkim.runRobot();
  }

  // ----- setup: DNS -----

  addZone(name: string): void {
    this.model.zones.add(name);
  }

  /** Writes a record straight into a zone, published at once unless `refresh` is false. */
  addZoneRecord(
    zone: string,
    record: { fieldType: string; subDomain?: string; target: string; ttl?: number },
    options: { refresh?: boolean } = {},
  ): ZoneRecord {
    const target = this.model.zones.zone(zone);
    const created = this.model.zones.createRecord(target, {
      fieldType: record.fieldType,
      subDomain: record.subDomain ?? '',
      target: record.target,
      ttl: record.ttl ?? 0,
    });
    if (options.refresh ?? true) this.model.zones.refresh(target);
    return { ...created };
  }

  /** A change behind the bot's back: edits a zone record, published at once unless `refresh` is false. */
  updateZoneRecord(
    zone: string,
    id: number,
    changes: { subDomain?: string; target?: string; ttl?: number },
    options: { refresh?: boolean } = {},
  ): void {
    const target = this.model.zones.zone(zone);
    this.model.zones.updateRecord(target, id, changes);
    if (options.refresh ?? true) this.model.zones.refresh(target);
  }

  /** A change behind the bot's back: deletes a zone record, published at once unless `refresh` is false. */
  deleteZoneRecord(zone: string, id: number, options: { refresh?: boolean } = {}): void {
    const target = this.model.zones.zone(zone);
    this.model.zones.deleteRecord(target, id);
    if (options.refresh ?? true) this.model.zones.refresh(target);
  }

  refreshZone(zone: string): void {
    this.model.zones.refresh(this.model.zones.zone(zone));
  }

  /** A record at a DNS host other than OVH; replaces the records of that type at that name. */
  setExternalRecord(name: string, type: DnsRecordType, value: string, ttl?: number): void {
    this.model.zones.setExternal(name, type, value, ttl);
  }

  removeExternalRecord(name: string, type?: DnsRecordType): void {
    this.model.zones.removeExternal(name, type);
  }

  /**
   * SPF (TXT at the apex) and DMARC (TXT at `_dmarc`) for `domain`: TXT records in its OVH zone (quoted, as OVH
   * stores them; refreshed) when the account has one, else records at the other DNS host.
   */
  addMailAuthRecords(domain: string, records: MailAuthRecords = {}): void {
    const name = normalizeName(domain);
    const wanted: Array<[string, string | null]> = [
      ['', records.spf === undefined ? DEFAULT_SPF : records.spf],
      ['_dmarc', records.dmarc === undefined ? DEFAULT_DMARC : records.dmarc],
    ];
    const zone = this.model.zones.zoneHolding(name);
    for (const [label, text] of wanted) {
      if (text === null) continue;
      const full = label ? `${label}.${name}` : name;
      if (!zone) {
        this.setExternalRecord(full, 'TXT', text, records.ttl);
        continue;
      }
      const subDomain = full === zone.name ? '' : full.slice(0, -(zone.name.length + 1));
      this.model.zones.createRecord(zone, { fieldType: 'TXT', subDomain, target: quoted(text), ttl: records.ttl ?? 0 });
    }
    if (zone) this.model.zones.refresh(zone);
  }

  // ----- inspection -----

  zoneRecords(zone: string): ZoneRecord[] {
    return [...this.model.zones.zone(zone).records.values()].map((record) => ({ ...record }));
  }

  publishedRecords(zone: string): PublishedRecord[] {
    return this.model.zones.zone(zone).published.map((record) => ({ ...record }));
  }

  /** The selector's DKIM as GET .../dkim/{selector} shows it (without running the robot), or undefined. */
  selector(domain: string, name: string): SelectorView | undefined {
    this.model.settle();
    const entry = this.model.services.find(domain, name);
    const state = entry?.dkim.get(name);
    if (!entry || !state) return undefined;
    return {
      ...dkimView(this.model, state),
      configureDkim: state.configureDkim,
      autoEnable: state.autoEnable,
      offer: entry.offer,
      service: entry.service,
      generation: state.generation,
      publicKey: dkimPublicKey(state.targetRecord, state.generation),
    };
  }

  /** MX Plan: GET /email/domain/{domain}/dkim as OVH would answer now, or undefined for an unknown domain. */
  mxPlanDkim(domain: string): MxPlanDkimView | undefined {
    const entry = this.model.mxPlan.domains.get(normalizeName(domain));
    return entry ? this.model.mxPlan.view(entry, false) : undefined;
  }

  /** What DNS answers for a name (null: NXDOMAIN), without CNAME chasing. */
  resolve(name: string): DnsRecord[] | null {
    return this.model.lookup(name);
  }

  private finishSetup(entry: MailDomain, setup: EmailProDomainSetup) {
    const zone = setup.zone ? this.model.zones.add(entry.domain).name : null;
    for (const [selector, status] of Object.entries(setup.dkim ?? {}))
      this.model.dkim.setStatus(entry, selector, status);
    return { service: entry.service, domain: entry.domain, selectors: [...entry.selectors] as [string, string], zone };
  }

  private mxPlanRecords(entry: MxPlanDomain): MxPlanDomainInfo['records'] {
    return entry.selectors.map((selector) => ({
      name: customerRecordOf(entry, selector),
      target: `${targetOf(entry, selector)}.`,
    }));
  }

  private requireMailDomain(domain: string, selector: string): MailDomain {
    const entry = this.model.services.find(domain, selector) ?? this.model.services.find(domain);
    if (!entry) {
      throw new Error(`OvhSim: no Exchange or Email Pro domain ${domain}; call addExchangeDomain or addEmailProDomain`);
    }
    return entry;
  }

  private requireMxPlan(domain: string): MxPlanDomain {
    const entry = this.model.mxPlan.domains.get(normalizeName(domain));
    if (!entry) throw new Error(`OvhSim: no MX Plan domain ${domain}; call addMxPlanDomain first`);
    return entry;
  }
}
