import { createHash } from 'node:crypto';
import { type DnsRecord, type DnsRecordType, normalizeName } from './dns.ts';

export type DkimStatus = 'todo' | 'waitingRecord' | 'ready' | 'enabling' | 'inProduction' | 'disabling' | 'deleting';

export class SimError extends Error {
  constructor(
    readonly status: number,
    readonly errorClass: string,
    message: string,
    readonly errorCode?: string,
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new SimError(404, 'Client::NotFound', message);
export const badRequest = (message: string) => new SimError(400, 'Client::BadRequest', message);
export const conflict = (message: string) => new SimError(409, 'Client::Conflict', message);
const objectMissing = (field: string, value: string | number) =>
  notFound(`The requested object (${field} = ${value}) does not exist`);

export interface Timing {
  now(): number;
  taskDelayMs: number;
  robotDelayMs: number;
  enableDelayMs: number;
}

export interface DkimState {
  selectorName: string;
  domain: string;
  customerRecord: string;
  targetRecord: string;
  status: DkimStatus;
  configureDkim: boolean;
  autoEnable: boolean;
  taskPendingId: number;
  dueAt: number | null;
  validSince: number | null;
  createdAt: number;
  lastUpdate: number;
}

export interface ExchangeDomain {
  org: string;
  service: string;
  domain: string;
  selectors: [string, string];
  dkim: Map<string, DkimState>;
}

export interface Task {
  id: number;
  function: string;
  status: 'todo' | 'done';
  todoDate: string;
  finishDate: string | null;
  lastUpdate: string;
  org: string;
  service: string;
  dueAt: number;
}

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

export const DKIM_HEADER = 'from;to;subject;date';
const RELATIVE_TARGET_TYPES = new Set(['CNAME', 'NS', 'MX', 'SRV', 'PTR', 'DNAME']);
const SERVED_TYPES = new Set<string>(['A', 'CNAME', 'TXT']);
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

export function isoDate(at: number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

export function dkimTargetFor(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain.replace(/\./g, '-')}.aa.dkim.mail.ovh.net`;
}

/** A stable stand-in for an RSA-2048 public key: 392 base64 characters, so the TXT exceeds 255 bytes. */
export function dkimPublicKey(target: string): string {
  let key = '';
  for (let round = 0; key.length < 392; round++) {
    key += createHash('sha512').update(`${target}#${round}`).digest('base64').replace(/=+$/, '');
  }
  return `MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA${key}`.slice(0, 392);
}

export function dkimTxt(target: string): string {
  return `v=DKIM1; k=rsa; p=${dkimPublicKey(target)}`;
}

function publishedTarget(record: ZoneRecord): string {
  if (record.fieldType === 'TXT') return record.target.replace(/^"(.*)"$/s, '$1');
  if (!RELATIVE_TARGET_TYPES.has(record.fieldType) || record.target.endsWith('.')) return record.target;
  return `${record.target}.${record.zone}.`;
}

function publish(record: ZoneRecord): PublishedRecord {
  const name = record.subDomain ? `${record.subDomain}.${record.zone}` : record.zone;
  return { name: normalizeName(name), fieldType: record.fieldType, target: publishedTarget(record), ttl: record.ttl };
}

function isBelow(name: string, parent: string): boolean {
  return name === parent || name.endsWith(`.${parent}`);
}

interface ExternalRecord extends DnsRecord {
  name: string;
}

/** The state of one OVH account as the simulator keeps it: Exchange DKIM, DNS zones and what DNS serves. */
export class OvhModel {
  readonly exchange = new Map<string, Map<string, Map<string, ExchangeDomain>>>();
  readonly domains = new Map<string, ExchangeDomain>();
  readonly zones = new Map<string, Zone>();
  readonly tasks = new Map<number, Task>();
  private readonly external = new Map<string, ExternalRecord[]>();
  private readonly dkimTargets = new Map<string, DkimState>();
  private readonly timed = new Set<DkimState>();
  private readonly waiting = new Set<DkimState>();
  private readonly pendingTasks = new Set<Task>();
  private nextRecordId = 5_000_000_001;
  private nextTaskId = 150_000_001;
  private nextSelectorPrefix = 123_456;

  constructor(private readonly timing: Timing) {}

  // ----- setup -----

  addExchangeDomain(org: string, service: string, domain: string, selectorPrefix?: string): ExchangeDomain {
    const name = normalizeName(domain);
    const prefix = selectorPrefix ?? `ovhex${this.nextSelectorPrefix++}`;
    const entry: ExchangeDomain = {
      org,
      service,
      domain: name,
      selectors: [`${prefix}-selector1`, `${prefix}-selector2`],
      dkim: new Map(),
    };
    const services = this.exchange.get(org) ?? new Map<string, Map<string, ExchangeDomain>>();
    const domains = services.get(service) ?? new Map<string, ExchangeDomain>();
    domains.set(name, entry);
    services.set(service, domains);
    this.exchange.set(org, services);
    this.domains.set(name, entry);
    return entry;
  }

  addZone(name: string): Zone {
    const zoneName = normalizeName(name);
    const existing = this.zones.get(zoneName);
    if (existing) return existing;
    const zone: Zone = { name: zoneName, records: new Map(), published: [], lastRefresh: this.timing.now() };
    this.zones.set(zoneName, zone);
    return zone;
  }

  setSelectorStatus(domain: string, selector: string, status: DkimStatus): DkimState {
    const entry = this.requireDomain(domain);
    const state = entry.dkim.get(selector) ?? this.createDkim(entry, selector, false, false);
    state.status = status;
    state.taskPendingId = 0;
    state.validSince = null;
    state.lastUpdate = this.timing.now();
    this.schedule(state, this.delayFor(status));
    this.trackWaiting(state);
    if (status === 'waitingRecord') this.observe(state);
    return state;
  }

  setExternalRecord(name: string, type: DnsRecordType, value: string, ttl?: number): void {
    const key = normalizeName(name);
    const kept = (this.external.get(key) ?? []).filter((record) => record.type !== type);
    this.external.set(key, [...kept, { name: key, type, value, ...(ttl === undefined ? {} : { ttl }) }]);
    this.observeName(key);
  }

  removeExternalRecord(name: string, type?: DnsRecordType): void {
    const key = normalizeName(name);
    const kept = (this.external.get(key) ?? []).filter((record) => type !== undefined && record.type !== type);
    if (kept.length > 0) this.external.set(key, kept);
    else this.external.delete(key);
    this.observeName(key);
  }

  // ----- Exchange -----

  organizations(): string[] {
    return [...this.exchange.keys()];
  }

  services(org: string): string[] {
    return [...this.requireOrg(org).keys()];
  }

  domainNames(org: string, service: string): string[] {
    return [...this.requireService(org, service).keys()];
  }

  exchangeDomain(org: string, service: string, domain: string): ExchangeDomain {
    const entry = this.requireService(org, service).get(normalizeName(domain));
    if (!entry) throw objectMissing('domainName', domain);
    return entry;
  }

  dkim(entry: ExchangeDomain, selector: string): DkimState {
    const state = entry.dkim.get(selector);
    if (!state) throw objectMissing('selectorName', selector);
    return state;
  }

  createDkimByRequest(entry: ExchangeDomain, selector: string, configureDkim: boolean, autoEnable: boolean): Task {
    if (!entry.selectors.includes(selector)) {
      throw badRequest(`Invalid selectorName ${selector}: use one of ${entry.selectors.join(', ')}`);
    }
    if (entry.dkim.has(selector)) {
      throw conflict(`A DKIM with selector ${selector} already exists for domain ${entry.domain}`);
    }
    const state = this.createDkim(entry, selector, configureDkim, autoEnable);
    const task = this.createTask(entry, 'addDKIM', this.timing.taskDelayMs);
    state.taskPendingId = task.id;
    this.schedule(state, this.timing.taskDelayMs);
    return task;
  }

  enable(entry: ExchangeDomain, selector: string): Task {
    const state = this.dkim(entry, selector);
    if (state.status === 'enabling' || state.status === 'inProduction') {
      throw conflict(`DKIM is already enabled for selector ${selector} (status ${state.status})`);
    }
    if (state.status !== 'ready') {
      throw conflict(`DKIM for selector ${selector} cannot be enabled: its status is ${state.status}, not ready`);
    }
    return this.startTransition(entry, state, 'enabling', 'enableDKIM', this.timing.enableDelayMs);
  }

  disable(entry: ExchangeDomain, selector: string): Task {
    const state = this.dkim(entry, selector);
    if (state.status !== 'inProduction' && state.status !== 'enabling') {
      throw conflict(`DKIM is not enabled for selector ${selector} (status ${state.status})`);
    }
    return this.startTransition(entry, state, 'disabling', 'disableDKIM', this.timing.enableDelayMs);
  }

  remove(entry: ExchangeDomain, selector: string): Task {
    const state = this.dkim(entry, selector);
    if (state.status === 'inProduction' || state.status === 'enabling') {
      throw conflict(`DKIM for selector ${selector} is enabled: disable it before deleting it`);
    }
    return this.startTransition(entry, state, 'deleting', 'deleteDKIM', this.timing.taskDelayMs);
  }

  /** Reads a status as OVH would answer it: the robot looks at the published record first. */
  readStatus(state: DkimState): DkimState {
    this.settle();
    if (state.status === 'waitingRecord') this.promoteIfRecordValid(state);
    return state;
  }

  cnameIsValid(state: DkimState): boolean {
    if (state.status === 'todo') return false;
    const records = this.lookup(state.customerRecord) ?? [];
    return records.some(
      (record) => record.type === 'CNAME' && normalizeName(record.value) === normalizeName(state.targetRecord),
    );
  }

  runRobot(): void {
    this.settle();
    for (const state of [...this.waiting]) this.promoteIfRecordValid(state);
  }

  serviceTasks(org: string, service: string): Task[] {
    this.requireService(org, service);
    this.settle();
    return [...this.tasks.values()].filter((task) => task.org === org && task.service === service);
  }

  // ----- zones -----

  zone(name: string): Zone {
    const zone = this.zones.get(normalizeName(name));
    if (!zone) throw notFound(`This service does not exist`);
    return zone;
  }

  zoneRecord(zone: Zone, id: number): ZoneRecord {
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
    const record = this.zoneRecord(zone, id);
    if (changes.subDomain !== undefined && changes.subDomain !== record.subDomain) {
      this.assertNoCnameConflict(zone, record.fieldType, changes.subDomain, id);
    }
    Object.assign(record, changes);
  }

  deleteRecord(zone: Zone, id: number): void {
    this.zoneRecord(zone, id);
    zone.records.delete(id);
  }

  refresh(zone: Zone): void {
    zone.published = [...zone.records.values()].map(publish);
    zone.lastRefresh = this.timing.now();
    for (const state of this.waiting) if (isBelow(state.customerRecord, zone.name)) this.observe(state);
  }

  // ----- DNS -----

  /** What a recursive resolver would find at `name`: `null` for a name that does not exist. */
  lookup(name: string): DnsRecord[] | null {
    const key = normalizeName(name);
    const zone = this.zoneHolding(key);
    if (zone) return this.lookupInZone(zone, key);
    const dkim = this.dkimTargets.get(key);
    if (dkim && dkim.status !== 'todo') return [{ type: 'TXT', value: dkimTxt(dkim.targetRecord) }];
    return this.lookupExternal(key);
  }

  zoneHolding(name: string): Zone | undefined {
    const labels = normalizeName(name).split('.');
    for (let start = 0; start < labels.length; start++) {
      const zone = this.zones.get(labels.slice(start).join('.'));
      if (zone) return zone;
    }
    return undefined;
  }

  // ----- internals -----

  settle(): void {
    const now = this.timing.now();
    for (const state of [...this.timed]) {
      if (state.dueAt !== null && now >= state.dueAt) this.finishTransition(state);
    }
    for (const task of [...this.pendingTasks]) if (now >= task.dueAt) this.finishTask(task, now);
  }

  private finishTask(task: Task, now: number): void {
    this.pendingTasks.delete(task);
    task.status = 'done';
    task.finishDate = isoDate(now);
    task.lastUpdate = task.finishDate;
  }

  private finishTransition(state: DkimState): void {
    const entry = this.domains.get(state.domain);
    this.timed.delete(state);
    state.dueAt = null;
    state.taskPendingId = 0;
    state.lastUpdate = this.timing.now();
    if (state.status === 'todo') this.finishCreation(state);
    else if (state.status === 'enabling') state.status = 'inProduction';
    else if (state.status === 'disabling') state.status = 'ready';
    else if (state.status === 'deleting' && entry) this.forget(entry, state);
    this.trackWaiting(state);
  }

  private finishCreation(state: DkimState): void {
    state.status = 'waitingRecord';
    if (state.configureDkim) this.writeRecordAsOvh(state);
    this.observe(state);
  }

  private writeRecordAsOvh(state: DkimState): void {
    const zone = this.zoneHolding(state.customerRecord);
    if (!zone) return;
    const subDomain = state.customerRecord.slice(0, -(zone.name.length + 1));
    const exists = [...zone.records.values()].some(
      (record) => record.fieldType === 'CNAME' && record.subDomain === subDomain,
    );
    if (exists) return;
    try {
      this.createRecord(zone, { fieldType: 'CNAME', subDomain, target: `${state.targetRecord}.`, ttl: 0 });
      this.refresh(zone);
    } catch (error) {
      if (!(error instanceof SimError)) throw error;
    }
  }

  private forget(entry: ExchangeDomain, state: DkimState): void {
    entry.dkim.delete(state.selectorName);
    this.dkimTargets.delete(state.targetRecord);
    this.waiting.delete(state);
  }

  private promoteIfRecordValid(state: DkimState): void {
    this.observe(state);
    if (state.validSince === null || this.timing.now() - state.validSince < this.timing.robotDelayMs) return;
    state.status = state.autoEnable ? 'enabling' : 'ready';
    state.lastUpdate = this.timing.now();
    state.validSince = null;
    if (state.autoEnable) this.schedule(state, this.timing.enableDelayMs);
    this.trackWaiting(state);
  }

  private observe(state: DkimState): void {
    if (!this.cnameIsValid(state)) state.validSince = null;
    else state.validSince ??= this.timing.now();
  }

  private observeName(name: string): void {
    for (const state of this.waiting) if (state.customerRecord === name) this.observe(state);
  }

  private trackWaiting(state: DkimState): void {
    if (state.status === 'waitingRecord') this.waiting.add(state);
    else this.waiting.delete(state);
  }

  private schedule(state: DkimState, delayMs: number | null): void {
    if (delayMs === null) {
      state.dueAt = null;
      this.timed.delete(state);
      return;
    }
    state.dueAt = this.timing.now() + delayMs;
    this.timed.add(state);
  }

  private delayFor(status: DkimStatus): number | null {
    if (status === 'todo' || status === 'deleting') return this.timing.taskDelayMs;
    if (status === 'enabling' || status === 'disabling') return this.timing.enableDelayMs;
    return null;
  }

  private startTransition(
    entry: ExchangeDomain,
    state: DkimState,
    status: DkimStatus,
    taskFunction: string,
    delayMs: number,
  ): Task {
    const task = this.createTask(entry, taskFunction, delayMs);
    state.status = status;
    state.taskPendingId = task.id;
    state.lastUpdate = this.timing.now();
    this.schedule(state, delayMs);
    this.trackWaiting(state);
    return task;
  }

  private createDkim(entry: ExchangeDomain, selector: string, configureDkim: boolean, autoEnable: boolean): DkimState {
    const now = this.timing.now();
    const state: DkimState = {
      selectorName: selector,
      domain: entry.domain,
      customerRecord: `${selector}._domainkey.${entry.domain}`,
      targetRecord: dkimTargetFor(selector, entry.domain),
      status: 'todo',
      configureDkim,
      autoEnable,
      taskPendingId: 0,
      dueAt: null,
      validSince: null,
      createdAt: now,
      lastUpdate: now,
    };
    entry.dkim.set(selector, state);
    this.dkimTargets.set(state.targetRecord, state);
    return state;
  }

  private createTask(entry: ExchangeDomain, taskFunction: string, delayMs: number): Task {
    const now = this.timing.now();
    const task: Task = {
      id: this.nextTaskId++,
      function: taskFunction,
      status: 'todo',
      todoDate: isoDate(now),
      finishDate: null,
      lastUpdate: isoDate(now),
      org: entry.org,
      service: entry.service,
      dueAt: now + delayMs,
    };
    this.tasks.set(task.id, task);
    this.pendingTasks.add(task);
    return task;
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
    return atName
      .filter((record) => SERVED_TYPES.has(record.fieldType))
      .map((record) => ({ type: record.fieldType as DnsRecordType, value: record.target, ttl: record.ttl || 60 }));
  }

  private lookupExternal(name: string): DnsRecord[] | null {
    const records = this.external.get(name);
    if (records) return records.map(({ type, value, ttl }) => ({ type, value, ...(ttl === undefined ? {} : { ttl }) }));
    for (const key of this.external.keys()) if (key.endsWith(`.${name}`)) return [];
    return null;
  }

  private requireOrg(org: string): Map<string, Map<string, ExchangeDomain>> {
    const services = this.exchange.get(org);
    if (!services) throw notFound('This service does not exist');
    return services;
  }

  private requireService(org: string, service: string): Map<string, ExchangeDomain> {
    const domains = this.requireOrg(org).get(service);
    if (!domains) throw notFound('This service does not exist');
    return domains;
  }

  private requireDomain(domain: string): ExchangeDomain {
    const entry = this.domains.get(normalizeName(domain));
    if (!entry) throw new Error(`OvhSim: no Exchange domain ${domain}; call addExchangeDomain first`);
    return entry;
  }
}
