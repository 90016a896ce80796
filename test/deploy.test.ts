import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { FakeClock } from '../src/clock.ts';
import { Metrics } from '../src/ops/metrics.ts';
import { Store } from '../src/store/index.ts';

/** What deploy/ gives an operator holds: the unit runs what `npm start` runs, backups work live, rules name real metrics. */

const deploy = (file: string) => fileURLToPath(new URL(`../deploy/${file}`, import.meta.url));

test('the systemd unit runs the bot as npm start does, with its data in its state folder and a clean stop', () => {
  const unit = readFileSync(deploy('dkim-bot.service'), 'utf8');
  const start = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts.start as string;
  const exec = /^ExecStart=\S*node (.+)$/m.exec(unit);
  assert.equal(`node ${exec?.[1]}`, start);
  assert.match(unit, /^StateDirectory=dkim-bot$/m);
  assert.match(unit, /^Environment=DATABASE_PATH=\/var\/lib\/dkim-bot\/dkim-bot\.sqlite$/m);
  assert.match(unit, /^KillSignal=SIGTERM$/m);
  const stopSeconds = Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1]);
  assert.ok(stopSeconds > 10, 'longer than the outbox drain of a clean stop');
});

test('deploy/backup.sh copies the database while the bot holds a write transaction: what was committed, whole and private', () => {
  const sqlite3 = spawnSync('sqlite3', ['-version']);
  assert.equal(sqlite3.status, 0, 'the sqlite3 command is needed (Debian: apt-get install sqlite3; .ci/run does it)');
  const dir = mkdtempSync(join(tmpdir(), 'dkim-backup-'));
  const path = join(dir, 'db.sqlite');
  const store = Store.open(path);
  const writer = store.db.prepare('INSERT INTO events (run_id, actor, type, detail, at) VALUES (NULL, ?, ?, ?, ?)');
  // A write transaction held open while the backup runs: the backup copies what was committed, and waits for nothing.
  for (let i = 0; i < 500; i++) writer.run('bot', 'before', '{}', i);
  store.db.exec('BEGIN IMMEDIATE');
  writer.run('bot', 'uncommitted', '{}', 0);
  const result = spawnSync(deploy('backup.sh'), [path, join(dir, 'backups')], { encoding: 'utf8' });
  store.db.exec('COMMIT');
  store.close();
  assert.equal(result.status, 0, result.stderr);
  const copy = result.stdout.trim();
  assert.equal(statSync(copy).mode & 0o077, 0, 'readable by its owner only');
  const db = new Database(copy, { readonly: true });
  const rows = db.prepare('SELECT type, COUNT(*) AS n FROM events GROUP BY type').all();
  db.close();
  assert.deepEqual(rows, [{ type: 'before', n: 500 }]);
});

test('the example Prometheus rules name only metrics that /metrics serves', async () => {
  const rules = readFileSync(deploy('prometheus-rules.yml'), 'utf8');
  const store = Store.open(':memory:');
  const served = new Set(
    (await new Metrics(store, new FakeClock()).text())
      .split('\n')
      .flatMap((line) => /^# TYPE (\S+)/.exec(line)?.[1] ?? []),
  );
  store.close();
  const named = [...new Set(rules.match(/\bdkim_[a-z_]+/g))];
  assert.ok(named.length >= 5);
  for (const name of named) assert.ok(served.has(name), `${name} is not served`);
});
