import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { App, type Logger, LogLevel } from '@slack/bolt';
import { ErrorCode, WebClient } from '@slack/web-api';
import {
  blockActionBody,
  buttonClickBody,
  DEFAULT_BOT_TOKEN,
  FakeSlack,
  type FakeSlackOptions,
  sendToBot,
  signSlackRequest,
  slashCommandBody,
  viewSubmissionBody,
} from './slack.ts';

const CHANNEL = 'C0DKIM';
const SIGNING_SECRET = 'test-signing-secret';

async function withFake(options: FakeSlackOptions, run: (fake: FakeSlack) => Promise<void>): Promise<void> {
  const fake = await FakeSlack.start(options);
  try {
    await run(fake);
  } finally {
    await fake.close();
  }
}

/** `token: null` makes a client that sends no token at all. */
function clientFor(fake: FakeSlack, token: string | null = fake.token): WebClient {
  return new WebClient(token ?? undefined, {
    slackApiUrl: fake.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logLevel: LogLevel.ERROR,
  });
}

/** Resolves with what a rejected promise threw, failing when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  assert.fail('expected a rejection');
}

const approvalBlocks = [
  { type: 'section', block_id: 'card', text: { type: 'mrkdwn', text: 'Enable DKIM for *x.fr*?' } },
  {
    type: 'actions',
    block_id: 'decide',
    elements: [
      {
        type: 'button',
        action_id: 'approve',
        style: 'primary',
        value: 'run-1',
        text: { type: 'plain_text', text: 'Approve' },
      },
      {
        type: 'button',
        action_id: 'reject',
        style: 'danger',
        value: 'run-1',
        text: { type: 'plain_text', text: 'Reject' },
      },
    ],
  },
  { type: 'context', elements: [{ type: 'mrkdwn', text: 'Approvers: <@U2>' }] },
];

test('chat.postMessage and chat.update build one thread, in order, with blocks decoded', async () => {
  await withFake({ channels: [CHANNEL] }, async (fake) => {
    const client = clientFor(fake);
    const parent = await client.chat.postMessage({ channel: CHANNEL, text: 'DKIM for x.fr: starting' });
    const parentTs = parent.ts!;
    const step = await client.chat.postMessage({ channel: CHANNEL, thread_ts: parentTs, text: 'Keys created' });
    const card = await client.chat.postMessage({
      channel: CHANNEL,
      thread_ts: parentTs,
      text: 'Approve enabling DKIM for x.fr?',
      blocks: approvalBlocks,
    });
    await client.chat.update({ channel: CHANNEL, ts: parentTs, text: 'DKIM for x.fr: waiting for approval' });

    assert.match(parentTs, /^1700000000\.\d{6}$/);
    assert.ok(parentTs < step.ts! && step.ts! < card.ts!, 'ts strictly increasing');
    assert.equal(parent.channel, CHANNEL);
    assert.deepEqual(
      fake.messages(CHANNEL).map((m) => m.text),
      ['DKIM for x.fr: waiting for approval'],
    );
    const thread = fake.thread(CHANNEL, parentTs);
    assert.deepEqual(
      thread.map((m) => m.ts),
      [parentTs, step.ts, card.ts],
    );
    assert.deepEqual(thread[2]?.blocks, approvalBlocks);
    assert.deepEqual(fake.callsOf('chat.postMessage')[2]?.args.blocks, approvalBlocks);
    assert.equal(fake.callsOf('chat.postMessage')[0]?.args.token, undefined, 'the token is not recorded');
    assert.deepEqual(
      thread[0]?.versions.map((v) => v.text),
      ['DKIM for x.fr: starting', 'DKIM for x.fr: waiting for approval'],
    );
    assert.equal(
      fake.threadAsText(CHANNEL, parentTs),
      [
        '● DKIM for x.fr: waiting for approval  (edited 1×)',
        '    ↳ Keys created',
        '    ↳ Enable DKIM for *x.fr*?',
        '      [Approve] [Reject]',
        '      Approvers: <@U2>',
      ].join('\n'),
    );
  });
});

test('chat.update keeps blocks it is not sent, and unknown messages or channels are errors', async () => {
  await withFake({ channels: [CHANNEL] }, async (fake) => {
    const client = clientFor(fake);
    const card = await client.chat.postMessage({ channel: CHANNEL, text: 'card', blocks: approvalBlocks });
    await client.chat.update({ channel: CHANNEL, ts: card.ts!, text: 'approved' });
    assert.deepEqual(fake.message(CHANNEL, card.ts!)?.blocks, approvalBlocks, 'text alone leaves the buttons');
    await client.chat.update({ channel: CHANNEL, ts: card.ts!, text: 'approved', blocks: [] });
    assert.deepEqual(fake.message(CHANNEL, card.ts!)?.blocks, []);

    const missing = await rejection(client.chat.update({ channel: CHANNEL, ts: '1.000001', text: 'x' }));
    assert.equal(missing.code, ErrorCode.PlatformError);
    assert.equal((missing.data as { error: string }).error, 'message_not_found');
    const nowhere = await rejection(client.chat.postMessage({ channel: 'C0OTHER', text: 'x' }));
    assert.equal((nowhere.data as { error: string }).error, 'channel_not_found');
    assert.equal(fake.allMessages().length, 1);
  });
});

test('Block Kit limits are enforced like Slack does', async () => {
  await withFake({}, async (fake) => {
    const client = clientFor(fake);
    const tooLong = [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }];
    const error = await rejection(client.chat.postMessage({ channel: CHANNEL, text: 'preview', blocks: tooLong }));
    assert.equal((error.data as { error: string }).error, 'invalid_blocks');
    assert.deepEqual((error.data as { errors: string[] }).errors, [
      'must be less than 3001 characters [json-pointer:/blocks/0/text/text]',
    ]);
    assert.equal(fake.allMessages().length, 0);
  });
});

test('a wrong or missing token is refused', async () => {
  await withFake({}, async (fake) => {
    const wrong = await rejection(clientFor(fake, 'xoxb-wrong').chat.postMessage({ channel: CHANNEL, text: 'x' }));
    assert.equal((wrong.data as { error: string }).error, 'invalid_auth');
    const none = await rejection(clientFor(fake, null).auth.test());
    assert.equal((none.data as { error: string }).error, 'not_authed');
    assert.equal(fake.allMessages().length, 0);
    assert.deepEqual(
      fake.calls.map((c) => [c.method, c.status]),
      [
        ['chat.postMessage', 200],
        ['auth.test', 200],
      ],
    );
  });
});

test('a 429 reaches the client with its Retry-After, then the method works again', async () => {
  await withFake({}, async (fake) => {
    const client = clientFor(fake);
    fake.rateLimit('chat.postMessage', 1, 7);
    const limited = await rejection(client.chat.postMessage({ channel: CHANNEL, text: 'x' }));
    assert.equal(limited.code, ErrorCode.RateLimitedError);
    assert.equal(limited.retryAfter, 7);
    assert.equal(fake.allMessages().length, 0);
    assert.equal(fake.callsOf('chat.postMessage')[0]?.status, 429);

    await client.chat.postMessage({ channel: CHANNEL, text: 'x' });
    assert.equal(fake.allMessages().length, 1);
  });
});

test('an outage fails every call without changing anything, in each mode', async () => {
  await withFake({}, async (fake) => {
    const client = clientFor(fake);
    fake.outage(true);
    const unavailable = await rejection(client.chat.postMessage({ channel: CHANNEL, text: 'x' }));
    assert.equal(unavailable.code, ErrorCode.HTTPError);
    assert.equal(unavailable.statusCode, 503);

    fake.outage(true, 'internal_error');
    const internal = await rejection(client.chat.postMessage({ channel: CHANNEL, text: 'x' }));
    assert.equal((internal.data as { error: string }).error, 'internal_error');

    fake.outage(true, 'drop');
    const dropped = await rejection(client.chat.postMessage({ channel: CHANNEL, text: 'x' }));
    assert.equal(dropped.code, ErrorCode.RequestError);

    assert.equal(fake.allMessages().length, 0);
    assert.deepEqual(
      fake.calls.map((c) => c.status),
      [503, 200, 0],
    );
    fake.outage(false);
    await client.chat.postMessage({ channel: CHANNEL, text: 'x' });
    assert.equal(fake.allMessages().length, 1);
  });
});

test('usergroups.users.list answers members, unknown groups, free plans and a missing scope', async () => {
  await withFake({ usergroups: { S0OPS: ['U1', 'U2'] } }, async (fake) => {
    const client = clientFor(fake);
    assert.deepEqual((await client.usergroups.users.list({ usergroup: 'S0OPS' })).users, ['U1', 'U2']);
    const unknown = await rejection(client.usergroups.users.list({ usergroup: 'S0NONE' }));
    assert.equal((unknown.data as { error: string }).error, 'no_such_subteam');
    fake.setUsergroupsPlanUpgradeRequired(true);
    const free = await rejection(client.usergroups.users.list({ usergroup: 'S0OPS' }));
    assert.equal((free.data as { error: string }).error, 'plan_upgrade_required');
  });
  await withFake({ scopes: ['chat:write', 'commands'], usergroups: { S0OPS: ['U1'] } }, async (fake) => {
    const error = await rejection(clientFor(fake).usergroups.users.list({ usergroup: 'S0OPS' }));
    assert.equal((error.data as { error: string; needed: string }).needed, 'usergroups:read');
  });
});

test('ephemerals, views, users.info and unknown methods', async () => {
  await withFake({}, async (fake) => {
    const client = clientFor(fake);
    const ephemeral = await client.chat.postEphemeral({
      channel: CHANNEL,
      user: 'U1',
      text: 'Usage: /dkim setup x.fr',
    });
    assert.ok(ephemeral.message_ts);
    assert.deepEqual(
      fake.ephemeralsFor('U1').map((m) => m.text),
      ['Usage: /dkim setup x.fr'],
    );

    const home = { type: 'home' as const, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Runs' } }] };
    const first = await client.views.publish({ user_id: 'U1', view: home });
    const again = await client.views.publish({ user_id: 'U1', view: home });
    assert.equal(first.view?.id, again.view?.id);
    assert.equal(fake.homeView('U1')?.versions.length, 2);

    const modal = {
      type: 'modal' as const,
      callback_id: 'owner',
      title: { type: 'plain_text' as const, text: 'Domain owner' },
      blocks: [],
    };
    const opened = await client.views.open({ trigger_id: '12345.98765.abcdef', view: modal });
    await client.views.update({ view_id: opened.view!.id!, view: { ...modal, private_metadata: 'run-1' } });
    assert.equal(fake.views('modal')[0]?.view.private_metadata, 'run-1');

    const user = await client.users.info({ user: 'U1' });
    assert.equal(user.user?.id, 'U1');
    const unknown = await rejection(client.apiCall('chat.scheduleMessage', { channel: CHANNEL }));
    assert.equal((unknown.data as { error: string }).error, 'unknown_method');
  });
});

test('a JSON body with a bearer token is accepted too', async () => {
  await withFake({}, async (fake) => {
    const response = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${DEFAULT_BOT_TOKEN}` },
      body: JSON.stringify({ channel: CHANNEL, text: 'json', blocks: approvalBlocks }),
    });
    assert.equal(((await response.json()) as { ok: boolean }).ok, true);
    assert.deepEqual(fake.messages(CHANNEL)[0]?.blocks, approvalBlocks);
  });
});

test('the signature matches the example in Slack\u2019s documentation', () => {
  const body =
    'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&' +
    'channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&' +
    'response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&' +
    'trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
  const headers = signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', body, 1531420618);
  assert.equal(headers['x-slack-signature'], 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
  assert.equal(headers['x-slack-request-timestamp'], '1531420618');
  assert.equal(headers['content-type'], 'application/x-www-form-urlencoded');
});

const quietLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

interface BoltUnderTest {
  eventsUrl: string;
  seen: Array<{ kind: string; body: Record<string, unknown> }>;
}

async function withBolt(fake: FakeSlack, run: (bolt: BoltUnderTest) => Promise<void>): Promise<void> {
  const app = new App({
    token: fake.token,
    signingSecret: SIGNING_SECRET,
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    logger: quietLogger,
  });
  const seen: BoltUnderTest['seen'] = [];
  app.command('/dkim', async ({ ack, command, respond }) => {
    await ack('ok');
    seen.push({ kind: 'command', body: { ...command } });
    await respond({ response_type: 'ephemeral', text: `You said: ${command.text}` });
  });
  app.action('approve', async ({ ack, body }) => {
    await ack();
    seen.push({ kind: 'action', body: body as unknown as Record<string, unknown> });
  });
  app.view('owner', async ({ ack, view }) => {
    await ack();
    seen.push({ kind: 'view', body: { ...view } });
  });
  const server = await app.start(0);
  try {
    const { port } = server.address() as AddressInfo;
    await run({ eventsUrl: `http://127.0.0.1:${port}/slack/events`, seen });
  } finally {
    await app.stop();
  }
}

test('Bolt accepts what the signer signs, and refuses forged or stale requests', async () => {
  await withFake({}, async (fake) => {
    await withBolt(fake, async ({ eventsUrl, seen }) => {
      const body = slashCommandBody({
        text: 'setup x.fr',
        userId: 'U1',
        channelId: CHANNEL,
        responseUrl: fake.responseUrl('cmd-1'),
      });
      const accepted = await sendToBot(eventsUrl, SIGNING_SECRET, body);
      assert.deepEqual([accepted.status, accepted.body], [200, 'ok']);
      const response = await fake.waitFor(() => fake.responses('cmd-1')[0]);
      assert.deepEqual(response.body, { response_type: 'ephemeral', text: 'You said: setup x.fr' });
      assert.equal(seen[0]?.body.command, '/dkim');
      assert.equal(seen[0]?.body.channel_id, CHANNEL);

      const forged = await sendToBot(eventsUrl, SIGNING_SECRET, body, { badSignature: true });
      assert.equal(forged.status, 401);
      const stale = await sendToBot(eventsUrl, SIGNING_SECRET, body, {
        timestampSeconds: Math.floor(Date.now() / 1000) - 5 * 60 - 10,
      });
      assert.equal(stale.status, 401);
      assert.equal(seen.length, 1, 'refused requests never reach a listener');
      assert.equal(fake.callsOf('auth.test').length, 1, 'Bolt calls auth.test once, at construction');
    });
  });
});

test('Bolt receives button clicks and modal submissions as Slack sends them', async () => {
  await withFake({}, async (fake) => {
    const client = clientFor(fake);
    const parent = await client.chat.postMessage({ channel: CHANNEL, text: 'run' });
    await client.chat.postMessage({ channel: CHANNEL, thread_ts: parent.ts!, text: 'card', blocks: approvalBlocks });
    const card = fake.thread(CHANNEL, parent.ts!)[1]!;

    await withBolt(fake, async ({ eventsUrl, seen }) => {
      const click = buttonClickBody(card, 'approve', { userId: 'U2', responseUrl: fake.responseUrl('click-1') });
      assert.equal((await sendToBot(eventsUrl, SIGNING_SECRET, click)).status, 200);
      const action = seen[0]?.body as {
        type: string;
        user: { id: string };
        container: { message_ts: string; channel_id: string };
        message: { thread_ts: string };
        actions: Array<{ action_id: string; block_id: string; value: string; text: { text: string } }>;
      };
      assert.equal(action.type, 'block_actions');
      assert.equal(action.user.id, 'U2');
      assert.deepEqual(action.container, {
        type: 'message',
        message_ts: card.ts,
        channel_id: CHANNEL,
        is_ephemeral: false,
      });
      assert.equal(action.message.thread_ts, parent.ts);
      assert.deepEqual(
        [action.actions[0]?.block_id, action.actions[0]?.value, action.actions[0]?.text.text],
        ['decide', 'run-1', 'Approve'],
      );

      const bare = blockActionBody({
        userId: 'U3',
        channelId: CHANNEL,
        messageTs: card.ts,
        actionId: 'approve',
        value: 'run-2',
        responseUrl: fake.responseUrl('click-2'),
      });
      assert.equal((await sendToBot(eventsUrl, SIGNING_SECRET, bare)).status, 200);

      const submission = viewSubmissionBody({
        userId: 'U1',
        callbackId: 'owner',
        privateMetadata: 'run-3',
        values: { owner_name: { name: 'Jane Doe' } },
      });
      assert.equal((await sendToBot(eventsUrl, SIGNING_SECRET, submission)).status, 200);
      const view = seen[2]?.body as { private_metadata: string; state: { values: Record<string, unknown> } };
      assert.equal(view.private_metadata, 'run-3');
      assert.deepEqual(view.state.values, { owner_name: { name: { type: 'plain_text_input', value: 'Jane Doe' } } });
      assert.deepEqual(
        seen.map((s) => s.kind),
        ['action', 'action', 'view'],
      );
    });
  });
});
