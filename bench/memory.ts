import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../src/store/index.ts';

export interface MemoryFigures {
  runs: number;
  activeRuns: number;
  rssMiB: number;
  heapMiB: number;
  startupMs: number;
  tickMs: number;
}

export interface RetentionFigures {
  events: number;
  /** RSS of the bot's core on the database, before the pass: the floor. */
  rssBeforeMiB: number;
  rssAfterMiB: number;
  pruned: { deliveredMessages: number; events: number; scanResults: number; runs: number };
  passMs: number;
  /** The longest the event loop was held during the pass (what Slack's acks would have waited at most). */
  maxLoopDelayMs: number;
}

/**
 * Fills a database with `runs` runs (one in `activeEvery` active) and their events and messages, as months of use
 * would; every row dated `at`.
 */
export function seedDatabase(path: string, runs: number, { activeEvery = 10, at = Date.now() } = {}): void {
  const store = Store.open(path);
  const now = at;
  store.transaction(() => {
    for (let i = 0; i < runs; i++) {
      const active = activeEvery > 0 && i % activeEvery === 0;
      const run = store.runs.insert(
        {
          kind: 'setup',
          domain: `seeded-${i}.fr`,
          state: active ? 'waiting_ready' : 'done',
          params: {},
          requestedBy: 'U0SEED',
          channelId: 'C0SEED',
          nextCheckAt: active ? now + 3_600_000 : null,
          deadlineAt: now + 48 * 3_600_000,
        },
        now,
      )!;
      const facts = {
        org: 'hosted-ab12345-1',
        service: 'hosted-ab12345-1',
        zone: `seeded-${i}.fr`,
        selectors: ['ovhex123456-selector1', 'ovhex123456-selector2'],
        records: {
          'ovhex123456-selector1': {
            name: `ovhex123456-selector1._domainkey.seeded-${i}.fr`,
            target: `ovhex123456-selector1._domainkey.seeded-${i}-fr.aa.dkim.mail.ovh.net`,
          },
        },
        lastObservation: 'OVH status waitingRecord at the last check.',
      };
      store.db.prepare('UPDATE runs SET facts = ? WHERE id = ?').run(JSON.stringify(facts), run.id);
      for (let e = 0; e < 20; e++)
        store.events.add(run.id, 'bot', 'ovh_call', { method: 'GET', path: '/x', status: 'ok' }, now);
      for (let m = 0; m < 8; m++) {
        store.outbox.add(run.id, { type: 'reply', text: `message ${m} of run ${i}` }, 'C0SEED', `${run.id}:${m}`, now);
      }
      store.db.prepare('UPDATE outbox SET sent_at = ? WHERE run_id = ?').run(now, run.id);
    }
  });
  store.close();
}

/** RSS of a fresh bot process (core + one poller cycle) over a database holding `runs` runs. */
export function benchMemory(runs = 10_000): MemoryFigures {
  const path = join(mkdtempSync(join(tmpdir(), 'dkim-bench-')), 'db.sqlite');
  seedDatabase(path, runs);
  const probe = fileURLToPath(new URL('./rss-probe.mjs', import.meta.url));
  const result = spawnSync(process.execPath, [probe, path], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`rss probe failed: ${result.stderr}`);
  return { runs, ...JSON.parse(result.stdout.trim().split('\n').at(-1)!) };
}

/**
 * A retention pass over `events` events (runs of 20 events and 8 delivered messages each, all finished two years ago),
 * in a fresh bot core: RSS before and after, how long the pass took and the longest it held the event loop.
 */
export function benchRetention(events = 100_000): RetentionFigures {
  const path = join(mkdtempSync(join(tmpdir(), 'dkim-bench-')), 'db.sqlite');
  seedDatabase(path, Math.ceil(events / 20), { activeEvery: 0, at: Date.now() - 2 * 365 * 86_400_000 });
  const probe = fileURLToPath(new URL('./retention-probe.mjs', import.meta.url));
  const result = spawnSync(process.execPath, [probe, path], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`retention probe failed: ${result.stderr}`);
  return { events, ...JSON.parse(result.stdout.trim().split('\n').at(-1)!) };
}
