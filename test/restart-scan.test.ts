import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { spawnCli } from './cli-process.ts';
import { bigAccount } from './fleet-fixtures.ts';
import { testEnv } from './harness.ts';
import { OvhSim } from './sim/ovh.ts';

/** A scan killed (SIGKILL) in the middle goes on where it was: every domain checked, few read twice, one CSV. */

const DOMAINS = 30;
/** Domains checked per step (the scan's batch): at most one batch is read again after a kill. */
const BATCH = 10;

test('a scan killed in the middle finishes after a restart, reading again at most the batch it was on', async () => {
  const sim = await OvhSim.start();
  try {
    bigAccount(sim, DOMAINS);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...testEnv(sim),
      NODE_EXTRA_CA_CERTS: sim.caFile,
      LOG_LEVEL: 'error',
    };
    let child: ChildProcess | undefined;
    let lists = 0;
    let kills = 0;
    sim.onRequest = (request) => {
      if (!/\/domain\/[^/]+\/dkim$/.test(request.path) && !/^\/email\/domain\/[^/]+\/dkim$/.test(request.path)) return;
      lists++;
      if (lists === 15 && kills === 0) {
        kills++;
        child?.kill('SIGKILL');
        return 'hang';
      }
    };
    const cli = async (...args: string[]) => {
      child = spawnCli(args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      return new Promise<number | null>((resolve) => child!.on('exit', resolve));
    };
    await cli('scan', '--as', 'UREQUESTER');
    assert.equal(kills, 1, 'killed in the middle');
    for (let round = 0; round < 5 && scanState(env.DATABASE_PATH!) !== 'done'; round++) await cli('tick', '--all');

    assert.equal(scanState(env.DATABASE_PATH!), 'done');
    const db = new Database(env.DATABASE_PATH!, { readonly: true });
    try {
      const checked = db.prepare('SELECT COUNT(result) AS n, COUNT(*) AS total FROM scan_results').get() as {
        n: number;
        total: number;
      };
      assert.deepEqual(checked, { n: DOMAINS, total: DOMAINS });
      const ops = (db.prepare('SELECT op FROM outbox').all() as { op: string }[]).map((r) => r.op);
      assert.equal(ops.filter((op) => op === 'file').length, 1, 'one CSV');
      assert.equal(ops.filter((op) => op === 'parent').length, 1, 'one thread');
    } finally {
      db.close();
    }
    const reads = new Map<string, number>();
    for (const r of sim.requests) {
      const domain = /\/domain\/([^/]+)\/dkim$/.exec(r.path)?.[1];
      if (domain) reads.set(domain, (reads.get(domain) ?? 0) + 1);
    }
    assert.equal(reads.size, DOMAINS, 'every domain read');
    const twice = [...reads.values()].filter((n) => n > 1).length;
    assert.ok(twice <= BATCH, `${twice} domains read twice`);
    assert.ok([...reads.values()].every((n) => n <= 2));
  } finally {
    await sim.close();
  }
});

function scanState(path: string): string | undefined {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(`SELECT state FROM runs WHERE kind = 'scan' ORDER BY id DESC`).get() as { state: string })
      ?.state;
  } finally {
    db.close();
  }
}

test('npm run cli -- scan --json: the scan run to its end in the CLI, every result printed as JSON', async () => {
  const sim = await OvhSim.start();
  try {
    const { domains } = bigAccount(sim, 6);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...testEnv(sim),
      NODE_EXTRA_CA_CERTS: sim.caFile,
      LOG_LEVEL: 'error',
    };
    const child = spawnCli(['scan', '--json'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr);
    const results = JSON.parse(stdout) as { domain: string; dkim: string; next: string }[];
    assert.deepEqual(
      results.map((r) => r.domain),
      domains,
    );
    assert.ok(results.every((r) => r.dkim && r.next));
    assert.match(stderr, /scan #1: 6 domains: 2 signing · 2 ready, not signing · 2 no DKIM/);
  } finally {
    await sim.close();
  }
});
