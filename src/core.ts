import https from 'node:https';
import type { RetryPolicy } from './backoff.ts';
import { type Clock, systemClock } from './clock.ts';
import { type Config, secretValues } from './config/index.ts';
import { type ApproverDirectory, ApproverPolicy, noDirectory } from './engine/access.ts';
import { Engine } from './engine/engine.ts';
import { createLogger, type Logger, makeRedactor, type Redactor } from './log.ts';
import { tickIntervalMs } from './poller.ts';
import { createDnsChecker, type DnsChecker } from './providers/dns.ts';
import { createMailer, type Mailer } from './providers/mail.ts';
import { type OvhApi, OvhTransport } from './providers/ovh.ts';
import { RateLimiter } from './providers/ratelimit.ts';
import { SharedReads } from './providers/shared-reads.ts';
import { type VtexApi, VtexClient } from './providers/vtex.ts';
import { Store } from './store/index.ts';
import { Watcher } from './watch.ts';
import { batchWorkflow } from './workflows/batch.ts';
import { disableWorkflow } from './workflows/disable.ts';
import { groupWorkflow } from './workflows/group/index.ts';
import { rotateWorkflow } from './workflows/rotate/index.ts';
import { scanWorkflow } from './workflows/scan/index.ts';
import { setupWorkflow } from './workflows/setup/index.ts';
import { vtexWorkflow } from './workflows/vtex.ts';

/** Everything but the Slack face: config → db → adapters → engine. Shared by main, the CLI, the demo and tests. */
export interface Core {
  config: Config;
  store: Store;
  engine: Engine;
  /** The watch on finished domains (WATCH_CRON). */
  watcher: Watcher;
  limiter: RateLimiter;
  /** Who may start, approve, cancel and retry runs. */
  access: ApproverPolicy;
  ovh?: OvhApi;
  log: Logger;
  redact: Redactor;
  clock: Clock;
  pollIntervalMs: number;
}

export interface CoreOverrides {
  clock?: Clock;
  log?: Logger;
  env?: NodeJS.ProcessEnv;
  directory?: ApproverDirectory;
  dns?: DnsChecker;
  store?: Store;
  retry?: RetryPolicy;
  random?: () => number;
  concurrency?: number;
  mailer?: Mailer;
  /** How work started by a command waits for its turn (see AckFirst); the next turn of the event loop by default. */
  defer?: (work: () => void) => void;
}

/**
 * node-ovh uses the global HTTPS agent. OVH allows about one request a second, so a handful of kept-alive connections
 * is plenty; unbounded, a burst of new runs opens one TLS connection each and takes CPU from Slack's acks.
 */
const OVH_MAX_SOCKETS = 8;

export function buildCore(config: Config, overrides: CoreOverrides = {}): Core {
  https.globalAgent.maxSockets = OVH_MAX_SOCKETS;
  const clock = overrides.clock ?? systemClock;
  const redact = makeRedactor(secretValues(overrides.env ?? process.env));
  const log = overrides.log ?? createLogger({ level: config.logLevel, redact, now: () => clock.now() });
  const store = overrides.store ?? Store.open(config.databasePath);
  const limiter = new RateLimiter(config.ovh?.ratePerMinute ?? 60, clock);
  const ovh = config.ovh
    ? new OvhTransport({
        config: config.ovh,
        limiter,
        clock,
        retry: overrides.retry,
        random: overrides.random,
      })
    : undefined;
  const vtex: VtexApi | undefined = config.vtex
    ? new VtexClient({ ...config.vtex, clock, retry: overrides.retry, random: overrides.random })
    : undefined;
  const mail: Mailer | undefined = config.batch
    ? (overrides.mailer ?? createMailer({ url: config.batch.smtpUrl, allowPlaintext: config.batch.smtpAllowPlaintext }))
    : undefined;
  const pollIntervalMs = tickIntervalMs(config.pollCron);
  const engineDns = overrides.dns ?? createDnsChecker(config.dnsServers);
  const access = new ApproverPolicy(
    {
      approvers: config.approvers,
      allowSelfApproval: config.allowSelfApproval,
      requesters: config.requesters,
      batchRequesters: config.batchRequesters,
    },
    overrides.directory ?? noDirectory,
  );
  const engine = new Engine({
    store,
    clock,
    log,
    workflows: [
      setupWorkflow,
      rotateWorkflow,
      disableWorkflow,
      vtexWorkflow,
      batchWorkflow,
      scanWorkflow,
      groupWorkflow,
    ],
    approvers: access,
    providers: {
      ovh,
      shared: new SharedReads(config.discoveryTtlMinutes * 60_000, clock, () => store.runs.lastId()),
      vtex,
      mail,
      batch: config.batch,
      dns: engineDns,
      rotationGraceMs: config.rotationGraceHours * 3_600_000,
      ovhRatePerMinute: config.ovh?.ratePerMinute,
    },
    approvalTtlMs: config.approvalTtlHours * 3_600_000,
    waitDeadlineMs: config.waitDeadlineHours * 3_600_000,
    firstRecheckMs: pollIntervalMs,
    recheckMaxMs: config.recheckMaxSeconds * 1000,
    concurrency: overrides.concurrency,
    maxActiveRunsPerUser: config.maxActiveRunsPerUser,
    defer: overrides.defer,
  });
  const dns = engineDns;
  const watcher = new Watcher({
    store,
    journal: engine.journal,
    dns,
    ovh,
    clock,
    log,
    reminderDays: config.rotationReminderDays,
  });
  return { config, store, engine, watcher, limiter, access, ovh, log, redact, clock, pollIntervalMs };
}
