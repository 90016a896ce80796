import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { before, test } from 'node:test';
import { spawnCli } from './cli-process.ts';
import { APPROVER, REQUESTER, testEnv } from './harness.ts';
import { DOMAIN, killPoints, type Outcome, readRun, runWithKill, texts } from './restart-harness.ts';
import { OvhSim } from './sim/ovh.ts';
import { SmtpSim } from './sim/smtp.ts';

let reference: Outcome;
before(async () => {
  reference = await runWithKill(undefined);
});

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
    ROTATION_GRACE_HOURS: '0',
  };
  let child: ChildProcess | undefined;
  const cli = async (...args: string[]) => {
    child = spawnCli(args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
