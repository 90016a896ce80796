/**
 * Slash-command ack latency, beside its floor, measured in the same run the same way.
 *
 * Three processes, none sharing an event loop with another: the simulators (bench/sims.ts: OVH answering every call
 * in 200 ms, FakeSlack), the apps measured, both running all along: the bot as `npm start` starts it, and the floor
 * (bench/floor-app.mjs: a bare Bolt app built as the bot builds its own, whose listener only acks), and this process,
 * which only sends the load. A burst is `concurrent` signed `/dkim setup ack-….fr` commands at once, each on a fresh
 * TCP connection as Slack sends them. Latency: from the request's start (before connecting) to the last byte of the
 * answer. The bot polls every second, as it runs when watched closely, so that a burst may meet a poll cycle.
 *
 * Both apps are warmed up alike first (WARM_UP_COMMANDS one after the other, then WARM_UP_BURSTS bursts: a bot that
 * has run a while, its code compiled). Then the bursts alternate, each of the bot's between two of the floor's: floor,
 * bot, floor, bot with /metrics scraped back to back, floor, … so that whatever else the machine does over those
 * seconds falls on both alike. Each bot burst is set against the floor's median p99 over the whole run (the floor's
 * own bursts move by half from one to the next on this machine: a single neighbour is a noisy yardstick), and, printed
 * beside it, against the mean of the two floor bursts either side of it. Before every floor burst the bot is let
 * finish what its last burst started (its runs ended, its messages posted: read from /healthz and /metrics), so that
 * the floor is never measured beside the bot's work. Each app's garbage collections during each burst are read from
 * its /metrics (the floor counts its own the same way).
 *
 * BENCH_CPU_PROF=<dir>: V8 CPU profiles of the bot and the floor in <dir>/bot and <dir>/floor (one file per thread),
 * with windows.json: every burst's label, start and end on the profiles' clock.
 * `node --import tsx bench/profile-summary.ts <dir>/bot 25 scraped` reads the scraped bursts' windows.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { signSlackRequest, slashCommandBody } from '../test/sim/slack.ts';
import { baseEnv, Child, withProfile } from './child.ts';
import type { SimsReady } from './sims.ts';

/** How `npm start` runs the bot (built by `npm run bench` first), from the repository's root. */
export const BOT_COMMAND: readonly string[] = ['node', 'dist/main.js'];
/** The floor app, run as the bot is: plain node, no loader. */
const FLOOR_COMMAND: readonly string[] = ['node', 'bench/floor-app.mjs'];
const SIMS_COMMAND: readonly string[] = ['node', '--import', 'tsx', 'bench/sims.ts'];

const SIGNING_SECRET = 'bench-signing-secret';
/**
 * Commands one after the other, then bursts, before anything is measured: V8 optimizes a path only after many calls,
 * and a burst's own paths (many connections at once) only after many bursts. With five, each app's CPU time per burst
 * still fell by about a third over the next fourteen (both apps alike): the first rounds measured a bot still warming.
 */
const WARM_UP_COMMANDS = 300;
const WARM_UP_BURSTS = 20;
/** Rounds of bot, floor, bot scraped, floor. */
const ROUNDS = 6;
/** As an operator runs it when watching closely: the poller (engine, outbox) every second, during the bursts too. */
const POLL_EVERY_SECOND = '* * * * * *';
const REQUEST_TIMEOUT_MS = 30_000;
/** How long the bot may take to finish what a burst started (100 runs ended at discovery, their messages posted). */
const QUIET_TIMEOUT_MS = 60_000;
/** DESIGN §7: the bot's ack p99 at most this many times the bare Bolt app's, under the same load. */
export const ACK_P99_TARGET_RATIO = 1.5;

/** The item whose `key` is the median (the upper one of an even count). */
function medianBy<T>(items: T[], key: (item: T) => number): T {
  return [...items].sort((a, b) => key(a) - key(b))[Math.floor(items.length / 2)]!;
}

const byP99 = (figures: { p99Ms: number }) => figures.p99Ms;

export interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** HTTP status → count; 0 counts a request that failed or timed out. All must be 200. */
  statuses: Record<number, number>;
  /** The app's garbage collections during the burst (read from its /metrics before and after). */
  gc: GcTally;
  /** The app's CPU time during the burst, every thread (process_cpu_seconds_total before and after). */
  cpuMs: number;
}

export interface GcTally {
  count: number;
  ms: number;
  /** Of which major (mark-compact) collections. */
  majorMs: number;
}

export interface BotFigures extends LatencyFigures {
  /** Answers saying a run was started (the full path, not a refusal). */
  started: number;
  /** Log lines the bot wrote on stderr while the measured commands were in flight. */
  logLines: number;
  /** GET /metrics answered back to back from just before the burst to its end (scraped bursts only); the slowest. */
  scrapes: number;
  scrapeMaxMs: number;
}

export interface AckRound {
  floorBefore: LatencyFigures;
  bot: BotFigures;
  /** After the bot's burst and before the scraped one: the floor of both. */
  floorBetween: LatencyFigures;
  /** The same bot, /metrics scraped back to back while the commands are in flight. */
  scraped: BotFigures;
  floorAfter: LatencyFigures;
  /** bot p99 ÷ the mean p99 of the floor bursts either side of it; the same for the scraped burst. */
  botRatio: number;
  scrapedRatio: number;
}

export interface AckFigures {
  commands: number;
  botCommand: string;
  /** From spawning the process to it listening (the bot's "dkim-bot started" line, the floor's port line). */
  startupMs: { bot: number; floor: number };
  /** Each app's resident memory once the bursts are over (process_resident_memory_bytes). */
  rssMiB: { bot: number; floor: number };
  rounds: AckRound[];
  /** The bursts with the median p99. */
  bot: BotFigures;
  scraped: BotFigures;
  floor: LatencyFigures;
  /** Every floor burst, in order. */
  floors: LatencyFigures[];
  /** bot p99 ÷ floor p99, both medians. */
  p99Ratio: number;
  /** The worst burst's p99 ÷ the floor's median p99 (bot and scraped alike). */
  worstBurstRatio: number;
  /** The worst burst's ratio to the floor bursts either side of it. */
  worstNeighboursRatio: number;
  /** The median CPU time of the bot's unscraped bursts and of the floor's, every thread of each. */
  cpuMs: { bot: number; floor: number };
  targetRatio: number;
}

interface App {
  child: Child;
  port: number;
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
  const windows: { label: string; startUs: number; endUs: number }[] = [];
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

    const floorChild = started(Child.spawn('floor', withProfile(FLOOR_COMMAND, profileDir, 'floor'), floorEnv, 'pipe'));
    const floorUp = await floorChild.waitForLine('stdout', (line) => {
      const port = (JSON.parse(line) as { port?: unknown }).port;
      if (typeof port !== 'number') throw new Error('no port');
      return port;
    });
    const botChild = started(Child.spawn('bot', withProfile(BOT_COMMAND, profileDir, 'bot'), botEnv, 'ignore'));
    const botUp = await botChild.waitForLine('stderr', (line) => {
      const entry = JSON.parse(line) as { msg?: unknown; port?: unknown };
      if (entry.msg !== 'dkim-bot started' || typeof entry.port !== 'number') throw new Error('not yet');
      return entry.port;
    });
    const floor: App = { child: floorChild, port: floorUp.value };
    const bot: App = { child: botChild, port: botUp.value };

    const load = new Load(ready, concurrent);
    await load.warmUp(floor.port, 'floor');
    await load.warmUp(bot.port, 'bot');
    // Prometheus scrapes from the start: the scrapes measured meet a warm /metrics, as the commands a warm listener.
    await send(bot.port, 'GET', '/metrics');
    // The runs the warm-up left waiting (the one domain OVH has waits for its approval): the bot's steady state.
    const waiting = await quiet(bot.port, undefined);
    for (let i = 0; i < WARM_UP_BURSTS; i++) {
      await load.burst(floor.port, `warm-floor-${i}`);
      await load.burst(bot.port, `warm-bot-${i}`, i % 2 === 1);
      await quiet(bot.port, waiting);
    }

    const floorBurst = async (label: string): Promise<LatencyFigures> => {
      await quiet(bot.port, waiting);
      const { samples, window, gc, cpuMs } = await load.burst(floor.port, label);
      windows.push(window);
      return { ...summarize(samples), gc, cpuMs };
    };
    const botBurst = async (label: string, scrape: boolean): Promise<BotFigures> => {
      const linesBefore = bot.child.stderrLines;
      const { samples, scrapes, window, gc, cpuMs } = await load.burst(bot.port, label, scrape);
      windows.push(window);
      const logLines = bot.child.stderrLines - linesBefore;
      if (scrapes.some((s) => s.status !== 200)) throw new Error(`${label}: a scrape of /metrics failed`);
      return {
        ...summarize(samples),
        gc,
        cpuMs,
        started: samples.filter((sample) => sample.body.includes('Started DKIM setup')).length,
        logLines,
        scrapes: scrapes.length,
        scrapeMaxMs: Math.max(0, ...scrapes.map((s) => s.elapsedMs)),
      };
    };

    const floors: LatencyFigures[] = [await floorBurst('floor-0')];
    const rounds: AckRound[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const floorBefore = floors.at(-1)!;
      const botFigures = await botBurst(`bot-${round}`, false);
      const floorBetween = await floorBurst(`floor-${round}a`);
      const scraped = await botBurst(`scraped-${round}`, true);
      const floorAfter = await floorBurst(`floor-${round}b`);
      floors.push(floorBetween, floorAfter);
      rounds.push({
        floorBefore,
        bot: botFigures,
        floorBetween,
        scraped,
        floorAfter,
        botRatio: botFigures.p99Ms / mean(floorBefore.p99Ms, floorBetween.p99Ms),
        scrapedRatio: scraped.p99Ms / mean(floorBetween.p99Ms, floorAfter.p99Ms),
      });
    }
    if (profileDir) {
      writeFileSync(join(profileDir, 'bot', 'windows.json'), JSON.stringify(windows.filter((w) => !isFloor(w))));
      writeFileSync(join(profileDir, 'floor', 'windows.json'), JSON.stringify(windows.filter(isFloor)));
    }
    const rssMiB = { bot: await residentMiB(bot.port), floor: await residentMiB(floor.port) };
    await Promise.all([bot.child.stop(), floor.child.stop(), sims.stop()]);
    const botMedian = medianBy(
      rounds.map((r) => r.bot),
      byP99,
    );
    const floorMedian = medianBy(floors, byP99);
    return {
      commands: concurrent,
      botCommand: BOT_COMMAND.join(' '),
      startupMs: { bot: botUp.elapsedMs, floor: floorUp.elapsedMs },
      rssMiB,
      rounds,
      bot: botMedian,
      scraped: medianBy(
        rounds.map((r) => r.scraped),
        byP99,
      ),
      floor: floorMedian,
      floors,
      p99Ratio: botMedian.p99Ms / floorMedian.p99Ms,
      worstBurstRatio: Math.max(...rounds.flatMap((r) => [r.bot.p99Ms, r.scraped.p99Ms])) / floorMedian.p99Ms,
      worstNeighboursRatio: Math.max(...rounds.flatMap((r) => [r.botRatio, r.scrapedRatio])),
      cpuMs: {
        bot: medianBy(rounds, (r) => r.bot.cpuMs).bot.cpuMs,
        floor: medianBy(floors, (f) => f.cpuMs).cpuMs,
      },
      targetRatio: ACK_P99_TARGET_RATIO,
    };
  } finally {
    await Promise.allSettled([...children].map((child) => child.stop()));
    process.off('exit', killAll);
    rmSync(work, { recursive: true, force: true });
  }
}

function isFloor(window: { label: string }): boolean {
  return window.label.startsWith('floor');
}

function mean(a: number, b: number): number {
  return (a + b) / 2;
}

/**
 * Waits until the bot has done what the last burst started: its active runs back to `waiting` (or, undefined, the
 * same over three reads a second apart), no message waiting for Slack. Returns the active runs then.
 */
async function quiet(port: number, waiting: number | undefined): Promise<number> {
  const deadline = performance.now() + QUIET_TIMEOUT_MS;
  const seen: number[] = [];
  while (performance.now() < deadline) {
    const health = JSON.parse((await send(port, 'GET', '/healthz')).body) as { activeRuns?: unknown };
    const metrics = (await send(port, 'GET', '/metrics')).body;
    const outbox = metricValue(metrics, 'dkim_outbox_pending');
    const active = health.activeRuns;
    if (typeof active !== 'number') throw new Error('bench ack: /healthz no longer says the active runs');
    seen.push(active);
    const settled =
      waiting === undefined ? seen.length >= 3 && seen.slice(-3).every((n) => n === active) : active <= waiting;
    if (settled && outbox === 0) return active;
    await new Promise((resolveWait) => setTimeout(resolveWait, waiting === undefined ? 1_000 : 500));
  }
  throw new Error(`bench ack: the bot did not finish its work in ${QUIET_TIMEOUT_MS} ms`);
}

/**
 * The app's garbage collections and CPU time so far, from its /metrics (prom-client's nodejs_gc_duration_seconds and
 * process_cpu_seconds_total; the floor counts its own alike).
 */
async function usage(port: number): Promise<{ gc: GcTally; cpuMs: number }> {
  const tally = { count: 0, ms: 0, majorMs: 0 };
  const text = (await send(port, 'GET', '/metrics')).body;
  for (const [, what, kind, value] of text.matchAll(
    /^nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\} (\S+)$/gm,
  )) {
    if (what === 'count') tally.count += Number(value);
    else {
      tally.ms += Number(value) * 1000;
      if (kind === 'major') tally.majorMs += Number(value) * 1000;
    }
  }
  return { gc: tally, cpuMs: metricValue(text, 'process_cpu_seconds_total') * 1000 };
}

async function residentMiB(port: number): Promise<number> {
  return metricValue((await send(port, 'GET', '/metrics')).body, 'process_resident_memory_bytes') / 2 ** 20;
}

/** An unlabelled figure of a /metrics text; a figure missing fails the bench rather than printing NaN. */
function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  const value = Number(line?.slice(name.length + 1));
  if (line === undefined || Number.isNaN(value)) throw new Error(`bench ack: /metrics no longer says ${name}`);
  return value;
}

/** The commands sent: signed as Slack signs them, each from a user and for a domain of its own. */
class Load {
  private sent = 0;

  constructor(
    private readonly ready: SimsReady,
    private readonly concurrent: number,
  ) {}

  /**
   * One command after the other: enough calls for V8 to compile the command's path, as in a bot that has run for a
   * while (the first on a domain OVH has, the others on names it does not: those runs end at discovery).
   */
  async warmUp(port: number, label: string): Promise<void> {
    for (let i = 0; i < WARM_UP_COMMANDS; i++) {
      const domain = i === 0 ? this.ready.warmupDomain : `warm-${label}-${i}.fr`;
      const warm = await post(port, this.command(domain, label));
      if (warm.status !== 200) throw new Error(`${label}: a warm-up command answered ${warm.status}: ${warm.body}`);
    }
  }

  /**
   * `concurrent` commands at once. With `scrape`, GET /metrics is sent back to back (one at a time, as many as fit)
   * from a moment before the burst until its end.
   */
  async burst(
    port: number,
    label: string,
    scrape = false,
  ): Promise<{
    samples: Sample[];
    scrapes: Sample[];
    window: { label: string; startUs: number; endUs: number };
    gc: GcTally;
    cpuMs: number;
  }> {
    const before = await usage(port);
    // Bodies signed before any timer starts; the requests then all leave in one synchronous loop.
    const requests = Array.from({ length: this.concurrent }, (_, i) => this.command(`ack-${label}-${i}.fr`, label));
    // This process's own garbage collected now, so that its pauses do not land in the measurement.
    collectGarbage();
    let loading = true;
    const scrapes: Sample[] = [];
    const scraping = (async () => {
      while (scrape && loading) scrapes.push(await send(port, 'GET', '/metrics'));
    })();
    if (scrape) await new Promise((resolveWait) => setTimeout(resolveWait, 20));
    const startUs = monotonicUs();
    const samples = await Promise.all(requests.map((r) => post(port, r)));
    const endUs = monotonicUs();
    loading = false;
    await scraping;
    const after = await usage(port);
    const gc = {
      count: after.gc.count - before.gc.count,
      ms: after.gc.ms - before.gc.ms,
      majorMs: after.gc.majorMs - before.gc.majorMs,
    };
    return { samples, scrapes, window: { label, startUs, endUs }, gc, cpuMs: after.cpuMs - before.cpuMs };
  }

  private command(domain: string, label: string): SignedRequest {
    const id = `${label}-${this.sent++}`;
    return signed(
      slashCommandBody({
        text: `setup ${domain}`,
        // One user per command: MAX_ACTIVE_RUNS_PER_USER (20) would refuse most of them, a cheaper path.
        userId: `UBENCH${id.toUpperCase().replace(/[^A-Z0-9]/g, '')}`,
        userName: `bench-${id}`,
        channelId: 'CBENCH',
        responseUrl: `${this.ready.responseUrlBase}${id}`,
      }),
    );
  }
}

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** CLOCK_MONOTONIC in µs: the clock of V8's CPU profiles in the other processes too (Linux). */
function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

interface Sample {
  status: number;
  body: string;
  elapsedMs: number;
}

/** A command's HTTP request, written out in full before any timer starts. */
interface SignedRequest {
  bytes: Buffer;
}

function signed(body: string): SignedRequest {
  const headers = {
    host: '127.0.0.1',
    connection: 'close',
    ...signSlackRequest(SIGNING_SECRET, body),
    'content-length': String(Buffer.byteLength(body)),
  };
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return { bytes: Buffer.from(`POST /slack/events HTTP/1.1\r\n${head}\r\n${body}`) };
}

/**
 * POSTs on a connection of its own, as Slack does (a new TCP connection, `Connection: close`), read until the app
 * closes it. A bare socket rather than node:http's client: the load generator's own work (an HTTP parser and an agent
 * per request) would be a third of each burst's time, the apps idle meanwhile, and its variations noise on both.
 */
function post(port: number, { bytes }: SignedRequest): Promise<Sample> {
  return new Promise((resolveSample) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (status: number, text: string) => {
      if (settled) return;
      settled = true;
      resolveSample({ status, body: text, elapsedMs: performance.now() - started });
    };
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end(bytes));
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy(new Error('timeout')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => done(0, String(error)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      done(status, text.slice(text.indexOf('\r\n\r\n') + 4));
    });
  });
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

function summarize(samples: Sample[]): Omit<LatencyFigures, 'gc' | 'cpuMs'> {
  const times = samples.map((s) => s.elapsedMs).sort((a, b) => a - b);
  const statuses: Record<number, number> = {};
  for (const s of samples) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  return { p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99), maxMs: times.at(-1)!, statuses };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}
