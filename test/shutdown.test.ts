import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { APPROVE_ACTION } from '../src/slack/render/cards.ts';
import { APPROVER, REQUESTER, testEnv } from './harness.ts';
import { OvhSim } from './sim/ovh.ts';
import {
  buttonClickBody,
  buttonClickPayload,
  FakeSlack,
  type StoredMessage,
  sendToBot,
  slashCommandBody,
  slashCommandPayload,
} from './sim/slack.ts';
import { APP_TOKEN, type SlackMode } from './slack-harness.ts';

/**
 * SIGTERM and SIGINT are a clean stop (DESIGN §5): the bot, a real process, is stopped while its step waits on OVH; it takes no
 * more work, lets that step commit, drains the outbox, closes the database and exits 0. Started again on the same
 * database, it finishes the run with nothing lost and nothing done twice.
 */

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const DOMAIN = 'sigterm.fr';
const SECRET = 'test-signing-secret-0001';

interface Child {
  process: ChildProcess;
  port: Promise<number>;
  exited: Promise<number | null>;
  stderr: () => string;
}

function startChild(env: NodeJS.ProcessEnv): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let onPort: (port: number) => void = () => {};
  const port = new Promise<number>((resolve) => (onPort = resolve));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    const started = /"msg":"dkim-bot started"[^\n]*"port":(\d+)/.exec(stderr);
    if (started) onPort(Number(started[1]));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, port, exited, stderr: () => stderr };
}

/** Polls (bounded) until `check` gives a value. */
async function eventually<T>(what: string, check: () => T | undefined, within = 30_000): Promise<T> {
  const until = Date.now() + within;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > until) assert.fail(`${what} did not happen in time`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function readDb<T>(path: string, read: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

for (const mode of ['http', 'socket'] as SlackMode[]) {
  const label = mode === 'http' ? 'HTTP mode' : 'Socket Mode';
  const signal = mode === 'http' ? 'SIGTERM' : 'SIGINT';

  test(`${label}: ${signal} while a step waits on OVH — the step commits, the outbox drains, exit 0; restarted, the run ends with nothing twice`, async () => {
    const sim = await OvhSim.start();
    sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: DOMAIN, zone: true });
    const slack = await FakeSlack.start({
      botToken: 'xoxb-test-bot-token-0001',
      ...(mode === 'socket' ? { appToken: APP_TOKEN } : {}),
    });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...testEnv(sim, {
        SLACK_API_URL: slack.apiUrl,
        PORT: '0',
        POLL_CRON: '* * * * * *',
        LOG_LEVEL: 'info',
        NODE_EXTRA_CA_CERTS: sim.caFile,
        ...(mode === 'socket' ? { SLACK_APP_TOKEN: APP_TOKEN, SLACK_SIGNING_SECRET: '' } : {}),
      }),
    };
    const database = env.DATABASE_PATH ?? '';
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let held: () => void = () => {};
    const holding = new Promise<void>((resolve) => (held = resolve));
    let holds = 0;
    // The change the approval allows (DKIM enabled) waits at OVH until the test lets it go.
    sim.onRequest = async (request) => {
      if (request.method !== 'POST' || !request.path.endsWith('/enable') || holds++ > 0) return;
      held();
      await released;
    };

    const children: Child[] = [];
    const start = async () => {
      const child = startChild(env);
      children.push(child);
      if (mode === 'socket') await slack.socketMode.waitForConnection(children.length, 30_000);
      return { child, port: await child.port };
    };
    const send = async (port: number, kind: 'command' | 'click', message?: StoredMessage) => {
      const responseUrl = slack.responseUrl(randomUUID());
      if (kind === 'command') {
        const input = { text: `setup ${DOMAIN}`, userId: REQUESTER, channelId: 'C1', responseUrl };
        if (mode === 'socket')
          return void (await slack.socketMode.deliver('slash_commands', slashCommandPayload(input)));
        return void (await sendToBot(`http://127.0.0.1:${port}/slack/events`, SECRET, slashCommandBody(input)));
      }
      const card = message as StoredMessage;
      const input = { userId: APPROVER, responseUrl };
      if (mode === 'socket')
        return void (await slack.socketMode.deliver('interactive', buttonClickPayload(card, APPROVE_ACTION, input)));
      await sendToBot(`http://127.0.0.1:${port}/slack/events`, SECRET, buttonClickBody(card, APPROVE_ACTION, input));
    };

    try {
      const first = await start();
      await send(first.port, 'command');
      const card = await eventually('the approval card', () =>
        slack.allMessages().find((m) => JSON.stringify(m.blocks ?? []).includes(APPROVE_ACTION)),
      );
      await send(first.port, 'click', card);
      await holding;

      first.child.process.kill(signal);
      // Stopping, it waits for the step: OVH has not answered yet.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(first.child.process.exitCode, null, 'the bot waits for the step in progress');
      release();
      assert.equal(await first.child.exited, 0, first.child.stderr());
      assert.match(first.child.stderr(), new RegExp(`"msg":"stopping","signal":"${signal}"`));
      const afterStop = readDb(database, (db) => ({
        processes: (db.prepare('SELECT COUNT(*) AS n FROM processes').get() as { n: number }).n,
        facts: (db.prepare('SELECT facts FROM runs').get() as { facts: string }).facts,
        pending: (db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL').get() as { n: number }).n,
      }));
      assert.equal(afterStop.processes, 0, 'the stopped process said it left');
      assert.equal(afterStop.pending, 0, 'the outbox was drained before the exit');
      const calls = (JSON.parse(afterStop.facts) as { calls?: Record<string, { answeredAt?: number }> }).calls ?? {};
      const enables = Object.entries(calls).filter(([key]) => key.startsWith('enable'));
      assert.equal(enables.length, 1);
      assert.ok(enables[0]?.[1].answeredAt, 'the step committed the answer of the enable before the exit');

      const second = await start();
      const state = await eventually(
        'the run ending',
        () => {
          const row = readDb(database, (db) => db.prepare('SELECT state FROM runs').get() as { state: string });
          return ['done', 'failed', 'needs_attention'].includes(row.state) ? row.state : undefined;
        },
        60_000,
      );
      assert.equal(state, 'done', second.child.stderr());
      second.child.process.kill('SIGTERM');
      assert.equal(await second.child.exited, 0, second.child.stderr());

      const cnames = sim.zoneRecords(DOMAIN).filter((r) => r.fieldType === 'CNAME');
      assert.equal(cnames.length, 2, 'each selector record written once');
      assert.equal(sim.count('POST', /\/record$/), 2, 'no record write repeated');
      assert.equal(sim.count('POST', /\/enable$/), 1, 'one enable');
      const posted = slack.callsOf('chat.postMessage').map((c) => JSON.stringify(c.args));
      assert.equal(new Set(posted).size, posted.length, 'no message posted twice');
      assert.equal(slack.messages('C1').length, 1, 'one parent message');
      const unsent = readDb(database, (db) =>
        db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL').get(),
      );
      assert.deepEqual(unsent, { n: 0 }, 'nothing left undelivered');
    } finally {
      for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
      await slack.close();
      await sim.close();
    }
  });
}
