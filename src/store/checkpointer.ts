import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The worker's whole program: a connection of its own to the same file (opened at the first checkpoint, tried again
 * at the next if it could not be), a checkpoint per message, its failure answered, never thrown. A string, so that it
 * runs alike from the built files and from the sources under tsx (whose loader a worker does not inherit);
 * better-sqlite3 is the one the bot resolved.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
let db;
function connection() {
  if (!db) {
    db = new Database(workerData.path, { fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = NORMAL');
  }
  return db;
}
parentPort.on('message', (message) => {
  if (message === 'close') {
    if (db) db.close();
    parentPort.close();
    return;
  }
  try {
    connection().pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true });
  } catch (error) {
    parentPort.postMessage({ ok: false, error: error instanceof Error ? error.message : String(error) });
  }
});
`;
const SQLITE = createRequire(import.meta.url).resolve('better-sqlite3');

/**
 * Moves the write-ahead log into the database file (PASSIVE: it never waits for a reader or a writer) from a worker
 * thread, so that the event loop never waits for the disk's sync that ends a checkpoint: on the main thread, a
 * checkpoint that began as a burst of slash commands arrived held every ack behind it (tens of milliseconds on a busy
 * disk). The worker starts at the first checkpoint; one checkpoint runs at a time, a request meanwhile waits for it.
 */
export class Checkpointer {
  private worker: Worker | undefined;
  private running: Promise<void> = Promise.resolve();
  /** Why the worker failed, told by its `error` event just before its `exit`. */
  private failure: Error | undefined;
  private closed = false;

  constructor(private readonly path: string) {}

  /** Rejects once closed: the store's connection is gone, a worker must not open its file again. */
  checkpoint(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('WAL checkpoint: the store is closed'));
    const next = this.running.then(() => this.ask());
    this.running = next.catch(() => undefined);
    return next;
  }

  /** Stops the worker once the checkpoint under way, if any, has ended. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage('close');
    await exited;
  }

  private ask(): Promise<void> {
    this.worker ??= this.start();
    const worker = this.worker;
    // Held while a checkpoint is under way (a short-lived process waits for it), let go once it has answered.
    worker.ref();
    return new Promise((resolve, reject) => {
      const onExit = (code: number) => {
        worker.off('message', onMessage);
        const why = this.failure?.message ?? `exit code ${code}`;
        reject(new Error(`WAL checkpoint failed: its worker stopped (${why})`));
      };
      const onMessage = (answer: { ok: boolean; error?: string }) => {
        worker.off('exit', onExit);
        worker.unref();
        if (answer.ok) resolve();
        else reject(new Error(`WAL checkpoint failed: ${answer.error}`));
      };
      worker.once('message', onMessage);
      worker.once('exit', onExit);
      worker.postMessage('checkpoint');
    });
  }

  private start(): Worker {
    this.failure = undefined;
    // Plain JavaScript: no loader or flag of the parent's (tsx under the tests would cost the thread 40 MiB).
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { path: this.path, sqlite: SQLITE },
    });
    // An idle checkpointer never keeps the process alive; a worker that died is started again at the next checkpoint.
    worker.unref();
    // Listened to, so that a worker that throws (its file gone) never ends the process: its exit fails the checkpoint.
    worker.on('error', (error) => {
      this.failure = error;
    });
    worker.once('exit', () => {
      if (this.worker === worker) this.worker = undefined;
    });
    return worker;
  }
}
