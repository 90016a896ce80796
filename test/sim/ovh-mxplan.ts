import { normalizeName } from './dns.ts';
import { conflict, serviceMissing, type Task, type TaskBook, type Timing } from './ovh-common.ts';
import { dkimTargetFor, type KeyServer, type ServedKey } from './ovh-keys.ts';
import type { Zones } from './ovh-zones.ts';

/**
 * MX Plan / Zimbra DKIM (`/email/domain/{domain}/dkim`, `email.domain.dkim_simplified`): one switch per domain.
 *
 *   PUT …/enable  (disabled | toConfigure) → modifying ──mxPlanDelayMs──▶
 *       the keys are made (first time); when the zone is an OVH zone of this account (autoconfig) OVH writes every
 *       missing CNAME itself (absolute target, refreshed; a CNAME already there is never touched); then
 *       both selectors `set` → enabled (activeSelector = selector1), else → toConfigure (or `disabled`, a setup choice).
 *   PUT …/disable (enabled | toConfigure | error) → modifying ──mxPlanDelayMs──▶ disabled (keys and records stay)
 *   PUT …/enable while modifying, enabled or error, PUT …/disable while modifying or disabled → 409.
 * A selector's status is what DNS serves now: no CNAME → toSet, the right target → set, another target → toFix.
 * `toConfigure` does not turn `enabled` by itself when the records appear: `PUT …/enable` again does.
 */

export type MxPlanStatus = 'disabled' | 'modifying' | 'toConfigure' | 'enabled' | 'error';
export type MxPlanSelectorStatus = 'set' | 'toSet' | 'toFix';

export interface MxPlanDomain {
  domain: string;
  offer: string;
  selectors: [string, string];
  status: MxPlanStatus;
  activeSelector: string | null;
  /** Null until the first enable made the keys. */
  key: ServedKey | null;
  /** The status after `modifying` when a selector is not `set`: `toConfigure` (the schema) or `disabled` (the guide). */
  manualStatus: 'toConfigure' | 'disabled';
  /** Answer the two selectors in the other order on every read (OVH does not keep an order). */
  alternateSelectorOrder: boolean;
  /** Whether OVH writes the records when the zone is its own (false: its autoconfig failed, it asks for them). */
  ovhWritesRecords: boolean;
  reads: number;
  pending: { operation: 'enable' | 'disable'; dueAt: number; task: Task } | null;
  lastUpdate: number;
}

export interface MxPlanSelectorView {
  selectorName: string;
  status: MxPlanSelectorStatus;
  cname: string;
}

export interface MxPlanDkimView {
  status: MxPlanStatus;
  activeSelector: string | null;
  autoconfig: boolean;
  selectors: MxPlanSelectorView[];
}

export interface MxPlanOptions {
  offer?: string;
  selectorPrefix?: string;
  manualStatus?: 'toConfigure' | 'disabled';
  alternateSelectorOrder?: boolean;
  ovhWritesRecords?: boolean;
}

export function customerRecordOf(entry: MxPlanDomain, selector: string): string {
  return `${selector}._domainkey.${entry.domain}`;
}

export function targetOf(entry: MxPlanDomain, selector: string): string {
  return dkimTargetFor(selector, entry.domain);
}

export class MxPlan {
  readonly domains = new Map<string, MxPlanDomain>();

  constructor(
    private readonly timing: Timing,
    private readonly zones: Zones,
    private readonly keys: KeyServer,
    private readonly tasks: TaskBook,
    private readonly nextSelectorPrefix: () => string,
  ) {}

  add(domain: string, options: MxPlanOptions = {}): MxPlanDomain {
    const name = normalizeName(domain);
    const prefix = options.selectorPrefix ?? this.nextSelectorPrefix();
    const entry: MxPlanDomain = {
      domain: name,
      offer: options.offer ?? 'MX Plan',
      selectors: [`${prefix}-selector1`, `${prefix}-selector2`],
      status: 'disabled',
      activeSelector: null,
      key: null,
      manualStatus: options.manualStatus ?? 'toConfigure',
      alternateSelectorOrder: options.alternateSelectorOrder ?? false,
      ovhWritesRecords: options.ovhWritesRecords ?? true,
      reads: 0,
      pending: null,
      lastUpdate: this.timing.now(),
    };
    this.domains.set(name, entry);
    return entry;
  }

  names(): string[] {
    return [...this.domains.keys()];
  }

  get(domain: string): MxPlanDomain {
    const entry = this.domains.get(normalizeName(domain));
    if (!entry) throw serviceMissing();
    return entry;
  }

  taskOwner(entry: MxPlanDomain): string {
    return `mxplan:${entry.domain}`;
  }

  /** Whether OVH can write the records: the domain's zone is an OVH zone of this account. */
  autoconfig(entry: MxPlanDomain): boolean {
    return this.zones.zoneHolding(entry.domain) !== undefined;
  }

  selectorStatus(entry: MxPlanDomain, selector: string): MxPlanSelectorStatus {
    const served = this.zones.cnameAt(customerRecordOf(entry, selector));
    if (served === undefined) return 'toSet';
    return served === normalizeName(targetOf(entry, selector)) ? 'set' : 'toFix';
  }

  /** GET /email/domain/{domain}/dkim. `count` false: an inspection, which does not turn the order around. */
  view(entry: MxPlanDomain, count = true): MxPlanDkimView {
    this.settle();
    const selectors = entry.key
      ? entry.selectors.map((selectorName) => ({
          selectorName,
          status: this.selectorStatus(entry, selectorName),
          cname: `${customerRecordOf(entry, selectorName)} CNAME ${targetOf(entry, selectorName)}.`,
        }))
      : [];
    if (count) entry.reads++;
    if (entry.alternateSelectorOrder && entry.reads % 2 === 0) selectors.reverse();
    return {
      status: entry.status,
      activeSelector: entry.activeSelector,
      autoconfig: this.autoconfig(entry),
      selectors,
    };
  }

  enable(entry: MxPlanDomain): Task {
    this.settle();
    if (entry.status === 'modifying') {
      throw conflict(`A DKIM operation is already in progress for domain ${entry.domain} (status modifying)`);
    }
    if (entry.status === 'enabled') throw conflict(`DKIM is already enabled for domain ${entry.domain}`);
    if (entry.status === 'error') {
      throw conflict(`DKIM is in error for domain ${entry.domain}: please contact the OVHcloud support`);
    }
    return this.start(entry, 'enable');
  }

  disable(entry: MxPlanDomain): Task {
    this.settle();
    if (entry.status === 'modifying') {
      throw conflict(`A DKIM operation is already in progress for domain ${entry.domain} (status modifying)`);
    }
    if (entry.status === 'disabled') throw conflict(`DKIM is not enabled for domain ${entry.domain}`);
    return this.start(entry, 'disable');
  }

  /** Setup: the domain in `status` now, as OVH would have left it (`modifying`: an enable under way). */
  setStatus(entry: MxPlanDomain, status: MxPlanStatus): void {
    this.settle();
    entry.pending = null;
    entry.lastUpdate = this.timing.now();
    if (status === 'modifying') {
      this.start(entry, 'enable');
      return;
    }
    if (status !== 'disabled') this.makeKeys(entry);
    if (status === 'enabled') this.writeRecordsAsOvh(entry);
    entry.status = status;
    entry.activeSelector = status === 'enabled' ? entry.selectors[0] : null;
  }

  settle(): void {
    const now = this.timing.now();
    for (const entry of this.domains.values()) {
      const pending = entry.pending;
      if (!pending || now < pending.dueAt) continue;
      entry.pending = null;
      entry.lastUpdate = now;
      if (pending.operation === 'enable') this.finishEnable(entry);
      else {
        entry.status = 'disabled';
        entry.activeSelector = null;
      }
    }
  }

  private start(entry: MxPlanDomain, operation: 'enable' | 'disable'): Task {
    const delayMs = this.timing.mxPlanDelayMs;
    const task = this.tasks.create(this.taskOwner(entry), entry.domain, `domain/${operation}DKIM`, delayMs);
    entry.status = 'modifying';
    entry.pending = { operation, dueAt: this.timing.now() + delayMs, task };
    entry.lastUpdate = this.timing.now();
    return task;
  }

  private finishEnable(entry: MxPlanDomain): void {
    this.makeKeys(entry);
    if (this.autoconfig(entry) && entry.ovhWritesRecords) this.writeRecordsAsOvh(entry);
    const ready = entry.selectors.every((selector) => this.selectorStatus(entry, selector) === 'set');
    entry.status = ready ? 'enabled' : entry.manualStatus;
    entry.activeSelector = ready ? entry.selectors[0] : null;
  }

  private makeKeys(entry: MxPlanDomain): void {
    if (entry.key) return;
    const key: ServedKey = { generation: 0, served: () => true };
    entry.key = key;
    for (const selector of entry.selectors) this.keys.register(targetOf(entry, selector), key);
  }

  private writeRecordsAsOvh(entry: MxPlanDomain): void {
    for (const selector of entry.selectors) {
      if (this.selectorStatus(entry, selector) !== 'toSet') continue;
      this.zones.writeCnameAsOvh(customerRecordOf(entry, selector), targetOf(entry, selector));
    }
  }
}
