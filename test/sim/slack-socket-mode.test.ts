import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App, type Logger, LogLevel, SocketModeReceiver } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { WebSocket } from 'ws';
import {
  eventCallbackPayload,
  FakeSlack,
  type FakeSlackOptions,
  type SocketModeSimOptions,
  slashCommandPayload,
  viewSubmissionPayload,
} from './slack.ts';

const APP_TOKEN = 'xapp-fake-socket-mode-app-token';
/** Small, so a reconnect (clientPingTimeout × consecutive failures) takes 200 ms rather than 5 s. */
const CLIENT_PING_TIMEOUT_MS = 200;
/** The bound on every wait: generous, as nothing here should take more than a fraction of it. */
const WAIT_MS = 5_000;

/** Keeps what the client logs, for a failing assertion's message. */
function recordingLogger(lines: string[]): Logger {
  const keep =
    (level: string) =>
    (...msg: unknown[]) =>
      lines.push(`${level} ${msg.map(String).join(' ')}`);
  return {
    debug: () => {},
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

interface Harness {
  fake: FakeSlack;
  client: SocketModeClient;
  logs: string[];
  /** Resolves with the arguments of the client's next `event`, rejecting after WAIT_MS. */
  next(event: string): Promise<unknown>;
}

function newClient(fake: FakeSlack, logs: string[], appToken = APP_TOKEN): SocketModeClient {
  return new SocketModeClient({
    appToken,
    clientPingTimeout: CLIENT_PING_TIMEOUT_MS,
    logger: recordingLogger(logs),
    // As the bot configures its Web API client (the Socket Mode client inherits it from Bolt's clientOptions).
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true },
  });
}

function nextEventOf(client: SocketModeClient, event: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(event, listener);
      reject(new Error(`SocketModeClient did not emit ${event} within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const listener = (value: unknown) => {
      clearTimeout(timer);
      resolve(value);
    };
    client.once(event, listener);
  });
}

/** A FakeSlack with Socket Mode and a real SocketModeClient, started; the client is disconnected before the fake. */
async function withClient(
  options: { fake?: FakeSlackOptions; socketMode?: SocketModeSimOptions; setup?: (client: SocketModeClient) => void },
  run: (harness: Harness) => Promise<void>,
): Promise<void> {
  const fake = await FakeSlack.start({ ...options.fake, appToken: APP_TOKEN, socketMode: options.socketMode });
  const logs: string[] = [];
  const client = newClient(fake, logs);
  try {
    options.setup?.(client);
    await client.start();
    await run({ fake, client, logs, next: (event) => nextEventOf(client, event) });
  } finally {
    await client.disconnect();
    await fake.close();
  }
}

const slashCommand = (text: string) =>
  slashCommandPayload({ userId: 'U0ALICE', channelId: 'C0DKIM', text, responseUrl: 'http://127.0.0.1:1/response/x' });

test('the client connects: apps.connections.open with the app token, a ticket, hello, pings answered', async () => {
  await withClient({}, async ({ fake }) => {
    const sim = fake.socketMode;
    const [open] = fake.callsOf('apps.connections.open');
    assert.equal(open?.status, 200);
    const { url } = (open?.response ?? {}) as { url: string };
    assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=[0-9a-f-]{36}&app_id=A0DKIMBOT$/);
    assert.equal(sim.connectionCount, 1);
    const connection = await sim.waitForConnection(1);
    assert.equal(connection.ticket, new URL(url).searchParams.get('ticket'));
    // The client pings every clientPingTimeout/3 and gives up after 3 unanswered pings: 5 answered keep it on.
    await sim.waitFor(() => connection.pings >= 5, WAIT_MS);
    assert.equal(sim.openConnections().length, 1);
    assert.equal(sim.connectionCount, 1);
    assert.equal(fake.callsOf('apps.connections.open').length, 1);
  });
});

test('an envelope is delivered as Slack sends it and its ack comes back with the payload', async () => {
  const received: Array<{ type: string; body: unknown; accepts: boolean }> = [];
  const setup = (client: SocketModeClient) => {
    client.on('slack_event', async ({ ack, type, body, accepts_response_payload }) => {
      received.push({ type, body, accepts: accepts_response_payload });
      await ack(type === 'slash_commands' ? { text: `dkim: ${body.text}` } : undefined);
    });
  };
  await withClient({ setup }, async ({ fake }) => {
    const sim = fake.socketMode;
    const payload = slashCommand('status example.fr');
    const ack = await sim.deliver('slash_commands', payload);
    assert.deepEqual(ack.payload, { text: 'dkim: status example.fr' });
    const [delivery] = sim.deliveries;
    assert.deepEqual(Object.keys(delivery?.message ?? {}), [
      'envelope_id',
      'type',
      'payload',
      'accepts_response_payload',
    ]);
    assert.equal(delivery?.retryAttempt, 0);
    assert.equal(ack.envelope_id, delivery?.envelopeId);
    assert.deepEqual(received[0], { type: 'slash_commands', body: payload, accepts: true });
    assert.equal(payload.is_enterprise_install, 'false'); // form fields as an object: every value a string

    const submitted = await sim.deliver(
      'interactive',
      viewSubmissionPayload({ userId: 'U0ALICE', callbackId: 'batch', values: { b: { a: 'x' } } }),
    );
    assert.deepEqual(submitted.payload, {}); // a bare ack() from @slack/socket-mode still sends `payload: {}`
    await sim.deliver('events_api', eventCallbackPayload({ type: 'app_home_opened', user: 'U0ALICE', tab: 'home' }));
    assert.deepEqual(
      received.map((r) => [r.type, r.accepts]),
      [
        ['slash_commands', true],
        ['interactive', true],
        ['events_api', false],
      ],
    );
    assert.equal(sim.acks.length, 3);
    assert.ok(sim.envelopes.every((e) => e.ackedAt !== undefined && e.retries === 0));
  });
});

test('refresh_requested: the client closes, reconnects with a new ticket, and gets what was sent meanwhile', async () => {
  const setup = (client: SocketModeClient) => {
    client.on('slash_commands', async ({ ack, body }) => ack({ text: `after refresh: ${body.text}` }));
  };
  await withClient({ setup }, async ({ fake, next }) => {
    const sim = fake.socketMode;
    await sim.waitForConnection(1);
    const reconnecting = next('reconnecting');
    assert.equal(sim.refresh(), 1);
    const acked = sim.deliver('slash_commands', slashCommand('queued'), { ackTimeoutMs: WAIT_MS });
    assert.equal(sim.queued().length, 1); // nothing goes out on a link asked to refresh
    await reconnecting;
    const second = await sim.waitForConnection(2);
    assert.deepEqual((await acked).payload, { text: 'after refresh: queued' });
    assert.equal(sim.deliveries[0]?.connection, second.id);
    assert.equal(fake.callsOf('apps.connections.open').length, 2);
    const [first] = sim.connections;
    assert.equal(first?.refreshRequested, true);
    await sim.waitFor(() => first?.closedAt !== undefined, WAIT_MS);
    assert.equal(first?.closeCode, 1000); // the client closed it with a close handshake
    assert.notEqual(first?.ticket, second.ticket);
    assert.deepEqual(sim.openConnections(), [second]);
  });
});

test('a dropped link (no close frame): the client notices, reconnects, and deliveries resume', async () => {
  const setup = (client: SocketModeClient) => {
    client.on('slash_commands', async ({ ack }) => ack({ text: 'ok' }));
  };
  await withClient({ setup }, async ({ fake, next }) => {
    const sim = fake.socketMode;
    await sim.waitForConnection(1);
    const reconnecting = next('reconnecting');
    assert.equal(sim.drop(), 1);
    await reconnecting;
    await sim.waitForConnection(2);
    const [first] = sim.connections;
    assert.equal(first?.dropped, true);
    assert.equal(first?.closeCode, 1006);
    assert.deepEqual((await sim.deliver('slash_commands', slashCommand('again'))).payload, { text: 'ok' });
    assert.equal(sim.deliveries[0]?.connection, 2);
    assert.equal(fake.callsOf('apps.connections.open').length, 2);
  });
});

test('an envelope not acked in time is redelivered with retry_attempt 1; redeliver() models a lost ack', async () => {
  const seen: Array<{ retryNum: unknown; retryReason: unknown }> = [];
  const setup = (client: SocketModeClient) => {
    client.on('app_home_opened', async ({ ack, retry_num, retry_reason }) => {
      seen.push({ retryNum: retry_num, retryReason: retry_reason });
      if (retry_num !== undefined) await ack(); // the first delivery is "lost" in the app: never acked
    });
  };
  // maxRetries 1: exactly one automatic retry however slow the machine is.
  await withClient({ setup, socketMode: { redeliverAfterMs: 100, maxRetries: 1 } }, async ({ fake }) => {
    const sim = fake.socketMode;
    const payload = eventCallbackPayload({ type: 'app_home_opened', user: 'U0ALICE', tab: 'home' });
    const ack = await sim.deliver('events_api', payload, { ackTimeoutMs: WAIT_MS });
    const deliveries = sim.deliveriesOf(ack.envelope_id);
    assert.deepEqual(
      deliveries.map((d) => [d.retryAttempt, d.retryReason, d.explicit]),
      [
        [0, undefined, false],
        [1, 'timeout', false],
      ],
    );
    assert.equal(deliveries[1]?.message.retry_attempt, 1);
    assert.deepEqual(seen, [
      { retryNum: undefined, retryReason: undefined },
      { retryNum: 1, retryReason: 'timeout' },
    ]);
    assert.equal(sim.envelope(ack.envelope_id)?.retries, 1);

    // The ack was sent but (say) lost: Slack sends the same envelope again, retry_attempt 1.
    const again = await sim.redeliver(ack.envelope_id);
    assert.equal(again.envelope_id, ack.envelope_id);
    assert.equal(sim.acksOf(ack.envelope_id).length, 2);
    assert.deepEqual(sim.deliveriesOf(ack.envelope_id).at(-1)?.message, {
      envelope_id: ack.envelope_id,
      type: 'events_api',
      payload,
      accepts_response_payload: false,
      retry_attempt: 1,
      retry_reason: 'timeout',
    });
    assert.equal(sim.deliveriesOf(ack.envelope_id).at(-1)?.explicit, true);
  });
});

test('an envelope never acked is retried 3 times, then Slack gives up and deliver() rejects', async () => {
  const setup = (client: SocketModeClient) => {
    client.on('app_home_opened', () => {}); // never acks
  };
  await withClient({ setup, socketMode: { redeliverAfterMs: 50 } }, async ({ fake }) => {
    const sim = fake.socketMode;
    const acked = sim.deliver('events_api', eventCallbackPayload({ type: 'app_home_opened', user: 'U0ALICE' }), {
      envelopeId: 'env-never-acked',
      ackTimeoutMs: 1_000,
    });
    await sim.waitFor(() => sim.envelope('env-never-acked')?.gaveUp, WAIT_MS);
    assert.deepEqual(
      sim.deliveriesOf('env-never-acked').map((d) => d.retryAttempt),
      [0, 1, 2, 3],
    );
    await assert.rejects(acked, /ack #1 of envelope env-never-acked not met within 1000 ms/);
    assert.equal(sim.acks.length, 0);
  });
});

test('apps.connections.open refuses a wrong or missing app token, and the bot token; a ticket works once', async () => {
  const fake = await FakeSlack.start({ appToken: APP_TOKEN });
  const logs: string[] = [];
  const client = newClient(fake, logs, 'xapp-fake-wrong-token');
  try {
    await assert.rejects(
      client.start(),
      (error: { data?: { error?: string } }) => error.data?.error === 'invalid_auth',
    );
    assert.equal(fake.socketMode.connectionCount, 0);
    const open = (authorization?: string) =>
      fetch(`${fake.apiUrl}apps.connections.open`, {
        method: 'POST',
        headers: authorization === undefined ? {} : { authorization },
      }).then((r) => r.json() as Promise<{ ok: boolean; error?: string; url?: string }>);
    assert.deepEqual(await open(), { ok: false, error: 'not_authed' });
    assert.deepEqual(await open(`Bearer ${fake.token}`), { ok: false, error: 'not_allowed_token_type' });
    const granted = await open(`Bearer ${APP_TOKEN}`);
    assert.equal(granted.ok, true);
    assert.deepEqual(
      fake.callsOf('apps.connections.open').map((c) => (c.response as { error?: string }).error ?? 'ok'),
      ['invalid_auth', 'not_authed', 'not_allowed_token_type', 'ok'],
    );

    const url = granted.url ?? assert.fail('no url');
    const hello = await firstMessage(url);
    assert.deepEqual(hello, {
      type: 'hello',
      num_connections: 1,
      debug_info: { host: 'applink-sim', build_number: 1, approximate_connection_time: 18060 },
      connection_info: { app_id: 'A0DKIMBOT' },
    });
    await assert.rejects(firstMessage(url), /401/);
    const forged = url.replace(/ticket=[^&]+/, 'ticket=00000000-0000-4000-8000-000000000000');
    await assert.rejects(firstMessage(forged), /401/);
    assert.deepEqual(
      fake.socketMode.rejectedUpgrades.map((r) => r.reason),
      ['used_ticket', 'unknown_ticket'],
    );
  } finally {
    await client.disconnect();
    await fake.close();
  }
});

/** Opens `url` with a plain `ws` client, resolves with the first message, then closes. */
function firstMessage(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => ws.terminate(), WAIT_MS);
    ws.once('message', (data) => {
      clearTimeout(timer);
      ws.close();
      ws.once('close', () => resolve(JSON.parse(String(data))));
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

const quietLogger = recordingLogger([]);

test('Bolt App with socketMode: a slash command runs its listener and ack({text}) is the envelope ack', async () => {
  const fake = await FakeSlack.start({ appToken: APP_TOKEN });
  const app = new App({
    socketMode: true,
    appToken: APP_TOKEN,
    token: fake.token,
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    logger: quietLogger,
  });
  const commands: string[] = [];
  app.command('/dkim', async ({ ack, command }) => {
    commands.push(command.text);
    await ack({ response_type: 'ephemeral', text: `Checking ${command.text}…` });
  });
  try {
    await app.start();
    const sim = fake.socketMode;
    const ack = await sim.deliver('slash_commands', slashCommand('status example.fr'));
    assert.deepEqual(ack.payload, { response_type: 'ephemeral', text: 'Checking status example.fr…' });
    assert.deepEqual(commands, ['status example.fr']);
    assert.equal(fake.callsOf('apps.connections.open').length, 1);
  } finally {
    await app.stop(); // resolves before the link is closed: SocketModeReceiver.stop() does not await disconnect()
    await fake.socketMode.waitFor(() => fake.socketMode.openConnections().length === 0, WAIT_MS);
    await fake.close();
  }
});

test('Bolt SocketModeReceiver with clientPingTimeout: reconnects after refresh and answers a view_submission', async () => {
  const fake = await FakeSlack.start({ appToken: APP_TOKEN });
  const receiver = new SocketModeReceiver({
    appToken: APP_TOKEN,
    clientPingTimeout: CLIENT_PING_TIMEOUT_MS,
    logger: quietLogger,
    installerOptions: { clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } } },
  });
  const app = new App({
    receiver,
    token: fake.token,
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    logger: quietLogger,
  });
  app.view('batch', async ({ ack }) => {
    await ack({ response_action: 'errors', errors: { domains: 'No domain given' } });
  });
  try {
    await app.start();
    const sim = fake.socketMode;
    await sim.waitForConnection(1);
    sim.refresh();
    await sim.waitForConnection(2);
    const payload = viewSubmissionPayload({ userId: 'U0ALICE', callbackId: 'batch', values: { domains: { d: '' } } });
    const ack = await sim.deliver('interactive', payload);
    assert.deepEqual(ack.payload, { response_action: 'errors', errors: { domains: 'No domain given' } });
    assert.equal(sim.deliveries[0]?.connection, 2);
  } finally {
    await app.stop();
    await fake.socketMode.waitFor(() => fake.socketMode.openConnections().length === 0, WAIT_MS);
    await fake.close();
  }
});
