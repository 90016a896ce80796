import { ApprovalRepository } from './approvals.ts';
import { BudgetRepository } from './budget.ts';
import { Checkpointer } from './checkpointer.ts';
import { type Db, openDatabase, type Transactional, transactional } from './db.ts';
import { DmarcRepository } from './dmarc.ts';
import { DmarcDomainRepository } from './dmarc-domains.ts';
import { EventRepository } from './events.ts';
import { GroupCommit } from './group-commit.ts';
import { OutboxRepository } from './outbox.ts';
import { ProcessRepository } from './processes.ts';
import { PruneRepository } from './pruning.ts';
import { RunRepository } from './runs.ts';
import { ScanRepository } from './scans.ts';
import { WatchRepository } from './watches.ts';

export class Store {
  readonly runs: RunRepository;
  readonly approvals: ApprovalRepository;
  readonly events: EventRepository;
  readonly outbox: OutboxRepository;
  readonly watches: WatchRepository;
  readonly scans: ScanRepository;
  readonly processes: ProcessRepository;
  readonly budget: BudgetRepository;
  readonly pruning: PruneRepository;
  readonly dmarc: DmarcRepository;
  readonly dmarcDomains: DmarcDomainRepository;
  private readonly groupCommit: GroupCommit;
  private readonly transactional: Transactional;
  /** Undefined for a database in memory: it has no write-ahead log. */
  private readonly checkpointer: Checkpointer | undefined;

  constructor(readonly db: Db) {
    this.checkpointer = db.memory ? undefined : new Checkpointer(db.name);
    this.transactional = transactional(db);
    this.groupCommit = new GroupCommit(db, this.transactional);
    this.runs = new RunRepository(db);
    this.approvals = new ApprovalRepository(db);
    this.events = new EventRepository(db);
    this.outbox = new OutboxRepository(db);
    this.watches = new WatchRepository(db);
    this.scans = new ScanRepository(db);
    this.processes = new ProcessRepository(db);
    this.budget = new BudgetRepository(db, this.transactional);
    this.pruning = new PruneRepository(db);
    this.dmarc = new DmarcRepository(db, this.transactional);
    this.dmarcDomains = new DmarcDomainRepository(db);
  }

  static open(path: string): Store {
    return new Store(openDatabase(path));
  }

  /** Runs `work` in one IMMEDIATE transaction: all of it is written, or none. */
  transaction<T>(work: () => T): T {
    return this.transactional.immediate(work);
  }

  /**
   * `work` in a transaction it may share with the writes queued in the same turn of the event loop (GroupCommit): for
   * the small writes many requests make at once, a burst of commands starting runs. Resolves once committed.
   */
  sharedTransaction<T>(work: () => T): Promise<T> {
    return this.groupCommit.run(work);
  }

  /**
   * A transaction that is on disk when it returns, whatever happens next (power loss included): for what stands
   * before a paid or irreversible action (an order about to be sent, an enable, a consumed approval). The database
   * otherwise runs WAL with synchronous=NORMAL, where the last commits before a power loss may be lost; syncing
   * this one also syncs every earlier commit in the log.
   */
  durableTransaction<T>(work: () => T): T {
    this.db.pragma('synchronous = FULL');
    try {
      return this.transaction(work);
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /**
   * Moves the write-ahead log into the database file without blocking anyone (PASSIVE): the poller's job. On a
   * thread of its own (Checkpointer): the disk's sync that ends it never holds the event loop.
   */
  checkpoint(): Promise<void> {
    return this.checkpointer?.checkpoint() ?? Promise.resolve();
  }

  close(): void {
    void this.checkpointer?.close();
    this.db.close();
  }
}
