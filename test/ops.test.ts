import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APPROVE_ACTION } from '../src/slack/render/cards.ts';
import { APPROVER, isState } from './harness.ts';
import { card, readyThread } from './slack-flow-helpers.ts';
import { latestRun, type SlackHarness, type SlackMode, startSlackHarness } from './slack-harness.ts';

/**
 * What an operator watches, over HTTP and Socket Mode: /healthz tells the truth and never crashes; /metrics counts
 * what really happened; a hung Slack neither holds the engine nor posts twice.
 */

const EVERY_SECOND = '* * * * * *';

async function get(h: SlackHarness, path: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${h.bot.port}${path}`);
  return { status: response.status, text: await response.text() };
}

/** Polls (bounded) until `check` holds; the pollers run on real time. */
async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, within = 10_000): Promise<T> {
  const until = Date.now() + within;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) assert.fail('the condition did not come true in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** `name{labels} value` lines of a Prometheus text, summed over the lines whose labels include `labels`. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const has = Object.entries(labels).every(([k, v]) => (match[2] ?? '').includes(`${k}="${v}"`));
    if (has) sum += Number(match[3]);
  }
  return sum;
}

for (const mode of ['http', 'socket'] as SlackMode[]) {
  const label = mode === 'http' ? 'HTTP mode' : 'Socket Mode';

  test(`${label}: /healthz says 503 with the reason when the poller stops or the database breaks, and the bot lives on`, async () => {
    const h = await startSlackHarness({ mode, poll: true, env: { POLL_CRON: EVERY_SECOND } });
    try {
      const healthy = await eventually(async () => {
        const answer = await get(h, '/healthz');
        return answer.status === 200 && JSON.parse(answer.text).pollerLastCycle ? answer : undefined;
      });
      const body = JSON.parse(healthy.text);
      assert.equal(body.ok, true);
      assert.equal(body.activeRuns, 0);
      assert.ok(body.pollerLastCycle, 'the last cycle of the poller is shown');

      await h.bot.poller.stop();
      const stalled = await eventually(async () => {
        const answer = await get(h, '/healthz');
        return answer.status === 503 ? answer : undefined;
      }, 5_000);
      assert.match(JSON.parse(stalled.text).reasons.join(), /the poller has not completed a cycle for \d+ s/);

      h.bot.core.store.db.close();
      const broken = await get(h, '/healthz');
      assert.equal(broken.status, 503);
      assert.match(JSON.parse(broken.text).reasons.join(), /the database does not answer/);
      assert.equal((await get(h, '/metrics')).status, 503, 'a scrape that cannot read the database says so');
      assert.equal((await get(h, '/healthz')).status, 503, 'the health check answers again: the process lives');
    } finally {
      await h.close();
    }
  });

  test(`${label}: /metrics counts what happened: OVH requests as the simulator saw them, runs as the table holds them`, async () => {
    const h = await startSlackHarness({ mode });
    try {
      const { run, parentTs } = await readyThread(h, 'metrics.fr');
      await h.click(card(h, 'C1', parentTs), APPROVE_ACTION, APPROVER);
      assert.equal((await h.drive(isState('done'), run.id)).state, 'done');
      await h.command('setup nowhere.fr');
      await h.drive(isState('failed'), latestRun(h).id);
      const scrape = await get(h, '/metrics');
      assert.equal(scrape.status, 200);
      const ovh = h.sim.requests.filter((r) => r.path !== '/auth/time');
      assert.equal(metric(scrape.text, 'dkim_ovh_requests_total'), ovh.length, 'every OVH request, once');
      assert.equal(
        metric(scrape.text, 'dkim_ovh_requests_total', { method: 'POST', status: '200' }),
        ovh.filter((r) => r.method === 'POST' && r.status === 200).length,
      );
      assert.equal(metric(scrape.text, 'dkim_ovh_request_seconds_count'), ovh.length);
      const table = h.bot.core.store.runs.countsByKindAndState();
      for (const { kind, state, n } of table) assert.equal(metric(scrape.text, 'dkim_runs', { kind, state }), n);
      assert.equal(metric(scrape.text, 'dkim_runs'), 2);
      const posted = h.slack.callsOf('chat.postMessage').filter((c) => (c.response as { ok?: boolean }).ok);
      assert.equal(
        metric(scrape.text, 'dkim_slack_requests_total', { method: 'chat.postMessage', ok: 'true' }),
        posted.length,
      );
      assert.equal(metric(scrape.text, 'dkim_outbox_pending'), h.bot.core.store.outbox.pendingCount());
      assert.equal(metric(scrape.text, 'dkim_approvals_pending'), 0);
      assert.match(scrape.text, /^process_cpu_user_seconds_total /m, "Node's own figures too");
    } finally {
      await h.close();
    }
  });

  for (const outage of ['hang', 'stall'] as const) {
    test(`${label}: a hung Slack (${outage === 'hang' ? 'no answer' : 'an answer whose body stops'}) holds neither the engine nor the outbox: calls end at SLACK_TIMEOUT_MS, nothing is posted twice`, async () => {
      const h = await startSlackHarness({
        mode,
        poll: true,
        env: { POLL_CRON: EVERY_SECOND, SLACK_TIMEOUT_MS: '300' },
      });
      try {
        h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'hung.fr', zone: true });
        await h.command('setup hung.fr');
        const runId = latestRun(h).id;
        h.slack.outage(true, outage);
        // The engine's cycle goes on while every Slack call hangs: the run reaches its approval card.
        await eventually(() => (h.bot.core.store.runs.get(runId)?.state === 'awaiting_approval' ? true : undefined));
        assert.ok(h.bot.core.store.outbox.pendingCount() > 0, 'its messages wait');
        const healthy = await get(h, '/healthz');
        if (mode === 'http') assert.equal(healthy.status, 200, 'the engine cycles: healthy while Slack hangs');
        h.slack.outage(false);
        // The failed deliveries wait their backoff on the bot's clock, which the test moves.
        await eventually(() => {
          h.clock.advance(60_000);
          return h.bot.core.store.outbox.pendingCount() === 0 ? true : undefined;
        }, 30_000);
        const thread = h.slack.thread('C1', h.bot.core.store.runs.get(runId)!.threadTs!);
        const texts = thread.map((m) => JSON.stringify(m.versions.at(-1) ?? m));
        assert.equal(new Set(texts).size, texts.length, 'no message posted twice');
        assert.equal(h.slack.messages('C1').length, 1, 'one parent message');
      } finally {
        await h.close();
      }
    });
  }
}
