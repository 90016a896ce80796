import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** A transaction (a savepoint inside one already open) around any work, from one function made once per database. */
export interface Transactional {
  /** BEGIN (deferred), or a savepoint. */
  <T>(work: () => T): T;
  /** BEGIN IMMEDIATE: the write lock from the start, so that a read-then-write is not overtaken. */
  immediate<T>(work: () => T): T;
}

/**
 * better-sqlite3's `db.transaction(fn)` builds four wrapper functions and their properties on every call: a few
 * microseconds and some garbage each time, on Slack's ack path among others. One wrapper that runs whatever it is
 * given is made here once, and used for every transaction.
 */
export function transactional(db: Db): Transactional {
  const wrapper = db.transaction((work: () => unknown) => work());
  const run = <T>(work: () => T) => wrapper(work) as T;
  return Object.assign(run, { immediate: <T>(work: () => T) => wrapper.immediate(work) as T });
}
/** What the repositories need of the database: statements. */
export type Statements = Pick<Db, 'prepare'>;

/** `prepare` that compiles each SQL text once: the store's statements are the same on every call. */
export function preparedOnce(db: Db): Statements {
  const cache = new Map<string, Database.Statement>();
  const prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
  return { prepare: prepare as Db['prepare'] };
}

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/**
 * Opens the database (creating its folder), sets WAL, a busy timeout, foreign keys and secure delete, and applies
 * migrations. A new file is created readable by its owner only (0600, its folder 0700): it holds who asked for what,
 * and orders' details until they are sent. SQLite gives its -wal and -shm files the same permissions.
 */
export function openDatabase(path: string, migrationsDir = MIGRATIONS_DIR): Db {
  if (path !== ':memory:') createPrivately(path);
  const db = new Database(path);
  // First: a second process opening the file at the same moment waits instead of failing.
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  // Commits are not synced one by one; what stands before a paid or irreversible action is (Store.durableTransaction).
  db.pragma('synchronous = NORMAL');
  // Deleted or replaced content (an order's private fields once sent) is overwritten, not left in free pages.
  db.pragma('secure_delete = ON');
  // No checkpoint inside a commit (a stall of a few ms every 1000 pages, on Slack's ack path): the poller runs them
  // (Store.checkpoint), and SQLite does one when the last connection closes.
  db.pragma('wal_autocheckpoint = 0');
  migrate(db, migrationsDir);
  return db;
}

function createPrivately(path: string): void {
  const folder = dirname(path);
  if (!existsSync(folder)) mkdirSync(folder, { recursive: true, mode: 0o700 });
  if (existsSync(path)) return;
  closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

/**
 * Applies the migrations newer than the database, all in one IMMEDIATE transaction that reads the version inside
 * it: two processes opening a new file at once serialise, and the second finds the work done.
 */
export function migrate(db: Db, dir: string): number {
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_.+\.sql$/.test(f))
    .sort();
  db.transaction(() => {
    const current = db.pragma('user_version', { simple: true }) as number;
    for (const file of files) {
      const version = Number(file.slice(0, 4));
      if (version <= current) continue;
      db.exec(readFileSync(join(dir, file), 'utf8'));
      db.pragma(`user_version = ${version}`);
    }
  }).immediate();
  return db.pragma('user_version', { simple: true }) as number;
}
