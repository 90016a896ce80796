import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { on } from 'node:events';
import { mkdtempSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { FakeClock } from '../src/clock.ts';
import { parseConfig } from '../src/config/index.ts';
import { silentLogger } from '../src/log.ts';
import { startBot } from '../src/slack/app.ts';
import { migrate } from '../src/store/db.ts';
import { APPROVER, isState, seeded, testEnv } from './harness.ts';
import { OvhSim } from './sim/ovh.ts';
import { FakeSlack } from './sim/slack.ts';
import { trustInProcess } from './sim/tls.ts';
import { latestRun, startSlackHarness } from './slack-harness.ts';

const require = createRequire(import.meta.url);

/** Nothing crashes the process: a busy or full database during a step and a drain; two bots on one database. */

test('the database busy, then full, during a step and a drain: the process keeps serving and the run completes', async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  const h = await startSlackHarness();
  try {
    const { store } = h.bot.core;
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'busy.fr', zone: true });
    assert.match((await h.command('setup busy.fr')).json?.text ?? '', /Started/);
    const runId = latestRun(h).id;

    // Busy: another connection (the CLI, say) holds the write lock longer than the bot waits.
    store.db.pragma('busy_timeout = 20');
    const other = new Database(h.env.DATABASE_PATH!);
    other.exec('BEGIN EXCLUSIVE');
    await h.bot.poller.cycle();
    await h.bot.core.engine.idle();
    await h.bot.notifier.drain();
    const health = await fetch(`http://127.0.0.1:${h.bot.port}/healthz`);
    assert.ok(health.status === 200 || health.status === 503, 'the health check still answers');
    other.exec('ROLLBACK');
    other.close();

    // Full: the file may not grow any more.
    const pages = store.db.pragma('page_count', { simple: true }) as number;
    store.db.pragma(`max_page_count = ${pages}`);
    h.clock.advance(60_000);
    await h.bot.poller.cycle();
    await h.bot.core.engine.idle();
    await h.bot.notifier.drain();
    assert.equal((await h.command('help')).status, 200, 'commands are still answered');
    store.db.pragma('max_page_count = 1073741823');
    store.db.pragma('busy_timeout = 5000');

    const ready = await h.drive(isState('awaiting_approval', 'failed'), runId);
    assert.equal(ready.state, 'awaiting_approval', ready.lastError ?? '');
    assert.ok(
      h.logLines.some((line) => /SQLITE_BUSY|database is locked|SQLITE_FULL|database or disk is full/.test(line)),
    );
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await h.close();
  }
});

test('two bots on one database: every message is posted once, every run stepped by one', async () => {
  const clock = new FakeClock();
  const sim = await OvhSim.start({ clock });
  trustInProcess(sim.certPem);
  const slack = await FakeSlack.start({ botToken: 'xoxb-test-bot-token-0001' });
  const env = testEnv(sim, { SLACK_API_URL: slack.apiUrl, PORT: '0' });
  const boot = () => startBot(parseConfig(env), { clock, env, log: silentLogger, poll: false, random: seeded(3) });
  const [a, b] = await Promise.all([boot(), boot()]);
  try {
    const domains = ['one.fr', 'two.fr', 'three.fr', 'four.fr'];
    for (const domain of domains) sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
    for (const [i, domain] of domains.entries()) {
      const ops = (i % 2 === 0 ? a : b).core;
      const { Operations } = await import('../src/operations/index.ts');
      assert.ok((await new Operations(ops).setup({ domain, user: 'UREQ', channel: 'C1' })).ok);
    }
    for (let round = 0; round < 200; round++) {
      await Promise.all([a.core.engine.tick(), b.core.engine.tick(), a.notifier.drain(), b.notifier.drain()]);
      await Promise.all([a.core.engine.idle(), b.core.engine.idle()]);
      for (const approval of a.core.store.db.prepare(`SELECT id FROM approvals WHERE status = 'pending'`).all() as {
        id: number;
      }[]) {
        // Both bots see the click: it is decided once.
        await Promise.all([
          a.core.engine.approvals.decide(approval.id, APPROVER, 'approved'),
          b.core.engine.approvals.decide(approval.id, APPROVER, 'approved'),
        ]);
      }
      const runs = a.core.store.runs.listFinished(10).filter((r) => r.state === 'done');
      if (runs.length === domains.length && a.core.store.outbox.pendingCount() === 0) break;
      const due = [a.core.store.runs.nextDueAt(), a.core.store.outbox.nextAttemptAt()].filter((t) => t !== undefined);
      if (due.length > 0) clock.set(Math.min(...due));
    }
    assert.equal(a.core.store.runs.listFinished(10).filter((r) => r.state === 'done').length, domains.length);
    assert.equal(sim.count('POST', /\/enable$/), domains.length, 'one enable per domain');
    const posted = slack.callsOf('chat.postMessage').map((c) => JSON.stringify(c.args));
    assert.equal(new Set(posted).size, posted.length, 'no message posted twice');
    assert.equal(slack.messages('C1').length, domains.length, 'one parent per run');
    const outbox = a.core.store.db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NOT NULL').get() as {
      n: number;
    };
    const replies = slack.allMessages().filter((m) => m.thread_ts !== undefined).length;
    const edits = slack.callsOf('chat.update').length;
    assert.ok(
      outbox.n >= replies + domains.length,
      `${outbox.n} sent ≥ ${replies} replies + parents (+${edits} edits)`,
    );
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await slack.close();
    await sim.close();
  }
});

test('two processes migrating a new database at the same moment: both start, the schema is applied once', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'dkim-bot-migrate-')), 'db.sqlite');
  const store = fileURLToPath(new URL('../src/store/index.ts', import.meta.url));
  const script = `import { Store } from ${JSON.stringify(store)}; const s = Store.open(process.argv[1]); console.log(s.db.pragma('user_version', { simple: true })); s.close();`;
  const open = () =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, path]);
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk) => (out += chunk));
      child.stderr.on('data', (chunk) => (err += chunk));
      child.on('exit', (code) => resolve({ code, out, err }));
    });
  const results = await Promise.all([open(), open(), open()]);
  for (const result of results) assert.equal(result.code, 0, result.err);
  const versions = new Set(results.map((r) => r.out.trim()));
  assert.equal(versions.size, 1, 'every process sees the same version');
  const db = new Database(path, { readonly: true });
  const tables = db.prepare(`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'runs'`).get() as {
    n: number;
  };
  db.close();
  assert.equal(tables.n, 1);
});

test('a migration waits for another process migrating the same file, then finds the work done', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'dkim-bot-migrate-')), 'db.sqlite');
  const migrations = fileURLToPath(new URL('../migrations/', import.meta.url));
  // The other process: it holds the write lock, and applies every migration only once this one is waiting for it.
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const { readdirSync, readFileSync } = require('node:fs');
    const Database = require(workerData.sqlite);
    const db = new Database(workerData.path);
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN IMMEDIATE');
    parentPort.postMessage('locked');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    for (const file of readdirSync(workerData.migrations).filter((f) => /^\\d{4}_/.test(f)).sort()) {
      db.exec(readFileSync(workerData.migrations + file, 'utf8'));
      db.pragma('user_version = ' + Number(file.slice(0, 4)));
    }
    db.exec('COMMIT');
    db.close();
    parentPort.postMessage('done');
    `,
    { eval: true, workerData: { path, migrations, sqlite: require.resolve('better-sqlite3') } },
  );
  const messages = on(worker, 'message');
  assert.equal((await messages.next()).value[0], 'locked');
  const db = new Database(path);
  db.pragma('busy_timeout = 10000');
  assert.doesNotThrow(() => migrate(db, migrations), 'the version is read again once the lock is ours');
  assert.equal(db.pragma('user_version', { simple: true }), readdirSync(migrations).length);
  db.close();
  assert.equal((await messages.next()).value[0], 'done');
  await worker.terminate();
});
