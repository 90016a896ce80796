import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { plainText } from '../src/domain/text.ts';
import { APPROVER, isState, OUTSIDER, REQUESTER, startHarness, testEnv } from './harness.ts';
import { OvhSim } from './sim/ovh.ts';

/** Who may do what: start, cancel, retry; which run a command means; how many runs one person may have. */

test('cancel and retry belong to the requester and the approvers; others are told who can', async () => {
  const h = await startHarness();
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'mine.fr', zone: true });
    const run = (await h.ops.setup({ domain: 'mine.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), run.id);
    const card = h.core.store.approvals.latestForRun(run.id)!;

    const stranger = await h.ops.retry(['mine.fr'], OUTSIDER);
    assert.equal(stranger.ok, false);
    assert.match(
      plainText(stranger.text),
      /Only the requester <@UREQUESTER> or <@UAPPROVER>, <!subteam\^SAPPROVERS> may retry/,
    );
    assert.equal(h.core.store.approvals.get(card.id)!.status, 'pending', 'a refused retry voids nothing');
    const refused = await h.ops.cancel(['mine.fr'], OUTSIDER);
    assert.match(plainText(refused.text), /Only the requester .* may cancel this run/);
    assert.equal(h.core.store.runs.get(run.id)!.state, 'awaiting_approval');

    assert.ok((await h.ops.retry(['mine.fr'], APPROVER)).ok, 'an approver may retry');
    await h.drive(isState('awaiting_approval'), run.id);
    assert.ok((await h.ops.cancel(['mine.fr'], REQUESTER)).ok, 'the requester may cancel');
    const events = h.core.store.events.forRun(run.id).map((e) => `${e.type}:${e.actor}`);
    assert.ok(events.includes(`retried:${APPROVER}`) && events.includes(`cancelled:${REQUESTER}`));
  } finally {
    await h.close();
  }
});

test('DKIM_REQUESTERS limits who may start runs (users and groups); DKIM_BATCH_REQUESTERS limits batch orders apart', async () => {
  const h = await startHarness({
    env: {
      DKIM_REQUESTERS: 'UALLOWED,SOPS',
      DKIM_BATCH_REQUESTERS: 'UBUYER',
      MAX_ACTIVE_RUNS_PER_USER: '5',
      OVH_BATCH_ACCOUNT: 'ab1234-ovh',
      OVH_BATCH_PASSPHRASE: 'passphrase for tests',
      SMTP_URL: 'smtp://127.0.0.1:1',
      BATCH_FROM: 'bot@example.fr',
    },
    directory: { membersOf: async (group) => (group === 'SOPS' ? ['UOPS'] : []) },
  });
  try {
    const outsider = await h.ops.setup({ domain: 'a.fr', user: OUTSIDER, channel: 'C1' });
    assert.equal(outsider.ok, false);
    assert.match(
      plainText(outsider.text),
      /Not started: Only <@UALLOWED>, <!subteam\^SOPS> may start runs \(DKIM_REQUESTERS\)/,
    );
    assert.ok((await h.ops.setup({ domain: 'b.fr', user: 'UALLOWED', channel: 'C1' })).ok);
    assert.ok((await h.ops.setup({ domain: 'c.fr', user: 'UOPS', channel: 'C1' })).ok, 'a member of a listed group');
    const batchByAllowed = await h.ops.batch(['renew', 'd.fr'], 'UALLOWED', 'C1');
    assert.match(plainText(batchByAllowed.text), /Only <@UBUYER> may start batch orders \(DKIM_BATCH_REQUESTERS\)/);
    assert.ok((await h.ops.batch(['renew', 'd.fr'], 'UBUYER', 'C1')).ok);
    await h.core.engine.idle();
    assert.equal(h.core.store.runs.count(), 3, 'refusals wrote nothing');
  } finally {
    await h.close();
  }
});

test('MAX_ACTIVE_RUNS_PER_USER: the next start is refused clearly, and writes nothing', async () => {
  const h = await startHarness({ env: { MAX_ACTIVE_RUNS_PER_USER: '2' } });
  try {
    for (const domain of ['one.fr', 'two.fr'])
      assert.ok((await h.ops.setup({ domain, user: REQUESTER, channel: 'C1' })).ok);
    const third = await h.ops.setup({ domain: 'three.fr', user: REQUESTER, channel: 'C1' });
    assert.equal(third.ok, false);
    assert.match(plainText(third.text), /you already have 2 active runs, the most one person may have at once/);
    assert.ok((await h.ops.setup({ domain: 'three.fr', user: OUTSIDER, channel: 'C1' })).ok, 'per user');
    await h.core.engine.idle();
    assert.equal(h.core.store.runs.count(), 3);
  } finally {
    await h.close();
  }
});

test('cancel, retry and status take a kind, and ask which when two active runs match', async () => {
  const h = await startHarness({
    env: {
      OVH_BATCH_ACCOUNT: 'ab1234-ovh',
      OVH_BATCH_PASSPHRASE: 'passphrase for tests',
      SMTP_URL: 'smtp://127.0.0.1:1',
      BATCH_FROM: 'bot@example.fr',
    },
  });
  try {
    h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'both.fr', zone: true });
    const batch = (await h.ops.batch(['renew', 'both.fr'], REQUESTER, 'C1')).run!;
    const setup = (await h.ops.setup({ domain: 'both.fr', user: REQUESTER, channel: 'C1' })).run!;
    await h.drive(isState('awaiting_approval'), setup.id);
    await h.drive(isState('awaiting_approval'), batch.id);

    const which = await h.ops.cancel(['both.fr'], REQUESTER);
    assert.equal(which.ok, false);
    assert.match(
      plainText(which.text),
      /both\.fr has 2 runs that could be meant\. Say which: `\/dkim cancel setup both\.fr`/,
    );
    assert.match(plainText(which.text), /`\/dkim cancel batch both\.fr`/);
    assert.equal(h.core.store.runs.get(batch.id)!.state, 'awaiting_approval', 'nothing cancelled');

    assert.match(plainText(h.ops.status(['batch', 'both.fr']).text), /batch both\.fr: Waiting for approval/);
    assert.doesNotMatch(plainText(h.ops.status(['batch', 'both.fr']).text), /setup/);
    assert.match(
      plainText(h.ops.status(['both.fr']).text),
      /setup both\.fr[\s\S]*batch both\.fr|batch both\.fr[\s\S]*setup/,
    );

    assert.ok((await h.ops.cancel(['batch', 'both.fr'], REQUESTER)).ok);
    assert.equal(h.core.store.runs.get(batch.id)!.state, 'cancelled');
    assert.equal(h.core.store.runs.get(setup.id)!.state, 'awaiting_approval', 'the setup goes on');
    assert.ok((await h.ops.retry(['both.fr'], REQUESTER)).ok, 'one match left: no question');
    assert.match(plainText((await h.ops.cancel(['vtex', 'both.fr'], REQUESTER)).text), /no active run/);
    assert.match(
      plainText((await h.ops.cancel(['bogus', 'both.fr'], REQUESTER)).text),
      /one kind at most, then one domain/,
    );
  } finally {
    await h.close();
  }
});

test('the CLI records who really acted: cli:<os user>, and cli:<os user> as <id> with that user rights', async () => {
  const sim = await OvhSim.start();
  try {
    sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'cli.fr', zone: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...testEnv(sim),
      NODE_EXTRA_CA_CERTS: sim.caFile,
      LOG_LEVEL: 'error',
    };
    const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
    // Asynchronously: the OVH simulator answering the CLI lives in this process.
    await promisify(execFile)(process.execPath, ['--import', 'tsx', cli, 'setup', 'cli.fr', '--as', REQUESTER], {
      env,
    });
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(env.DATABASE_PATH!, { readonly: true });
    const actors = (db.prepare(`SELECT actor FROM events WHERE type = 'requested'`).all() as { actor: string }[]).map(
      (e) => e.actor,
    );
    const requester = (db.prepare('SELECT requested_by FROM runs').get() as { requested_by: string }).requested_by;
    db.close();
    const me = userInfo().username;
    assert.deepEqual(actors, [`cli:${me} as ${REQUESTER}`]);
    assert.equal(requester, `cli:${me} as ${REQUESTER}`);
  } finally {
    await sim.close();
  }
});
