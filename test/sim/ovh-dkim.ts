import { normalizeName } from './dns.ts';
import { badRequest, conflict, objectMissing, type Task, type TaskBook, type Timing } from './ovh-common.ts';
import { dkimTargetFor, type KeyServer, type ServedKey } from './ovh-keys.ts';
import type { Zones } from './ovh-zones.ts';

/**
 * The per-selector DKIM key of Exchange and Email Pro (`email.exchange.dkimStatusEnum`, `email.pro.DkimStatusEnum`):
 * one state machine, whatever the address of the domain.
 *
 *   POST …/dkim            → todo ──taskDelayMs──▶ waitingRecord ──(CNAME right for robotDelayMs)──▶ ready
 *                            (autoEnableDKIM: ready is skipped, enabling follows)
 *   POST …/enable (ready)  → enabling ──enableDelayMs──▶ inProduction
 *   POST …/disable         → disabling ──disableDelayMs──▶ ready
 *   DELETE (not enabled)   → deleting ──deleteDelayMs──▶ gone (its TXT no longer served)
 *   POST …/dkim again      → a fresh key: another generation (another p=; another target if the domain says so)
 */

export type DkimStatus = 'todo' | 'waitingRecord' | 'ready' | 'enabling' | 'inProduction' | 'disabling' | 'deleting';
export type MailOffer = 'exchange' | 'emailpro';

/** Task function names per offer (`email.pro.TaskFunctionEnum` for Email Pro). */
export interface TaskNames {
  add: string;
  enable: string;
  disable: string;
  remove: string;
}

/** A domain of a mail service (an Exchange service, an Email Pro service) with its DKIM keys. */
export interface MailDomain {
  offer: MailOffer;
  /** Exchange organization; null for Email Pro. */
  org: string | null;
  service: string;
  domain: string;
  selectors: [string, string];
  dkim: Map<string, DkimState>;
  /** Owner of the tasks, as TaskBook lists them. */
  taskOwner: string;
  taskNames: TaskNames;
  /** A key created again after a delete gets another `targetRecord`. */
  newTargetOnRecreate: boolean;
  /** Keys made so far per selector (the next key's generation). */
  generations: Map<string, number>;
}

export interface DkimState {
  entry: MailDomain;
  selectorName: string;
  domain: string;
  customerRecord: string;
  targetRecord: string;
  generation: number;
  status: DkimStatus;
  configureDkim: boolean;
  autoEnable: boolean;
  taskPendingId: number;
  dueAt: number | null;
  validSince: number | null;
  createdAt: number;
  lastUpdate: number;
  key: ServedKey;
}

const ENABLED: ReadonlySet<DkimStatus> = new Set(['enabling', 'inProduction']);

export class DkimRobot {
  private readonly timed = new Set<DkimState>();
  private readonly waiting = new Set<DkimState>();

  constructor(
    private readonly timing: Timing,
    private readonly zones: Zones,
    private readonly keys: KeyServer,
    private readonly tasks: TaskBook,
  ) {
    zones.onChange((affects) => {
      for (const state of this.waiting) if (affects(state.customerRecord)) this.observe(state);
    });
  }

  dkim(entry: MailDomain, selector: string): DkimState {
    const state = entry.dkim.get(selector);
    if (!state) throw objectMissing('selectorName', selector);
    return state;
  }

  create(entry: MailDomain, selector: string, configureDkim: boolean, autoEnable: boolean): Task {
    if (!entry.selectors.includes(selector)) {
      throw badRequest(`Invalid selectorName ${selector}: use one of ${entry.selectors.join(', ')}`);
    }
    if (entry.dkim.has(selector)) {
      throw conflict(`A DKIM with selector ${selector} already exists for domain ${entry.domain}`);
    }
    const state = this.makeKey(entry, selector, configureDkim, autoEnable);
    const task = this.tasks.create(entry.taskOwner, entry.domain, entry.taskNames.add, this.timing.taskDelayMs);
    state.taskPendingId = task.id;
    this.schedule(state, this.timing.taskDelayMs);
    return task;
  }

  enable(entry: MailDomain, selector: string): Task {
    const state = this.dkim(entry, selector);
    if (ENABLED.has(state.status)) {
      throw conflict(`DKIM is already enabled for selector ${selector} (status ${state.status})`);
    }
    if (state.status !== 'ready') {
      throw conflict(`DKIM for selector ${selector} cannot be enabled: its status is ${state.status}, not ready`);
    }
    return this.startTransition(state, 'enabling', entry.taskNames.enable, this.timing.enableDelayMs);
  }

  disable(entry: MailDomain, selector: string): Task {
    const state = this.dkim(entry, selector);
    if (!ENABLED.has(state.status)) {
      throw conflict(`DKIM is not enabled for selector ${selector} (status ${state.status})`);
    }
    return this.startTransition(state, 'disabling', entry.taskNames.disable, this.timing.disableDelayMs);
  }

  remove(entry: MailDomain, selector: string): Task {
    const state = this.dkim(entry, selector);
    if (ENABLED.has(state.status) || state.status === 'disabling') {
      throw conflict(`DKIM for selector ${selector} is enabled: disable it before deleting it`);
    }
    if (state.status === 'deleting') {
      throw conflict(`DKIM for selector ${selector} is already being deleted`);
    }
    return this.startTransition(state, 'deleting', entry.taskNames.remove, this.timing.deleteDelayMs);
  }

  /** Setup: the selector's key in `status` now (made if missing), its timers restarted from now. */
  setStatus(entry: MailDomain, selector: string, status: DkimStatus): DkimState {
    const state = entry.dkim.get(selector) ?? this.makeKey(entry, selector, false, false);
    state.status = status;
    state.taskPendingId = 0;
    state.validSince = null;
    state.lastUpdate = this.timing.now();
    this.schedule(state, this.delayFor(status));
    this.trackWaiting(state);
    if (status === 'waitingRecord') this.observe(state);
    return state;
  }

  /** Setup: someone deleted the key (in the manager) and made it again: another key and another target, in `status`. */
  remake(entry: MailDomain, selector: string, status: DkimStatus): DkimState {
    const old = entry.dkim.get(selector);
    if (old) this.forget(old);
    entry.generations.set(selector, Math.max(1, entry.generations.get(selector) ?? 1));
    const saved = entry.newTargetOnRecreate;
    entry.newTargetOnRecreate = true;
    try {
      return this.setStatus(entry, selector, status);
    } finally {
      entry.newTargetOnRecreate = saved;
    }
  }

  /** Reads a status as OVH would answer it: the robot looks at the published record first. */
  read(state: DkimState): DkimState {
    this.settle();
    if (state.status === 'waitingRecord') this.promoteIfRecordValid(state);
    return state;
  }

  cnameIsValid(state: DkimState): boolean {
    if (state.status === 'todo') return false;
    return this.zones.cnameAt(state.customerRecord) === normalizeName(state.targetRecord);
  }

  /** One pass of OVH's robot over every selector waiting for its record. */
  runRobot(): void {
    this.settle();
    for (const state of [...this.waiting]) this.promoteIfRecordValid(state);
  }

  settle(): void {
    const now = this.timing.now();
    for (const state of [...this.timed]) {
      if (state.dueAt !== null && now >= state.dueAt) this.finishTransition(state);
    }
  }

  private finishTransition(state: DkimState): void {
    this.timed.delete(state);
    state.dueAt = null;
    state.taskPendingId = 0;
    state.lastUpdate = this.timing.now();
    if (state.status === 'todo') this.finishCreation(state);
    else if (state.status === 'enabling') state.status = 'inProduction';
    else if (state.status === 'disabling') state.status = 'ready';
    else if (state.status === 'deleting') this.forget(state);
    this.trackWaiting(state);
  }

  private finishCreation(state: DkimState): void {
    state.status = 'waitingRecord';
    if (state.configureDkim) this.zones.writeCnameAsOvh(state.customerRecord, state.targetRecord);
    this.observe(state);
  }

  private forget(state: DkimState): void {
    state.entry.dkim.delete(state.selectorName);
    this.keys.withdraw(state.targetRecord, state.key);
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

  private trackWaiting(state: DkimState): void {
    if (state.status === 'waitingRecord' && state.entry.dkim.get(state.selectorName) === state) this.waiting.add(state);
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
    if (status === 'todo') return this.timing.taskDelayMs;
    if (status === 'deleting') return this.timing.deleteDelayMs;
    if (status === 'enabling') return this.timing.enableDelayMs;
    if (status === 'disabling') return this.timing.disableDelayMs;
    return null;
  }

  private startTransition(state: DkimState, status: DkimStatus, taskFunction: string, delayMs: number): Task {
    const task = this.tasks.create(state.entry.taskOwner, state.domain, taskFunction, delayMs);
    state.status = status;
    state.taskPendingId = task.id;
    state.lastUpdate = this.timing.now();
    this.schedule(state, delayMs);
    this.trackWaiting(state);
    return task;
  }

  private makeKey(entry: MailDomain, selector: string, configureDkim: boolean, autoEnable: boolean): DkimState {
    const now = this.timing.now();
    const generation = entry.generations.get(selector) ?? 0;
    entry.generations.set(selector, generation + 1);
    const targetRecord = dkimTargetFor(selector, entry.domain, entry.newTargetOnRecreate ? generation : 0);
    const state: DkimState = {
      entry,
      selectorName: selector,
      domain: entry.domain,
      customerRecord: `${selector}._domainkey.${entry.domain}`,
      targetRecord,
      generation,
      status: 'todo',
      configureDkim,
      autoEnable,
      taskPendingId: 0,
      dueAt: null,
      validSince: null,
      createdAt: now,
      lastUpdate: now,
      key: { generation, served: () => state.status !== 'todo' },
    };
    entry.dkim.set(selector, state);
    this.keys.register(targetRecord, state.key);
    return state;
  }
}
