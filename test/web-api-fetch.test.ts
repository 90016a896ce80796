import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { systemClock } from '../src/clock.ts';
import { Metrics } from '../src/ops/metrics.ts';
import { slackFetch } from '../src/slack/web-api-fetch.ts';
import { Store } from '../src/store/index.ts';

/** What the Web API client sends: a form-encoded text body, POSTed, redirects refused. */
const CALL = {
  method: 'POST',
  headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: 'Bearer xoxb-test' },
  body: 'channel=C1&text=h%C3%A9llo',
  redirect: 'error' as const,
};

/** A loopback server answering each request with `answer`; what it received is kept. */
async function serve(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const received: { method?: string; url?: string; body: string; authorization?: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, body, authorization: req.headers.authorization });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/chat.postMessage`,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function withFetch(
  timeoutMs: number,
  run: (fetch: typeof globalThis.fetch, counted: () => Promise<string>) => Promise<void>,
) {
  const store = Store.open(':memory:');
  try {
    const metrics = new Metrics(store, systemClock);
    const counted = async () =>
      (await metrics.text())
        .split('\n')
        .filter((line) => line.startsWith('dkim_slack_requests_total{'))
        .join('\n');
    await run(slackFetch(timeoutMs, metrics), counted);
  } finally {
    store.db.close();
  }
}

test('a Web API call goes out as sent and its answer comes back whole, counted ok by what Slack said', async () => {
  const slack = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-oauth-scopes': 'chat:write' });
    res.end(JSON.stringify({ ok: true, ts: '1.2' }));
  });
  try {
    await withFetch(2_000, async (fetch, counted) => {
      const response = await fetch(slack.url, CALL);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-oauth-scopes'), 'chat:write');
      assert.deepEqual(await response.json(), { ok: true, ts: '1.2' });
      assert.deepEqual(slack.received, [
        { method: 'POST', url: '/api/chat.postMessage', body: CALL.body, authorization: 'Bearer xoxb-test' },
      ]);
      assert.match(await counted(), /method="chat\.postMessage",ok="true"\} 1/);
    });
  } finally {
    await slack.close();
  }
});

test('an answer saying ok:false is returned as it came and counted as failed', async () => {
  const slack = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: false, error: 'channel_not_found' }));
  });
  try {
    await withFetch(2_000, async (fetch, counted) => {
      const response = await fetch(slack.url, CALL);
      assert.deepEqual(await response.json(), { ok: false, error: 'channel_not_found' });
      assert.match(await counted(), /method="chat\.postMessage",ok="false"\} 1/);
    });
  } finally {
    await slack.close();
  }
});

test('a redirect is an error, as the client asks (redirect: error), and nothing follows it', async () => {
  const slack = await serve((_req, res) => {
    res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
    res.end();
  });
  try {
    await withFetch(2_000, async (fetch, counted) => {
      await assert.rejects(fetch(slack.url, CALL), /redirected \(HTTP 302\)/);
      assert.equal(slack.received.length, 1);
      assert.match(await counted(), /ok="false"\} 1/);
    });
  } finally {
    await slack.close();
  }
});

test('an answer cut in the middle of its body is an error, not a short answer', async () => {
  const slack = await serve((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"ok":tr');
    setImmediate(() => req.socket.destroy());
  });
  try {
    await withFetch(2_000, async (fetch) => {
      await assert.rejects(fetch(slack.url, CALL));
    });
  } finally {
    await slack.close();
  }
});

test('an answer whose body stops ends at the time limit, with the reason', async () => {
  const slack = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"ok":');
  });
  try {
    await withFetch(200, async (fetch) => {
      await assert.rejects(fetch(slack.url, CALL), /Slack did not answer within 200 ms/);
    });
  } finally {
    await slack.close();
  }
});
