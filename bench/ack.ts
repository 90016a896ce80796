import { parseConfig } from '../src/config.ts';
import { silentLogger } from '../src/log.ts';
import { startBot } from '../src/slack/app.ts';
import { testEnv } from '../test/harness.ts';
import { OvhSim } from '../test/sim/ovh.ts';
import { FakeSlack, sendToBot, slashCommandBody } from '../test/sim/slack.ts';
import { trustInProcess } from '../test/sim/tls.ts';

export interface AckFigures {
  commands: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  statuses: Record<number, number>;
  startupMs: number;
}

/** `concurrent` signed `/dkim setup` commands at once against the real bot in HTTP mode; ack latency as Slack sees it. */
export async function benchAck(concurrent = 100): Promise<AckFigures> {
  const sim = await OvhSim.start({ faults: { slowMs: 200, slowRate: 1, seed: 1 } });
  trustInProcess(sim.certPem);
  const slack = await FakeSlack.start({ botToken: 'xoxb-bench-token' });
  const secret = 'bench-signing-secret';
  const config = parseConfig(
    testEnv(sim, {
      SLACK_BOT_TOKEN: 'xoxb-bench-token',
      SLACK_SIGNING_SECRET: secret,
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      OVH_RATE_LIMIT_PER_MIN: '6000',
    }),
  );

  const booted = performance.now();
  const bot = await startBot(config, { log: silentLogger, poll: false });
  const startupMs = performance.now() - booted;
  const url = `http://127.0.0.1:${bot.port}/slack/events`;
  for (let i = 0; i < concurrent; i++)
    sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: `ack-${i}.fr`, zone: true });
  try {
    const answers = await Promise.all(
      Array.from({ length: concurrent }, (_, i) =>
        sendToBot(
          url,
          secret,
          slashCommandBody({
            text: `setup ack-${i}.fr`,
            userId: 'UBENCH',
            channelId: 'CBENCH',
            responseUrl: slack.responseUrl(`r${i}`),
          }),
        ),
      ),
    );
    const times = answers.map((a) => a.elapsedMs).sort((a, b) => a - b);
    const statuses: Record<number, number> = {};
    for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    return {
      commands: concurrent,
      p50Ms: percentile(times, 0.5),
      p99Ms: percentile(times, 0.99),
      maxMs: times.at(-1)!,
      statuses,
      startupMs,
    };
  } finally {
    sim.faults = {};
    await bot.stop();
    await slack.close();
    await sim.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}
