import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Notice } from '../src/domain/notices.ts';
import { APPROVER, REQUESTER, testEnv } from './harness.ts';
import { OvhSim, type SimRequestInfo } from './sim/ovh.ts';
import { SmtpSim } from './sim/smtp.ts';
import { VtexSim } from './sim/vtex.ts';

/**
 * The bot killed (SIGKILL, not a clean shutdown) at every step boundary: right before each OVH call that follows a
 * side effect, and right after each side effect took effect at OVH but before its answer arrived. Started again on
 * the same database, it must complete with no duplicate record, no second enable and no lost message.
 */

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const DOMAIN = 'restart.fr';
const SENDER = 'no-reply@restart.fr';
const MUTATING = new Set(['POST', 'PUT', 'DELETE']);

interface KillPoint {
  at: number;
  when: 'before' | 'after';
}

interface Outcome {
  state: string;
  kills: number;
  records: number;
  enables: number;
  notices: Notice[];
  requests: SimRequestInfo[];
}

let reference: Outcome;
before(async () => {
  reference = await runWithKill(undefined);
});

/** `mxplan`: OVH writes the records; `mxplan-asks`: OVH asks for them, the bot writes them and enables again. */
type Flow = 'exchange' | 'vtex' | 'pro' | 'mxplan' | 'mxplan-asks';

async function runWithKill(kill: KillPoint | undefined, flow: Flow = 'exchange'): Promise<Outcome> {
  const sim = await OvhSim.start();
  const vtex = await VtexSim.start();
  if (flow === 'exchange') sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: DOMAIN, zone: true });
  else if (flow === 'pro') sim.addEmailProDomain({ service: 'emailpro-zz1-1', domain: DOMAIN, zone: true });
  else if (flow === 'mxplan') sim.addMxPlanDomain({ domain: DOMAIN, zone: true });
  else if (flow === 'mxplan-asks') sim.addMxPlanDomain({ domain: DOMAIN, zone: true, ovhWritesRecords: false });
  else sim.addZone(DOMAIN);
  vtex.script(SENDER, ['created']);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...testEnv(sim),
    VTEX_ACCOUNT: 'simstore',
    VTEX_BASE_URL: vtex.baseUrl,
    VTEX_APP_KEY: vtex.appKey,
    VTEX_APP_TOKEN: vtex.appToken,
    NODE_EXTRA_CA_CERTS: sim.caFile,
    LOG_LEVEL: 'error',
  };
  let child: ChildProcess | undefined;
  let seen = 0;
  let kills = 0;
  let enables = 0;
  const requests: SimRequestInfo[] = [];
  const killNow = () => {
    kills++;
    child?.kill('SIGKILL');
    return 'hang' as const;
  };
  sim.onRequest = (request) => {
    requests.push(request);
    seen++;
    if (kill?.when === 'before' && seen === kill.at && kills === 0) return killNow();
  };
  sim.afterEffect = (request) => {
    if (request.path.endsWith('/enable')) enables++;
    if (kill?.when === 'after' && seen === kill.at && kills === 0) killNow();
  };
  try {
    for (let round = 0; round < 12; round++) {
      const run = readRun(env.DATABASE_PATH!);
      if (run?.state === 'done' || run?.state === 'failed') break;
      const start = flow === 'vtex' ? ['vtex', DOMAIN, SENDER] : ['setup', DOMAIN];
      const args = !run
        ? [...start, '--as', REQUESTER]
        : run.state === 'awaiting_approval' && run.pendingApproval
          ? ['approve', String(run.id), '--as', APPROVER]
          : ['tick', '--all'];
      child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      await new Promise((resolve) => child!.on('exit', resolve));
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
      enables,
      notices,
      requests,
    };
  } finally {
    await sim.close();
    await vtex.close();
  }
}

function readRun(path: string): { id: number; state: string; pendingApproval: boolean } | undefined {
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
function killPoints(requests: SimRequestInfo[]): KillPoint[] {
  const points: KillPoint[] = [];
  requests.forEach((request, i) => {
    const at = i + 1;
    if (MUTATING.has(request.method)) points.push({ at, when: 'before' }, { at, when: 'after' });
    else if (i > 0 && MUTATING.has(requests[i - 1]!.method)) points.push({ at, when: 'before' });
  });
  return points;
}

/** Messages compared by their opening words: after a crash a step may honestly word its news differently. */
const texts = (notices: Notice[]) => notices.flatMap((n) => (n.type === 'reply' ? [n.text.slice(0, 24)] : []));

test('the reference run completes in separate processes', () => {
  assert.equal(reference.state, 'done');
  assert.equal(reference.records, 2);
  assert.equal(reference.enables, 1);
  assert.ok(killPoints(reference.requests).length >= 10);
});

test('killed at every step boundary, the bot completes: no duplicate record, no second enable, no lost message', async () => {
  const expected = texts(reference.notices);
  const points = killPoints(reference.requests);
  for (const point of points) {
    const outcome = await runWithKill(point);
    const label = `killed ${point.when} request #${point.at} (${reference.requests[point.at - 1]!.method} ${reference.requests[point.at - 1]!.path})`;
    assert.equal(outcome.kills, 1, `${label}: the kill happened`);
    assert.equal(outcome.state, 'done', label);
    assert.equal(outcome.records, 2, `${label}: one record per selector`);
    assert.equal(outcome.enables, 1, `${label}: exactly one enable`);
    assert.equal(outcome.notices.filter((n) => n.type === 'parent').length, 1, `${label}: one parent message`);
    const got = texts(outcome.notices);
    for (const text of expected) {
      if (text.startsWith('Trouble talking')) continue;
      assert.ok(got.includes(text), `${label}: lost message "${text}"`);
    }
    for (const text of got) assert.equal(got.filter((t) => t === text).length, 1, `${label}: "${text}" twice`);
  }
});

/** Killed at every step boundary of a setup flow: it completes as the reference did, with nothing done twice. */
async function sweep(flow: Flow) {
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
    assert.equal(outcome.enables, clean.enables, `${label}: no enable repeated`);
    assert.equal(outcome.notices.filter((n) => n.type === 'parent').length, 1, `${label}: one parent message`);
    const got = texts(outcome.notices);
    for (const text of expected) {
      if (text.startsWith('Trouble talking')) continue;
      assert.ok(got.includes(text), `${label}: lost message "${text}"`);
    }
  }
}

test('Email Pro: killed at every step boundary, the bot completes like Exchange', () => sweep('pro'));

test('MX Plan, OVH writing the records: killed at every step boundary, one enable, two records', async () => {
  await sweep('mxplan');
});

test('MX Plan, OVH asking for the records: killed at every step boundary, the bot writes them once and enables again once', async () => {
  await sweep('mxplan-asks');
});

test('VTEX: killed at every step boundary, the bot completes with exactly three records', async () => {
  const clean = await runWithKill(undefined, 'vtex');
  assert.equal(clean.state, 'done');
  assert.equal(clean.records, 3);
  for (const point of killPoints(clean.requests)) {
    const outcome = await runWithKill(point, 'vtex');
    const label = `killed ${point.when} request #${point.at} (${clean.requests[point.at - 1]!.method} ${clean.requests[point.at - 1]!.path})`;
    assert.equal(outcome.kills, 1, `${label}: the kill happened`);
    assert.equal(outcome.state, 'done', label);
    assert.equal(outcome.records, 3, `${label}: no duplicate record`);
  }
});

test('batch: killed between sending and sent, the run needs attention and nothing more is ever sent', async () => {
  const sim = await OvhSim.start();
  const smtp = await SmtpSim.start();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...testEnv(sim),
    OVH_BATCH_ACCOUNT: 'ab1234-ovh',
    OVH_BATCH_PASSPHRASE: 'restart passphrase',
    SMTP_URL: smtp.url,
    BATCH_FROM: 'dkim-bot@example.fr',
    NODE_EXTRA_CA_CERTS: sim.caFile,
    LOG_LEVEL: 'error',
  };
  let child: ChildProcess | undefined;
  const cli = async (...args: string[]) => {
    child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (chunk) => (out += chunk));
    const code = await new Promise((resolve) => child!.on('exit', (c, signal) => resolve(c ?? signal)));
    return { code, out };
  };
  try {
    assert.equal((await cli('batch', 'renew', DOMAIN, '--as', REQUESTER)).code, 0);
    assert.equal(readRun(env.DATABASE_PATH!)?.state, 'awaiting_approval');
    smtp.onData = () => child?.kill('SIGKILL');
    assert.equal((await cli('approve', '1', '--as', APPROVER)).code, 'SIGKILL');
    assert.equal(readRun(env.DATABASE_PATH!)?.state, 'sending');
    smtp.onData = undefined;
    const tick = await cli('tick', '--all');
    assert.match(tick.out, /Needs attention: the bot stopped while sending/);
    assert.equal(readRun(env.DATABASE_PATH!)?.state, 'needs_attention');
    await cli('tick', '--all');
    assert.match((await cli('retry', DOMAIN)).out, /Only the requester/, 'an operator without --as is nobody');
    const retry = await cli('retry', DOMAIN, '--as', REQUESTER);
    assert.match(retry.out, /An earlier attempt may have been sent/, 'a fresh order, for a fresh approval');
    assert.equal(readRun(env.DATABASE_PATH!)?.state, 'awaiting_approval');
    assert.equal(smtp.connections, 1, 'one SMTP session, ever');
    assert.ok(smtp.mails.length <= 1);
  } finally {
    await smtp.close();
    await sim.close();
  }
});
