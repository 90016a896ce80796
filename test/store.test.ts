import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { migrate } from '../src/store/db.ts';
import { Store } from '../src/store/index.ts';

function freshStore(): Store {
  return Store.open(join(mkdtempSync(join(tmpdir(), 'dkim-store-')), 'nested', 'db.sqlite'));
}

const newRun = {
  kind: 'setup' as const,
  domain: 'example.fr',
  state: 'discovering' as const,
  params: {},
  requestedBy: 'U1',
  channelId: 'C1',
  nextCheckAt: 0,
  deadlineAt: null,
};

test('migrations set WAL, foreign keys and the schema version, and create the folder', () => {
  const store = freshStore();
  assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(store.db.pragma('foreign_keys', { simple: true }), 1);
  assert.ok((store.db.pragma('user_version', { simple: true }) as number) >= 1);
  assert.ok((store.db.pragma('busy_timeout', { simple: true }) as number) >= 1000);
});

test('one active run per kind and domain; a finished one does not block', () => {
  const store = freshStore();
  const first = store.runs.insert(newRun, 1);
  assert.ok(first);
  assert.equal(store.runs.insert(newRun, 2), undefined);
  assert.ok(store.runs.insert({ ...newRun, kind: 'vtex' }, 3));
  const base = { facts: {}, nextCheckAt: null, deadlineAt: null, lastError: null, waitStreak: 0 };
  assert.ok(store.runs.update(first.id, first.version, { ...base, state: 'done' }, 4));
  assert.ok(store.runs.insert(newRun, 5));
});

test('migration 5: a stored `exchange` run becomes `setup`; an `expired` run no longer blocks its domain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dkim-store-'));
  const migrations = join(dir, 'migrations');
  const db = new Database(join(dir, 'db.sqlite'));
  const all = new URL('../migrations/', import.meta.url);
  mkdirSync(migrations);
  for (const file of readdirSync(all).filter((f) => f < '0005'))
    copyFileSync(new URL(file, all), join(migrations, file));
  assert.equal(migrate(db, migrations), 4);
  db.prepare(
    `INSERT INTO runs (kind, domain, state, requested_by, created_at, updated_at) VALUES ('exchange', 'old.fr', 'done', 'U1', 1, 1)`,
  ).run();
  db.close();
  const store = Store.open(join(dir, 'db.sqlite'));
  assert.equal(store.runs.latestForDomain('old.fr')?.kind, 'setup');
  const first = store.runs.insert({ ...newRun, domain: 'old.fr' }, 2)!;
  const base = { facts: {}, nextCheckAt: null, deadlineAt: null, lastError: null, waitStreak: 0 };
  assert.ok(store.runs.update(first.id, first.version, { ...base, state: 'expired' }, 3));
  assert.ok(store.runs.insert({ ...newRun, domain: 'old.fr' }, 4), 'an expired run is finished');
  store.close();
});

test('a run update is a compare-and-set on its version', () => {
  const store = freshStore();
  const run = store.runs.insert(newRun, 1)!;
  const change = {
    state: 'creating_keys' as const,
    facts: {},
    nextCheckAt: 1,
    deadlineAt: null,
    lastError: null,
    waitStreak: 0,
  };
  assert.equal(store.runs.update(run.id, run.version, change, 2), true);
  assert.equal(store.runs.update(run.id, run.version, change, 3), false);
});

test('an approval is consumed exactly once and not after it expires', () => {
  const store = freshStore();
  const run = store.runs.insert(newRun, 1)!;
  const input = { runId: run.id, action: 'enable', snapshot: { selector: 's1' }, requestedBy: 'U1', expiresAt: 100 };
  const approval = store.approvals.create(input, 1);
  assert.equal(store.approvals.decide(approval.id, 'approved', 'U2', 10), true);
  assert.equal(store.approvals.decide(approval.id, 'approved', 'U3', 11), false);
  assert.equal(store.approvals.decide(approval.id, 'rejected', 'U3', 11), false);
  const late = store.approvals.create(input, 1);
  assert.equal(store.approvals.decide(late.id, 'approved', 'U2', 100), false);
  assert.equal(store.approvals.get(approval.id)?.decidedBy, 'U2');
});

test('outbox: a dedupe key writes once; delivery order is per run, oldest first', () => {
  const store = freshStore();
  const a = store.runs.insert(newRun, 1)!;
  const b = store.runs.insert({ ...newRun, domain: 'other.fr' }, 1)!;
  const reply = (text: string) => ({ type: 'reply' as const, text });
  store.outbox.add(a.id, reply('a1'), 'C1', 'k1', 1);
  store.outbox.add(a.id, reply('a1 again'), 'C1', 'k1', 1);
  store.outbox.add(a.id, reply('a2'), 'C1', 'k2', 1);
  store.outbox.add(b.id, reply('b1'), 'C1', 'k3', 1);
  store.outbox.add(b.id, reply('local only'), null, 'k4', 1);
  const heads = store.outbox.nextPerRun(10, 10);
  assert.deepEqual(
    heads.map((m) => (m.notice.type === 'reply' ? m.notice.text : '')),
    ['a1', 'b1'],
  );
  store.outbox.markSent(heads[0]!.id, '1.1', 2);
  assert.deepEqual(
    store.outbox.nextPerRun(10, 10).map((m) => (m.notice.type === 'reply' ? m.notice.text : '')),
    ['a2', 'b1'],
  );
});

test('shared transactions: writes queued in one turn commit together, each in a savepoint of its own', async () => {
  const store = freshStore();
  // The write-ahead log's frames since it was emptied: one per page per commit.
  const emptyLog = () => store.db.pragma('wal_checkpoint(TRUNCATE)');
  const loggedFrames = () => (store.db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!.log;
  // Apart: one commit each, each writing the page the run lands on and each index it changes.
  emptyLog();
  for (const domain of ['a.fr', 'b.fr', 'c.fr']) {
    await store.sharedTransaction(() => store.runs.insert({ ...newRun, domain }, 1));
  }
  const apart = loggedFrames();
  // Together: the same writes, one commit.
  emptyLog();
  const together = await Promise.allSettled([
    store.sharedTransaction(() => store.runs.insert({ ...newRun, domain: 'd.fr' }, 1)),
    store.sharedTransaction(() => {
      store.runs.insert({ ...newRun, domain: 'e.fr' }, 1);
      throw new Error('refused halfway');
    }),
    store.sharedTransaction(() => store.runs.insert({ ...newRun, domain: 'f.fr' }, 1)),
  ]);
  const together_ = loggedFrames();
  assert.ok(together_ > 0 && together_ * 2 < apart, `one commit (${together_} frames) against three (${apart})`);
  assert.deepEqual(
    together.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.equal((together[1] as PromiseRejectedResult).reason.message, 'refused halfway');
  const domains = (store.db.prepare('SELECT domain FROM runs ORDER BY id').all() as { domain: string }[]).map(
    (r) => r.domain,
  );
  // The one that threw is undone alone, its insert included; the others are written.
  assert.deepEqual(domains, ['a.fr', 'b.fr', 'c.fr', 'd.fr', 'f.fr']);
});

test('shared transactions: a commit that fails fails every write queued with it, and writes nothing', async () => {
  const store = freshStore();
  const other = new Database(store.db.name);
  other.pragma('busy_timeout = 0');
  store.db.pragma('busy_timeout = 0');
  other.prepare('BEGIN IMMEDIATE').run();
  const results = await Promise.allSettled([
    store.sharedTransaction(() => store.runs.insert({ ...newRun, domain: 'a.fr' }, 1)),
    store.sharedTransaction(() => store.runs.insert({ ...newRun, domain: 'b.fr' }, 1)),
  ]);
  other.prepare('ROLLBACK').run();
  other.close();
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  assert.match(String((results[0] as PromiseRejectedResult).reason), /locked|busy/i);
  assert.equal((store.db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 0);
});

test('the WAL checkpoint (on its own thread) moves the log into the database file', async () => {
  const store = freshStore();
  await store.checkpoint();
  store.runs.insert(newRun, 1);
  // The main file alone, copied before the checkpoint: the run is only in the log.
  const dir = mkdtempSync(join(tmpdir(), 'dkim-checkpoint-'));
  const fileAlone = (name: string) => {
    copyFileSync(store.db.name, join(dir, name));
    const copy = new Database(join(dir, name), { readonly: true });
    const runs = (copy.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n;
    copy.close();
    return runs;
  };
  assert.equal(fileAlone('before.sqlite'), 0);
  await store.checkpoint();
  assert.equal(fileAlone('after.sqlite'), 1);
  // Again, and at once twice: one after the other on the same worker.
  store.runs.insert({ ...newRun, domain: 'b.fr' }, 2);
  await Promise.all([store.checkpoint(), store.checkpoint()]);
  assert.equal(fileAlone('again.sqlite'), 2);
  store.close();
  // A database in memory has no log: nothing to do.
  const memory = Store.open(':memory:');
  await memory.checkpoint();
  memory.close();
});

test('a checkpoint that cannot be made fails with the reason, and the process goes on', async () => {
  const store = freshStore();
  // The file gone (the open connection keeps its inode): the worker cannot open it.
  rmSync(store.db.name);
  await assert.rejects(store.checkpoint(), /WAL checkpoint failed: unable to open/i);
  // Still usable, and the next checkpoint tries again (and fails alike).
  assert.ok(store.runs.insert(newRun, 1));
  await assert.rejects(store.checkpoint(), /WAL checkpoint failed/);
  store.close();
});

test('shared transactions: a failure that rolls back the whole transaction (a full disk) fails every write of the batch, and writes none', async () => {
  const store = freshStore();
  const pages = store.db.pragma('page_count', { simple: true }) as number;
  store.db.pragma(`max_page_count = ${pages}`);
  const results = await Promise.allSettled([
    store.sharedTransaction(() => store.runs.insert({ ...newRun, domain: 'a.fr' }, 1)),
    store.sharedTransaction(() =>
      store.runs.insert({ ...newRun, domain: 'b.fr', params: { big: 'x'.repeat(100_000) } }, 1),
    ),
    store.sharedTransaction(() => store.runs.insert({ ...newRun, domain: 'c.fr' }, 1)),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected', 'rejected'],
  );
  assert.match(String((results[1] as PromiseRejectedResult).reason), /full/i);
  assert.equal((store.db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 0);
  assert.equal(store.db.inTransaction, false);
});

test('no checkpoint once the store is closed: no worker opens its file again', async () => {
  const store = freshStore();
  await store.checkpoint();
  store.close();
  await assert.rejects(store.checkpoint(), /the store is closed/);
});
