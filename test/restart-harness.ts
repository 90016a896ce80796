import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import type { Notice } from '../src/domain/notices.ts';
import { plainText } from '../src/domain/text.ts';
import { spawnCli } from './cli-process.ts';
import { APPROVER, REQUESTER, testEnv } from './harness.ts';
import { OvhSim, type SimRequestInfo } from './sim/ovh.ts';
import { VtexSim } from './sim/vtex.ts';

/**
 * The bot killed (SIGKILL, not a clean shutdown) at every step boundary: right before each OVH call that follows a
 * side effect, and right after each side effect took effect at OVH but before its answer arrived. Started again on
 * the same database, it must complete with no duplicate record, no second enable and no lost message.
 */

export const DOMAIN = 'restart.fr';
export const SENDER = 'no-reply@restart.fr';
const MUTATING = new Set(['POST', 'PUT', 'DELETE']);

export interface KillPoint {
  at: number;
  when: 'before' | 'after';
}

export interface Outcome {
  state: string;
  kills: number;
  records: number;
  /** The zone's TXT records (`subDomain target`): SPF and DMARC, once each. */
  txt: string[];
  enables: number;
  deletes: number;
  disables: number;
  notices: Notice[];
  requests: SimRequestInfo[];
}

/** `mxplan`: OVH writes the records; `mxplan-asks`: OVH asks for them, the bot writes them and enables again. */
export type Flow = 'exchange' | 'vtex' | 'pro' | 'mxplan' | 'mxplan-asks' | 'rotate' | 'disable' | 'dmarc';

export async function runWithKill(kill: KillPoint | undefined, flow: Flow = 'exchange'): Promise<Outcome> {
  const sim = await OvhSim.start();
  const vtex = await VtexSim.start();
  const changesASetUpDomain = flow === 'rotate' || flow === 'disable' || flow === 'dmarc';
  if (flow === 'exchange' || changesASetUpDomain)
    sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: DOMAIN, zone: true });
  else if (flow === 'pro') sim.addEmailProDomain({ service: 'emailpro-zz1-1', domain: DOMAIN, zone: true });
  else if (flow === 'mxplan') sim.addMxPlanDomain({ domain: DOMAIN, zone: true });
  else if (flow === 'mxplan-asks') sim.addMxPlanDomain({ domain: DOMAIN, zone: true, ovhWritesRecords: false });
  else sim.addZone(DOMAIN);
  vtex.script(SENDER, ['created']);
  sim.setExternalRecord('mx.ovh.com', 'TXT', 'v=spf1 ip4:188.165.0.0/16 ~all');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...testEnv(sim),
    VTEX_ACCOUNT: 'simstore',
    VTEX_BASE_URL: vtex.baseUrl,
    VTEX_APP_KEY: vtex.appKey,
    VTEX_APP_TOKEN: vtex.appToken,
    NODE_EXTRA_CA_CERTS: sim.caFile,
    LOG_LEVEL: 'error',
    ROTATION_GRACE_HOURS: '0',
    // The CLI processes share one OVH budget through the database: rounds in quick succession must not wait on it.
    OVH_RATE_LIMIT_PER_MIN: '6000',
    DMARC_RUA: 'dmarc-reports@reports.example.net',
  };
  let child: ChildProcess | undefined;
  let seen = 0;
  let kills = 0;
  let enables = 0;
  let deletes = 0;
  let disables = 0;
  const requests: SimRequestInfo[] = [];
  const killNow = () => {
    kills++;
    child?.kill('SIGKILL');
    return 'hang' as const;
  };
  let counting = !changesASetUpDomain;
  sim.onRequest = (request) => {
    if (!counting) return;
    requests.push(request);
    seen++;
    if (kill?.when === 'before' && seen === kill.at && kills === 0) return killNow();
  };
  sim.afterEffect = (request) => {
    if (!counting) return;
    if (request.path.endsWith('/enable')) enables++;
    if (request.method === 'DELETE') deletes++;
    if (request.path.endsWith('/disable')) disables++;
    if (kill?.when === 'after' && seen === kill.at && kills === 0) killNow();
  };
  /** CLI rounds (start, approve, tick) until the run `start` began is finished. */
  const complete = async (start: string[], since: number) => {
    for (let round = 0; round < 14; round++) {
      const latest = readRun(env.DATABASE_PATH!);
      const run = latest && latest.id > since ? latest : undefined;
      if (run?.state === 'done' || run?.state === 'failed') break;
      const args = !run
        ? [...start, '--as', REQUESTER]
        : run.state === 'awaiting_approval' && run.pendingApproval
          ? ['approve', String(run.id), '--as', APPROVER]
          : ['tick', '--all'];
      child = spawnCli(args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      await new Promise((resolve) => child!.on('exit', resolve));
    }
  };
  try {
    if (!counting) {
      // A domain set up first (not killed), then the change under test.
      await complete(['setup', DOMAIN], 0);
      counting = true;
      await complete([flow, DOMAIN], readRun(env.DATABASE_PATH!)?.id ?? 0);
    } else {
      await complete(flow === 'vtex' ? ['vtex', DOMAIN, SENDER] : ['setup', DOMAIN], 0);
    }
    const db = new Database(env.DATABASE_PATH!, { readonly: true });
    const notices = (db.prepare('SELECT payload FROM outbox ORDER BY id').all() as { payload: string }[]).map(
      (r) => JSON.parse(r.payload) as Notice,
    );
    db.close();
    return {
      state: readRun(env.DATABASE_PATH!)?.state ?? 'none',
      kills,
      records: sim.zoneRecords(DOMAIN).filter((r) => r.fieldType === 'CNAME').length,
      txt: sim
        .zoneRecords(DOMAIN)
        .filter((r) => r.fieldType === 'TXT')
        .map((r) => `${r.subDomain} ${r.target}`),
      enables,
      deletes,
      disables,
      notices,
      requests,
    };
  } finally {
    await sim.close();
    await vtex.close();
  }
}

export function readRun(path: string): { id: number; state: string; pendingApproval: boolean } | undefined {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch {
    return undefined;
  }
  try {
    const run = db.prepare('SELECT id, state FROM runs ORDER BY id DESC LIMIT 1').get() as
      | { id: number; state: string }
      | undefined;
    if (!run) return undefined;
    const pending = db.prepare(`SELECT 1 FROM approvals WHERE run_id = ? AND status = 'pending'`).get(run.id);
    return { ...run, pendingApproval: pending !== undefined };
  } finally {
    db.close();
  }
}

/** Before every call that follows a side effect (a step boundary), and after every side effect. */
export function killPoints(requests: SimRequestInfo[]): KillPoint[] {
  const points: KillPoint[] = [];
  requests.forEach((request, i) => {
    const at = i + 1;
    if (MUTATING.has(request.method)) points.push({ at, when: 'before' }, { at, when: 'after' });
    else if (i > 0 && MUTATING.has(requests[i - 1]!.method)) points.push({ at, when: 'before' });
  });
  return points;
}

/** Messages compared by their opening words: after a crash a step may honestly word its news differently. */
/**
 * The replies' opening words, as the thread finally shows them: a reply about a step already said (its key) edits
 * that message, so only the last of each key counts.
 */
export const texts = (notices: Notice[]) =>
  notices.flatMap((n, i) => {
    if (n.type !== 'reply') return [];
    const later = n.key && notices.slice(i + 1).some((o) => o.type === 'reply' && o.key === n.key);
    return later ? [] : [plainText(n.text).slice(0, 24)];
  });

/** Killed at every step boundary of a setup flow: it completes as the reference did, with nothing done twice. */
export async function sweep(flow: Flow) {
  const clean = await runWithKill(undefined, flow);
  assert.equal(clean.state, 'done', `${flow}: the reference run completes`);
  assert.equal(clean.records, 2);
  const expected = texts(clean.notices);
  const points = killPoints(clean.requests);
  assert.ok(points.length >= 3, `${flow}: ${points.length} kill points`);
  for (const point of points) {
    const outcome = await runWithKill(point, flow);
    const request = clean.requests[point.at - 1]!;
    const label = `${flow}: killed ${point.when} request #${point.at} (${request.method} ${request.path})`;
    assert.equal(outcome.kills, 1, `${label}: the kill happened`);
    assert.equal(outcome.state, 'done', label);
    assert.equal(outcome.records, 2, `${label}: one record per selector`);
    assert.deepEqual(outcome.txt.sort(), clean.txt.sort(), `${label}: each TXT record written once`);
    assert.equal(outcome.enables, clean.enables, `${label}: no enable repeated`);
    assert.equal(outcome.deletes, clean.deletes, `${label}: no delete repeated`);
    assert.equal(outcome.disables, clean.disables, `${label}: no disable repeated`);
    const parents = (notices: Notice[]) => notices.filter((n) => n.type === 'parent').length;
    assert.equal(parents(outcome.notices), parents(clean.notices), `${label}: one parent message per run`);
    const got = texts(outcome.notices);
    for (const text of expected) {
      if (text.startsWith('Trouble talking')) continue;
      assert.ok(got.includes(text), `${label}: lost message "${text}"`);
    }
  }
}
