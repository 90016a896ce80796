import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../src/clock.ts';
import { parseConfig } from '../src/config/index.ts';
import { buildCore, type Core } from '../src/core.ts';
import { plainText } from '../src/domain/text.ts';
import { Boot } from '../src/engine/boot.ts';
import { createLogger } from '../src/log.ts';
import { Store } from '../src/store/index.ts';
import { type Harness, isState, REQUESTER, startHarness } from './harness.ts';
import { setUp } from './lifecycle-fixtures.ts';

/**
 * Several processes on one database (the bot and the CLI, two bots): leases belong to a boot, not to a hostname and a
 * PID; a watch's change is announced once; one OVH budget per credentials is shared by all of them.
 */

/** Another process on the harness's database: its own store, its own boot, the same clock. */
function otherProcess(h: Harness): Core {
  const config = parseConfig(h.env);
  const quiet = createLogger({ level: 'error', redact: (s) => s, write: () => {} });
  return buildCore(config, { clock: h.clock, env: h.env, log: quiet, store: Store.open(config.databasePath) });
}

/** A run due now, its lease held by `holder` (the process `holder` took it, then stopped answering). */
async function runLeasedBy(h: Harness, holder: Core): Promise<number> {
  h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'leased.fr', zone: true });
  const run = (await h.ops.setup({ domain: 'leased.fr', user: REQUESTER, channel: 'C1' })).run!;
  // Taken before the engine's first step (deferred to the next turn of the event loop) reaches it.
  // A lease longer than any silence below: only the holder's being gone can free it.
  const now = h.clock.now();
  assert.ok(h.core.store.runs.claim(run.id, holder.boot.id, now, now + 3_600_000));
  await h.core.engine.idle();
  assert.equal(h.core.store.runs.get(run.id)?.state, 'discovering', 'the holder has it');
  h.core.store.db.prepare('UPDATE runs SET next_check_at = ? WHERE id = ?').run(now, run.id);
  return run.id;
}

function setHolder(h: Harness, holder: Core, fields: { pid?: number; pidNs?: string; heartbeatAt?: number }): void {
  const row = h.core.store.processes.get(holder.boot.id)!;
  h.core.store.db
    .prepare('UPDATE processes SET pid = ?, pid_ns = ?, heartbeat_at = ? WHERE id = ?')
    .run(fields.pid ?? row.pid, fields.pidNs ?? row.pidNs, fields.heartbeatAt ?? row.heartbeatAt, holder.boot.id);
}

/** A PID that no process has on this machine. */
const DEAD_PID = 2 ** 22 + 17;

test('a lease belongs to its boot: a peer sharing the hostname in another PID namespace keeps it; a dead one here, or a silent one anywhere, loses it', async () => {
  const h = await startHarness();
  const holder = otherProcess(h);
  try {
    const runId = await runLeasedBy(h, holder);
    const owner = () => h.core.store.runs.leaseOwner(runId);
    const step = async () => {
      await h.core.engine.advance(runId);
      return owner();
    };

    assert.equal(await step(), holder.boot.id, 'a live process on this host keeps its lease');

    // A container with the same hostname: its PID means nothing here, even one that no process of ours has.
    setHolder(h, holder, { pid: DEAD_PID, pidNs: 'pid:[4026531999]' });
    assert.equal(await step(), holder.boot.id, 'a peer in another PID namespace is never taken for dead');
    assert.equal(h.core.store.runs.get(runId)?.state, 'discovering', 'and its run is not stepped');

    // The same PID namespace, and its PID is gone: killed. Taken over at once, without waiting for the lease.
    setHolder(h, holder, { pidNs: h.core.store.processes.get(h.core.boot.id)!.pidNs ?? '' });
    const run = await h.drive(isState('awaiting_approval', 'failed'), runId);
    assert.equal(run.state, 'awaiting_approval', run.lastError ?? '');
    assert.notEqual(owner(), holder.boot.id);
  } finally {
    holder.close();
    await h.close();
  }
});

test('a silent process loses its leases once its heartbeat is older than 90 s; its beat keeps them', async () => {
  const h = await startHarness();
  const holder = otherProcess(h);
  try {
    const runId = await runLeasedBy(h, holder);
    setHolder(h, holder, { pid: DEAD_PID, pidNs: 'pid:[4026531999]' });
    h.clock.advance(holder.boot.staleMs - 1_000);
    holder.boot.beat();
    await h.core.engine.advance(runId);
    assert.equal(h.core.store.runs.leaseOwner(runId), holder.boot.id, 'it beat: it lives');

    h.clock.advance(holder.boot.staleMs + 1_000);
    await h.core.engine.advance(runId);
    assert.equal(h.core.store.runs.get(runId)?.state !== 'discovering', true, 'taken over and stepped');
    assert.ok(h.logLines.some((line) => line.includes('taking over the lease of a process that is gone')));
  } finally {
    holder.close();
    await h.close();
  }
});

test('a process beats on a timer of its own, whatever its poll cycle does; leaving stops it and removes its row', async () => {
  const store = Store.open(':memory:');
  const clock = new FakeClock();
  const boot = new Boot(store, clock, 150);
  try {
    boot.register();
    clock.advance(60_000);
    const deadline = Date.now() + 5_000;
    while (store.processes.get(boot.id)?.heartbeatAt !== clock.now()) {
      assert.ok(Date.now() < deadline, 'no beat came');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    boot.leave();
    assert.equal(store.processes.get(boot.id), undefined);
  } finally {
    store.close();
  }
});

test('two processes checking the watch at the same moment: a break is announced once, its repair once, a reminder once', async () => {
  const h = await startHarness({ env: { ROTATION_REMINDER_DAYS: '180' } });
  const other = otherProcess(h);
  try {
    const [selector] = (await setUp(h, 'twice.fr')).selectors;
    const runId = h.core.store.watches.get('twice.fr')!.runId;
    const watchReplies = () =>
      h.core.store.outbox
        .forRun(runId)
        .map((m) => m.notice)
        .filter((n) => n.type === 'reply' && /DKIM check|days old/.test(plainText(n.text)));
    const both = () => Promise.all([h.core.watcher.checkAll(), other.watcher.checkAll()]);

    const record = h.sim.zoneRecords('twice.fr').find((r) => r.subDomain === `${selector}._domainkey`)!;
    h.sim.deleteZoneRecord('twice.fr', record.id);
    const [a, b] = await both();
    assert.equal(a.broken + b.broken, 1, 'one of the two says it');
    assert.equal(watchReplies().length, 1);

    h.sim.addZoneRecord('twice.fr', {
      fieldType: 'CNAME',
      subDomain: record.subDomain,
      target: record.target,
      ttl: 60,
    });
    const [c, d] = await both();
    assert.equal(c.repaired + d.repaired, 1);

    h.clock.advance(181 * 86_400_000);
    const [e, f] = await both();
    assert.equal(e.reminded + f.reminded, 1);
    assert.equal(watchReplies().length, 3, 'break, repair, reminder: each once');
  } finally {
    other.close();
    await h.close();
  }
});

test('the bot and the CLI on one database, with the same OVH credentials, draw on one budget', async () => {
  const h = await startHarness({ env: { OVH_RATE_LIMIT_PER_MIN: '20' } });
  const cli = otherProcess(h);
  try {
    const grants: number[] = [];
    const call = async (core: Core) => {
      const release = await core.limiter.acquire();
      grants.push(h.clock.now());
      release();
    };
    // Both ask at once; the fake clock moves only when every caller waits.
    const calls = Array.from({ length: 50 }, (_, i) => call(i % 2 ? h.core : cli));
    await Promise.all(calls);
    const perWindow = grants.map((at) => grants.filter((t) => t >= at && t < at + 60_000).length);
    assert.ok(Math.max(...perWindow) <= 20, `${Math.max(...perWindow)} grants in one minute, for a limit of 20`);
    assert.ok(Math.max(...grants) - Math.min(...grants) >= 2 * 60_000, 'fifty grants at twenty a minute take two');
  } finally {
    cli.close();
    await h.close();
  }
});
