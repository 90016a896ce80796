/**
 * Slash-command ack latency, beside its floor, measured in the same run the same way.
 *
 * Three kinds of process, none sharing an event loop with another: the simulators (bench/sims.ts: OVH answering every
 * call in 200 ms, FakeSlack), the app measured (the bot as `npm start` starts it, or bench/floor-app.ts: a bare Bolt
 * app with the bot's receiver that only acks), and this process, which only sends the load: `concurrent` signed
 * `/dkim setup ack-<i>.fr` commands at once, each on a fresh TCP connection as Slack sends them, after thirty warm-up
 * commands one after the other (not counted). Latency: from the request's start (before connecting) to the last byte of the answer.
 * The bot polls every second, as it runs when watched closely, so that a burst may meet a poll cycle. Rounds of
 * floor, bot, bot with /metrics scraped during the burst; every round is returned, and the medians.
 *
 * BENCH_CPU_PROF=<dir>: every run writes V8 CPU profiles in <dir>/<run> (bot-1, scraped-1, floor-1, …)
 * (one file per thread: with `--import tsx` the loader has a thread of its own), with window.json: the measured
 * load's start and end on the profiles' clock. `node --import tsx bench/profile-summary.ts <dir>/bot` reads them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { signSlackRequest, slashCommandBody } from '../test/sim/slack.ts';
import { baseEnv, Child, withProfile } from './child.ts';
import type { SimsReady } from './sims.ts';

/**
 * How `npm start` runs the bot, from the repository's root. The one place to change when it changes (e.g. to
 * `['node', 'dist/main.js']` after `npm run build`).
 */
export const BOT_COMMAND: readonly string[] = ['node', 'dist/main.js'];
/** The floor app, with the same node and loader flags as the bot, so that both pay the same start-up costs. */
const FLOOR_COMMAND: readonly string[] = ['node', '--import', 'tsx', 'bench/floor-app.ts'];
const SIMS_COMMAND: readonly string[] = ['node', '--import', 'tsx', 'bench/sims.ts'];

const SIGNING_SECRET = 'bench-signing-secret';
const WARM_UP_SETTLE_MS = 4_000;
const WARM_UP_COMMANDS = 30;
/** Rounds of floor, bot, bot scraped; the floor runs once more at the end. */
const ROUNDS = 6;
/** As an operator runs it when watching closely: the poller (engine, outbox) every second, during the bursts too. */
const POLL_EVERY_SECOND = '* * * * * *';
const REQUEST_TIMEOUT_MS = 30_000;
/** DESIGN §7: the bot's ack p99 at most this many times the bare Bolt app's, under the same load. */
export const ACK_P99_TARGET_RATIO = 1.5;

/** The run whose p99 is the median. */
function medianBy<T extends { p99Ms: number }>(runs: T[]): T {
  return [...runs].sort((a, b) => a.p99Ms - b.p99Ms)[Math.floor(runs.length / 2)]!;
}

export interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** HTTP status → count; 0 counts a request that failed or timed out. All must be 200. */
  statuses: Record<number, number>;
  /** From spawning the process to it listening (the bot's "dkim-bot started" line, the floor's port line). */
  startupMs: number;
}

export interface BotFigures extends LatencyFigures {
  /** Answers saying a run was started (the full path, not a refusal). */
  started: number;
  /** Log lines the bot wrote on stderr while the measured commands were in flight. */
  logLines: number;
  /** GET /metrics answered back to back from just before the burst to its end (scraped rounds only); the slowest. */
  scrapes: number;
  scrapeMaxMs: number;
}

export interface AckRound {
  floor: LatencyFigures;
  bot: BotFigures;
  /** The same bot, /metrics scraped back to back while the commands are in flight. */
  scraped: BotFigures;
}

export interface AckFigures {
  commands: number;
  botCommand: string;
  /** Every round, in order: its floor, then the bot, then the bot scraped. */
  rounds: AckRound[];
  /** The floor's closing run (after the last round). */
  lastFloor: LatencyFigures;
  /** The runs with the median p99. */
  bot: BotFigures;
  scraped: BotFigures;
  floor: LatencyFigures;
  /** bot p99 ÷ floor p99, both medians. */
  p99Ratio: number;
  /** The worst round's bot p99 ÷ the floor's median p99 (bot and scraped alike). */
  worstRoundRatio: number;
  /** The worst round's bot p99 ÷ the p99 of the floor measured just before it, in the same round. */
  worstOwnRoundRatio: number;
  targetRatio: number;
}

export async function benchAck(concurrent = 100): Promise<AckFigures> {
  const work = mkdtempSync(join(tmpdir(), 'dkim-bot-ack-'));
  const profileDir = process.env.BENCH_CPU_PROF ? resolve(process.env.BENCH_CPU_PROF) : undefined;
  const children = new Set<Child>();
  const killAll = () => {
    for (const child of children) child.proc.kill('SIGKILL');
  };
  process.on('exit', killAll);
  const started = (child: Child) => {
    children.add(child);
    return child;
  };
  try {
    const sims = started(Child.spawn('sims', [...SIMS_COMMAND, String(concurrent)], baseEnv(), 'pipe'));
    const ready = (await sims.waitForLine('stdout', (line) => JSON.parse(line) as SimsReady)).value;

    const floorEnv = {
      ...baseEnv(),
      SLACK_BOT_TOKEN: ready.botToken,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: ready.apiUrl,
      PORT: '0',
    };
    const botEnv = {
      ...floorEnv,
      // Set, even empty, so that a developer's .env cannot switch the bot to Socket Mode (values already set win).
      SLACK_APP_TOKEN: '',
      OVH_ENDPOINT: ready.endpoint,
      OVH_APP_KEY: ready.appKey,
      OVH_APP_SECRET: ready.appSecret,
      OVH_CONSUMER_KEY: ready.consumerKey,
      DNS_SERVERS: ready.dnsServer,
      DATABASE_PATH: join(work, 'db.sqlite'),
      DKIM_APPROVERS: 'UAPPROVER',
      OVH_RATE_LIMIT_PER_MIN: '6000',
      POLL_CRON: POLL_EVERY_SECOND,
      LOG_LEVEL: 'info',
      NODE_EXTRA_CA_CERTS: ready.caFile,
    };

    const runFloor = async (name: string): Promise<LatencyFigures> => {
      const command = withProfile(FLOOR_COMMAND, profileDir, name);
      const floor = started(Child.spawn(name, command, floorEnv, 'pipe'));
      const { value: port, elapsedMs: startupMs } = await floor.waitForLine('stdout', (line) => {
        const port = (JSON.parse(line) as { port?: unknown }).port;
        if (typeof port !== 'number') throw new Error('no port');
        return port;
      });
      const window = profileDir && join(profileDir, name, 'window.json');
      const { samples } = await measure(port, ready, concurrent, name, window);
      await floor.stop();
      children.delete(floor);
      return { ...summarize(samples), startupMs };
    };

    const runBot = async (name: string, scrape: boolean): Promise<BotFigures> => {
      const env = { ...botEnv, DATABASE_PATH: join(work, `${name}.sqlite`) };
      const bot = started(Child.spawn(name, withProfile(BOT_COMMAND, profileDir, name), env, 'ignore'));
      const { value: port, elapsedMs: startupMs } = await bot.waitForLine('stderr', (line) => {
        const entry = JSON.parse(line) as { msg?: unknown; port?: unknown };
        if (entry.msg !== 'dkim-bot started' || typeof entry.port !== 'number') throw new Error('not yet');
        return entry.port;
      });
      let linesBefore = 0;
      const window = profileDir && join(profileDir, name, 'window.json');
      const { samples, scrapes } = await measure(port, ready, concurrent, name, window, {
        beforeLoad: () => {
          linesBefore = bot.stderrLines;
        },
        scrape,
      });
      const logLines = bot.stderrLines - linesBefore;
      await bot.stop();
      children.delete(bot);
      const started_ = samples.filter((sample) => sample.body.includes('Started DKIM setup')).length;
      const scrapeMaxMs = Math.max(0, ...scrapes.map((s) => s.elapsedMs));
      if (scrapes.some((s) => s.status !== 200)) throw new Error(`${name}: a scrape of /metrics failed`);
      return { ...summarize(samples), startupMs, started: started_, logLines, scrapes: scrapes.length, scrapeMaxMs };
    };

    // Alternated rounds, floor first and last, so that whatever else the machine does falls on all alike.
    const rounds: AckRound[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const floor = await runFloor(`floor-${round}`);
      const bot = await runBot(`bot-${round}`, false);
      const scraped = await runBot(`scraped-${round}`, true);
      rounds.push({ floor, bot, scraped });
    }
    const lastFloor = await runFloor(`floor-${ROUNDS + 1}`);
    await sims.stop();
    children.delete(sims);
    const bot = medianBy(rounds.map((r) => r.bot));
    const scraped = medianBy(rounds.map((r) => r.scraped));
    const floor = medianBy([...rounds.map((r) => r.floor), lastFloor]);
    const ratios = rounds.flatMap((r) => [r.bot.p99Ms / floor.p99Ms, r.scraped.p99Ms / floor.p99Ms]);
    return {
      commands: concurrent,
      botCommand: BOT_COMMAND.join(' '),
      rounds,
      lastFloor,
      bot,
      scraped,
      floor,
      p99Ratio: bot.p99Ms / floor.p99Ms,
      worstRoundRatio: Math.max(...ratios),
      worstOwnRoundRatio: Math.max(
        ...rounds.flatMap((r) => [r.bot.p99Ms / r.floor.p99Ms, r.scraped.p99Ms / r.floor.p99Ms]),
      ),
      targetRatio: ACK_P99_TARGET_RATIO,
    };
  } finally {
    await Promise.allSettled([...children].map((child) => child.stop()));
    process.off('exit', killAll);
    rmSync(work, { recursive: true, force: true });
  }
}

interface Sample {
  status: number;
  body: string;
  elapsedMs: number;
}

/**
 * Warm-up commands, then `concurrent` at once; `beforeLoad` runs between the two. With `scrape`, GET /metrics is
 * sent back to back (one at a time, as many as fit) while the commands are in flight. With `profileWindow`, writes
 * the load's time window there.
 */
async function measure(
  port: number,
  ready: SimsReady,
  concurrent: number,
  label: string,
  profileWindow: string | undefined,
  options: { beforeLoad?: () => void; scrape?: boolean } = {},
): Promise<{ samples: Sample[]; scrapes: Sample[] }> {
  const body = (domain: string, id: string) =>
    slashCommandBody({
      text: `setup ${domain}`,
      // One user per command: MAX_ACTIVE_RUNS_PER_USER (20) would refuse most of them, a cheaper path.
      userId: `UBENCH${id.toUpperCase()}`,
      userName: `bench-${id}`,
      channelId: 'CBENCH',
      responseUrl: `${ready.responseUrlBase}${label}-${id}`,
    });
  // Warm-up, one command after the other: enough calls for V8 to compile the command's path, as in a bot that has run
  // for a while (the first on a domain OVH has, the others on names it does not: those runs end at discovery).
  for (let i = 0; i < WARM_UP_COMMANDS; i++) {
    const domain = i === 0 ? ready.warmupDomain : `warm-${i}.fr`;
    const warm = await post(port, signed(body(domain, `w${i}`)));
    if (warm.status !== 200) throw new Error(`${label}: a warm-up command answered ${warm.status}: ${warm.body}`);
  }
  // Prometheus scrapes from the start: the scrapes measured meet a warm /metrics, as the commands a warm listener.
  if (options.scrape) await send(port, 'GET', '/metrics');
  // The warm-up's own work (its first steps, its first Slack post: code run for the first time) is let finish, for
  // the floor and the bot alike: the burst then meets a process in its steady state.
  await new Promise((resolveWait) => setTimeout(resolveWait, WARM_UP_SETTLE_MS));
  options.beforeLoad?.();
  // Bodies signed before any timer starts; the requests then all leave in one synchronous loop.
  const requests = Array.from({ length: concurrent }, (_, i) => signed(body(`ack-${i}.fr`, String(i))));
  // Scraped: the scrapes begin a moment before the burst, so that the burst meets a scrape under way.
  let loading = true;
  const scrapes: Sample[] = [];
  const scraping = (async () => {
    while (options.scrape && loading) scrapes.push(await send(port, 'GET', '/metrics'));
  })();
  if (options.scrape) await new Promise((resolveWait) => setTimeout(resolveWait, 20));
  const startUs = monotonicUs();
  const samples = await Promise.all(requests.map((r) => post(port, r)));
  loading = false;
  await scraping;
  if (profileWindow) writeFileSync(profileWindow, JSON.stringify({ startUs, endUs: monotonicUs() }));
  return { samples, scrapes };
}

/** CLOCK_MONOTONIC in µs: the clock of V8's CPU profiles in the other processes too (Linux). */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

interface SignedRequest {
  body: string;
  headers: Record<string, string>;
}

function signed(body: string): SignedRequest {
  return {
    body,
    headers: { ...signSlackRequest(SIGNING_SECRET, body), 'content-length': String(Buffer.byteLength(body)) },
  };
}

/**
 * POSTs on a connection of its own (`agent: false`: a new TCP connection, `Connection: close`), as Slack does.
 * sendToBot uses fetch, whose global pool keeps connections alive and would reuse the warm-up's.
 */
function post(port: number, { body, headers }: SignedRequest): Promise<Sample> {
  return send(port, 'POST', '/slack/events', body, headers);
}

function send(
  port: number,
  method: 'GET' | 'POST',
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Sample> {
  return new Promise((resolveSample) => {
    const started = performance.now();
    const done = (status: number, text: string) =>
      resolveSample({ status, body: text, elapsedMs: performance.now() - started });
    const req = request({ host: '127.0.0.1', port, path, method, agent: false, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
      res.on('error', (error) => done(0, String(error)));
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timeout')));
    req.on('error', (error) => done(0, String(error)));
    req.end(body);
  });
}

function summarize(samples: Sample[]): Omit<LatencyFigures, 'startupMs'> {
  const times = samples.map((s) => s.elapsedMs).sort((a, b) => a - b);
  const statuses: Record<number, number> = {};
  for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  return { p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99), maxMs: times.at(-1)!, statuses };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}
