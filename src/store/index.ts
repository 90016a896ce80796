import { ApprovalRepository } from './approvals.ts';
import { type Db, openDatabase } from './db.ts';
import { EventRepository } from './events.ts';
import { OutboxRepository } from './outbox.ts';
import { RunRepository } from './runs.ts';

export class Store {
  readonly runs: RunRepository;
  readonly approvals: ApprovalRepository;
  readonly events: EventRepository;
  readonly outbox: OutboxRepository;

  constructor(readonly db: Db) {
    this.runs = new RunRepository(db);
    this.approvals = new ApprovalRepository(db);
    this.events = new EventRepository(db);
    this.outbox = new OutboxRepository(db);
  }

  static open(path: string): Store {
    return new Store(openDatabase(path));
  }

  /** Runs `work` in one IMMEDIATE transaction: all of it is written, or none. */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  close(): void {
    this.db.close();
  }
}
