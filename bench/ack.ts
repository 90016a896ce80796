/**
 * Slash-command ack latency, beside its floor, measured in the same run the same way.
 *
 * Three kinds of process, none sharing an event loop with another: the simulators (bench/sims.ts: OVH answering every
 * call in 200 ms, FakeSlack), the app measured (the bot as `npm start` starts it, or bench/floor-app.ts: a bare Bolt
 * app with the bot's receiver that only acks), and this process, which only sends the load: `concurrent` signed
 * `/dkim setup ack-<i>.fr` commands at once, each on a fresh TCP connection as Slack sends them, after one warm-up
 * command (not counted). Latency: from the request's start (before connecting) to the last byte of the answer.
 * Order: floor, bot, floor again; the floor reported is the run with the lower p99 (both are returned).
 *
 * BENCH_CPU_PROF=<dir>: the bot and the floor runs write V8 CPU profiles in <dir>/bot, <dir>/floor-1, <dir>/floor-2
 * (one file per thread: with `--import tsx` the loader has a thread of its own), with window.json: the measured
 * load's start and end on the profiles' clock. `node --import tsx bench/profile-summary.ts <dir>/bot` reads them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { signSlackRequest, slashCommandBody } from '../test/sim/slack.ts';
import type { SimsReady } from './sims.ts';

/**
 * How `npm start` runs the bot, from the repository's root. The one place to change when it changes (e.g. to
 * `['node', 'dist/main.js']` after `npm run build`).
 */
export const BOT_COMMAND: readonly string[] = ['node', 'dist/main.js'];
/** The floor app, with the same node and loader flags as the bot, so that both pay the same start-up costs. */
const FLOOR_COMMAND: readonly string[] = ['node', '--import', 'tsx', 'bench/floor-app.ts'];
const SIMS_COMMAND: readonly string[] = ['node', '--import', 'tsx', 'bench/sims.ts'];

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const SIGNING_SECRET = 'bench-signing-secret';
const WARM_UP_SETTLE_MS = 4_000;
/** Bot runs; the floor runs one more time (first and last). */
const ROUNDS = 3;

/** The run whose p99 is the median. */
function medianBy<T extends { p99Ms: number }>(runs: T[]): T {
  return [...runs].sort((a, b) => a.p99Ms - b.p99Ms)[Math.floor(runs.length / 2)]!;
}
const START_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
/** DESIGN §7: the bot's ack p99 at most this many times the bare Bolt app's, under the same load. */
export const ACK_P99_TARGET_RATIO = 1.5;

export interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** HTTP status → count; 0 counts a request that failed or timed out. All must be 200. */
  statuses: Record<number, number>;
  /** From spawning the process to it listening (the bot's "dkim-bot started" line, the floor's port line). */
  startupMs: number;
}

export interface AckFigures {
  commands: number;
  botCommand: string;
  bot: LatencyFigures & {
    /** Answers saying a run was started (the full path, not a refusal). */
    started: number;
    /** Log lines the bot wrote on stderr while the measured commands were in flight. */
    logLines: number;
  };
  /** The floor's run with the median p99 (of ROUNDS + 1, alternated with the bot's). */
  floor: LatencyFigures;
  floorRuns: LatencyFigures[];
  /** The bot's run with the median p99 (of ROUNDS, each on a fresh database). */
  botRuns: AckFigures['bot'][];
  /** bot p99 ÷ floor p99, both medians. */
  p99Ratio: number;
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
      LOG_LEVEL: 'info',
      NODE_EXTRA_CA_CERTS: ready.caFile,
    };

    const runFloor = async (n: number): Promise<LatencyFigures> => {
      const command = withProfile(FLOOR_COMMAND, profileDir, `floor-${n}`);
      const floor = started(Child.spawn(`floor-${n}`, command, floorEnv, 'pipe'));
      const { value: port, elapsedMs: startupMs } = await floor.waitForLine('stdout', (line) => {
        const port = (JSON.parse(line) as { port?: unknown }).port;
        if (typeof port !== 'number') throw new Error('no port');
        return port;
      });
      const window = profileDir && join(profileDir, `floor-${n}`, 'window.json');
      const samples = await measure(port, ready, concurrent, `floor${n}`, window);
      await floor.stop();
      children.delete(floor);
      return { ...summarize(samples), startupMs };
    };

    const runBot = async (n: number) => {
      const env = { ...botEnv, DATABASE_PATH: join(work, `db-${n}.sqlite`) };
      const bot = started(Child.spawn(`bot-${n}`, withProfile(BOT_COMMAND, profileDir, `bot-${n}`), env, 'ignore'));
      const { value: port, elapsedMs: startupMs } = await bot.waitForLine('stderr', (line) => {
        const entry = JSON.parse(line) as { msg?: unknown; port?: unknown };
        if (entry.msg !== 'dkim-bot started' || typeof entry.port !== 'number') throw new Error('not yet');
        return entry.port;
      });
      let linesBefore = 0;
      const window = profileDir && join(profileDir, `bot-${n}`, 'window.json');
      const samples = await measure(port, ready, concurrent, `bot${n}`, window, () => {
        linesBefore = bot.stderrLines;
      });
      const logLines = bot.stderrLines - linesBefore;
      await bot.stop();
      children.delete(bot);
      const started_ = samples.filter((sample) => sample.body.includes('Started DKIM setup')).length;
      return { ...summarize(samples), startupMs, started: started_, logLines };
    };

    // Alternated rounds, floor first and last, so that whatever else the machine does falls on both alike.
    const floorRuns: LatencyFigures[] = [];
    const botRuns: AckFigures['bot'][] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      floorRuns.push(await runFloor(round));
      botRuns.push(await runBot(round));
    }
    floorRuns.push(await runFloor(ROUNDS + 1));
    await sims.stop();
    children.delete(sims);
    const bot = medianBy(botRuns);
    const floor = medianBy(floorRuns);
    return {
      commands: concurrent,
      botCommand: BOT_COMMAND.join(' '),
      bot,
      floor,
      botRuns,
      floorRuns,
      p99Ratio: bot.p99Ms / floor.p99Ms,
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
 * One warm-up command, then `concurrent` at once; `beforeLoad` runs between the two. With `profileWindow`, writes the
 * load's time window there.
 */
async function measure(
  port: number,
  ready: SimsReady,
  concurrent: number,
  label: string,
  profileWindow: string | undefined,
  beforeLoad?: () => void,
): Promise<Sample[]> {
  const body = (domain: string, id: string) =>
    slashCommandBody({
      text: `setup ${domain}`,
      // One user per command: MAX_ACTIVE_RUNS_PER_USER (20) would refuse most of them, a cheaper path.
      userId: `UBENCH${id.toUpperCase()}`,
      userName: `bench-${id}`,
      channelId: 'CBENCH',
      responseUrl: `${ready.responseUrlBase}${label}-${id}`,
    });
  const warm = await post(port, signed(body(ready.warmupDomain, 'w')));
  if (warm.status !== 200) throw new Error(`${label}: the warm-up command answered ${warm.status}: ${warm.body}`);
  // The warm-up's own work (its first steps, its first Slack post: code run for the first time) is let finish, for
  // the floor and the bot alike: the burst then meets a process in its steady state.
  await new Promise((resolveWait) => setTimeout(resolveWait, WARM_UP_SETTLE_MS));
  beforeLoad?.();
  // Bodies signed before any timer starts; the requests then all leave in one synchronous loop.
  const requests = Array.from({ length: concurrent }, (_, i) => signed(body(`ack-${i}.fr`, String(i))));
  const startUs = monotonicUs();
  const samples = await Promise.all(requests.map((r) => post(port, r)));
  if (profileWindow) writeFileSync(profileWindow, JSON.stringify({ startUs, endUs: monotonicUs() }));
  return samples;
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
  return new Promise((resolveSample) => {
    const started = performance.now();
    const done = (status: number, text: string) =>
      resolveSample({ status, body: text, elapsedMs: performance.now() - started });
    const req = request(
      { host: '127.0.0.1', port, path: '/slack/events', method: 'POST', agent: false, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
        res.on('error', (error) => done(0, String(error)));
      },
    );
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

/** What a child needs from this process's environment, and nothing else (no NODE_OPTIONS, no stray Slack keys). */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** `--cpu-prof` into `<dir>/<name>`, created now (the window file goes there before the profiles, written at exit). */
function withProfile(command: readonly string[], dir: string | undefined, name: string): string[] {
  if (!dir) return [...command];
  const [node, ...rest] = command;
  mkdirSync(join(dir, name), { recursive: true });
  return [node!, '--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`, ...rest];
}

/** A child process whose stdout and stderr are read line by line (always drained: a full pipe would block it). */
class Child {
  stderrLines = 0;
  private readonly tail: string[] = [];
  private readonly exited: Promise<void>;
  private exitCode: number | null | undefined;
  private readonly listeners = new Set<(stream: 'stdout' | 'stderr', line: string) => void>();

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    private readonly spawnedAt: number,
  ) {
    this.exited = new Promise((resolveExit) =>
      proc.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolveExit();
      }),
    );
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: proc[stream]! }).on('line', (line) => {
        if (stream === 'stderr') this.stderrLines++;
        this.tail.push(`${stream}: ${line}`);
        if (this.tail.length > 40) this.tail.shift();
        for (const listener of this.listeners) listener(stream, line);
      });
    }
  }

  static spawn(name: string, command: readonly string[], env: Record<string, string>, stdin: 'pipe' | 'ignore'): Child {
    const [file, ...args] = command;
    const spawnedAt = performance.now();
    const proc = spawn(file!, args, { cwd: ROOT, env, stdio: [stdin, 'pipe', 'pipe'] });
    return new Child(name, proc, spawnedAt);
  }

  /** The first line of `stream` that `parse` accepts (does not throw on), and the time since the spawn. */
  waitForLine<T>(stream: 'stdout' | 'stderr', parse: (line: string) => T): Promise<{ value: T; elapsedMs: number }> {
    return new Promise((resolveLine, reject) => {
      const finish = (error?: Error, value?: T) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        if (error) reject(error);
        else resolveLine({ value: value as T, elapsedMs: performance.now() - this.spawnedAt });
      };
      const listener = (from: 'stdout' | 'stderr', line: string) => {
        if (from !== stream) return;
        try {
          finish(undefined, parse(line));
        } catch {
          // not the line awaited
        }
      };
      const timer = setTimeout(() => finish(this.failure('did not start in time')), START_TIMEOUT_MS);
      this.listeners.add(listener);
      void this.exited.then(() => finish(this.failure(`exited (${this.exitCode}) before it was ready`)));
    });
  }

  /** SIGTERM (and stdin closed), then SIGKILL if it is still there after STOP_TIMEOUT_MS. */
  async stop(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.proc.stdin?.end();
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private failure(what: string): Error {
    return new Error(`bench ack: ${this.name} ${what}; its last output:\n${this.tail.join('\n')}`);
  }
}
