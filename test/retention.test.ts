import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isState, REQUESTER, startHarness } from './harness.ts';
import { setUp } from './lifecycle-fixtures.ts';

/**
 * RETENTION_DAYS: what only grows (the audit trail, delivered messages, scan results) is pruned by age, in small
 * batches, for runs finished long ago; a watched domain's run, an active run and undelivered messages stay.
 */

const DAY_MS = 86_400_000;
const NOTHING = { deliveredMessages: 0, events: 0, scanResults: 0, runs: 0, dmarcRecords: 0, dmarcReports: 0 };

test('a retention pass prunes old finished runs with their trail, results and delivered messages, in batches of 500; the watched and the active stay', async () => {
  const h = await startHarness({ env: { RETENTION_DAYS: '30' } });
  try {
    const { store } = h.core;
    await setUp(h, 'kept.fr');
    const watchedRun = store.watches.get('kept.fr')!.runId;

    const missing = (await h.ops.setup({ domain: 'missing.fr', user: REQUESTER, channel: 'C1' })).run!;
    assert.equal((await h.drive(isState('failed', 'needs_attention'), missing.id)).state, 'failed');
    for (let i = 0; i < 1_234; i++) store.events.add(missing.id, 'bot', 'noise', { i }, h.clock.now());

    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'other.fr', zone: true });
    const scan = (await h.ops.fleet.scan({ user: REQUESTER, channel: 'C1' })).run!;
    assert.equal((await h.drive(isState('done', 'failed'), scan.id)).state, 'done');
    const count = (sql: string, ...args: unknown[]) => (store.db.prepare(sql).get(...args) as { n: number }).n;
    assert.ok(count('SELECT COUNT(*) AS n FROM scan_results WHERE run_id = ?', scan.id) > 0);

    // Every message so far delivered; the active run's stay undelivered.
    for (const message of store.outbox.nextPerRun(h.clock.now(), 10_000)) {
      store.outbox.markSent(message.id, '1.0', h.clock.now());
    }
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'active.fr', zone: true });
    const active = (await h.ops.setup({ domain: 'active.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), active.id);
    const activePending = count('SELECT COUNT(*) AS n FROM outbox WHERE run_id = ? AND sent_at IS NULL', active.id);
    assert.ok(activePending > 0);

    const batches: number[] = [];
    const events = store.pruning.events.bind(store.pruning);
    store.pruning.events = (before, limit) => {
      const deleted = events(before, limit);
      batches.push(deleted);
      return deleted;
    };

    h.clock.advance(29 * DAY_MS);
    assert.deepEqual(await h.core.retention.pass(), NOTHING);

    h.clock.advance(2 * DAY_MS);
    const report = await h.core.retention.pass();
    assert.ok(report.events >= 1_234, `${report.events} events pruned`);
    assert.ok(Math.max(...batches) <= 500 && batches.length >= 3, `batches: ${batches.join(', ')}`);
    assert.equal(report.runs, 2, 'the failed run and the scan');
    assert.ok(report.scanResults > 0);
    assert.ok(report.deliveredMessages > 0);

    for (const id of [missing.id, scan.id]) {
      assert.equal(store.runs.get(id), undefined);
      assert.equal(count('SELECT COUNT(*) AS n FROM events WHERE run_id = ?', id), 0);
      assert.equal(count('SELECT COUNT(*) AS n FROM outbox WHERE run_id = ?', id), 0);
      assert.equal(count('SELECT COUNT(*) AS n FROM approvals WHERE run_id = ?', id), 0);
    }
    assert.equal(count('SELECT COUNT(*) AS n FROM scan_results'), 0);
    assert.equal(store.runs.get(watchedRun)?.state, 'done', 'a watched domain keeps its run');
    assert.ok(store.events.forRun(watchedRun).length > 0, '… and its audit trail');
    assert.equal(store.runs.get(active.id)?.state, 'awaiting_approval');
    assert.ok(store.events.forRun(active.id).length > 0, 'an active run keeps its trail');
    assert.equal(
      count('SELECT COUNT(*) AS n FROM outbox WHERE run_id = ? AND sent_at IS NULL', active.id),
      activePending,
      'undelivered messages stay',
    );
    assert.equal(count('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NOT NULL'), 0);

    assert.deepEqual(await h.core.retention.pass(), NOTHING);
  } finally {
    await h.close();
  }
});

test('a run started where nobody reads (the CLI, no channel) leaves no message waiting for delivery', async () => {
  const h = await startHarness();
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'cli.fr', zone: true });
    const run = (await h.ops.setup({ domain: 'cli.fr', user: REQUESTER, channel: null })).run!;
    await h.drive(isState('awaiting_approval'), run.id);
    const messages = h.core.store.outbox.forRun(run.id);
    assert.ok(messages.length > 0, 'what it said is kept, as the audit of what it would have said');
    assert.equal(h.core.store.outbox.pendingCount(), 0, 'no row without a destination waits');
    assert.equal(h.core.store.outbox.nextAttemptAt(), undefined);
  } finally {
    await h.close();
  }
});
