import { createHash } from 'node:crypto';
import https from 'node:https';
import type { RetryPolicy } from './backoff.ts';
import { type Clock, systemClock } from './clock.ts';
import { type Config, type OvhConfig, secretValues } from './config/index.ts';
import { DAY_MS } from './domain/time.ts';
import { type ApproverDirectory, ApproverPolicy, noDirectory } from './engine/access.ts';
import { Boot } from './engine/boot.ts';
import { Engine } from './engine/engine.ts';
import { createLogger, type Logger, makeRedactor, type Redactor } from './log.ts';
import { Metrics } from './ops/metrics.ts';
import { Retention } from './ops/retention.ts';
import { tickIntervalMs } from './poller.ts';
import { createDnsChecker, type DnsChecker } from './providers/dns.ts';
import { errorMessage } from './providers/errors.ts';
import type { ReportMailbox } from './providers/imap.ts';
import { createMailer, type Mailer } from './providers/mail.ts';
import { type OvhApi, OvhTransport } from './providers/ovh.ts';
import { RateLimiter, type SlotBook } from './providers/ratelimit.ts';
import { SharedReads } from './providers/shared-reads.ts';
import { type VtexApi, VtexClient } from './providers/vtex.ts';
import { DmarcReports } from './reports/index.ts';
import { Store } from './store/index.ts';
import { Watcher } from './watch.ts';
import { batchWorkflow } from './workflows/batch.ts';
import { disableWorkflow } from './workflows/disable.ts';
import { dmarcWorkflow } from './workflows/dmarc/index.ts';
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
  /** The one DNS resolver (DNS_SERVERS): the steps' checks, the watch, `/dkim report`'s reverse names. */
  dns: DnsChecker;
  log: Logger;
  redact: Redactor;
  clock: Clock;
  pollIntervalMs: number;
  /** This process, as the others on the database see it. */
  boot: Boot;
  /** What GET /metrics serves. */
  metrics: Metrics;
  /** What only grows, pruned past RETENTION_DAYS (DMARC records past DMARC_RETENTION_DAYS). */
  retention: Retention;
  /** The DMARC reports mailbox, the receivers' verdicts and the journey (DMARC_CRON). */
  reports: DmarcReports;
  /**
   * The hourly clean-up: private order details kept past BATCH_CODE_TTL_DAYS are dropped, then what only grows is
   * pruned past RETENTION_DAYS.
   */
  housekeeping(): Promise<void>;
  /** Leaves (this process is gone) and closes the database. */
  close(): void;
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
  /** The DMARC reports mailbox (tests); made from DMARC_IMAP_URL otherwise. */
  mailbox?: ReportMailbox;
  /** How work started by a command waits for its turn (see AckFirst); the next turn of the event loop by default. */
  defer?: (work: () => void) => void;
}

/**
 * node-ovh uses the global HTTPS agent. OVH allows about one request a second, so a handful of kept-alive connections
 * is plenty; unbounded, a burst of new runs opens one TLS connection each and takes CPU from Slack's acks.
 */
const OVH_MAX_SOCKETS = 8;
/** A process that has not beaten for this long is gone (engine/boot.ts); it beats three times as often. */
const PROCESS_SILENCE_MS = 90_000;

export function buildCore(config: Config, overrides: CoreOverrides = {}): Core {
  https.globalAgent.maxSockets = OVH_MAX_SOCKETS;
  const clock = overrides.clock ?? systemClock;
  const redact = makeRedactor(secretValues(overrides.env ?? process.env));
  const log = overrides.log ?? createLogger({ level: config.logLevel, redact, now: () => clock.now() });
  const store = overrides.store ?? Store.open(config.databasePath);
  const pollIntervalMs = tickIntervalMs(config.pollCron);
  // Silent for 90 s (three missed beats), a process is gone.
  const boot = new Boot(store, clock, PROCESS_SILENCE_MS);
  boot.register();
  const limiter = new RateLimiter(config.ovh?.ratePerMinute ?? 60, clock, sharedBudget(store, boot, config.ovh));
  const metrics = new Metrics(store, clock);
  const ovh = config.ovh
    ? new OvhTransport({
        config: config.ovh,
        limiter,
        clock,
        observe: (method, status, seconds) => metrics.ovhRequest(method, status, seconds),
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
  const dns = overrides.dns ?? createDnsChecker(config.dnsServers);
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
      dmarcWorkflow,
    ],
    approvers: access,
    providers: {
      ovh,
      shared: new SharedReads(config.discoveryTtlMinutes * 60_000, clock, () => store.runs.lastId()),
      vtex,
      mail,
      batch: config.batch,
      dns,
      rotationGraceMs: config.rotationGraceHours * 3_600_000,
      ovhRatePerMinute: config.ovh?.ratePerMinute,
      dmarcRua: config.dmarc.rua,
    },
    approvalTtlMs: config.approvalTtlHours * 3_600_000,
    waitDeadlineMs: config.waitDeadlineHours * 3_600_000,
    firstRecheckMs: pollIntervalMs,
    recheckMaxMs: config.recheckMaxSeconds * 1000,
    concurrency: overrides.concurrency,
    maxActiveRunsPerUser: config.maxActiveRunsPerUser,
    defer: overrides.defer,
    boot,
  });
  const watcher = new Watcher({
    store,
    journal: engine.journal,
    dns,
    ovh,
    clock,
    log,
    reminderDays: config.rotationReminderDays,
  });
  const retention = new Retention(store, clock, log, {
    keepMs: config.retentionDays * DAY_MS,
    dmarcKeepMs: config.dmarc.retentionDays * DAY_MS,
  });
  const reports = new DmarcReports({
    store,
    engine,
    clock,
    log,
    metrics,
    config: config.dmarc,
    mailbox: overrides.mailbox,
  });
  return {
    config,
    store,
    engine,
    watcher,
    limiter,
    access,
    ovh,
    dns,
    log,
    redact,
    clock,
    pollIntervalMs,
    boot,
    metrics,
    retention,
    reports,
    async housekeeping() {
      engine.dropExpiredPrivateParams(config.batchCodeTtlDays * DAY_MS);
      await retention.pass();
    },
    close() {
      try {
        boot.leave();
      } catch (error) {
        // A database that no longer answers: the row goes stale, and the others see this process gone.
        log.warn('could not say this process leaves', { error: errorMessage(error) });
      }
      store.close();
    },
  };
}

/**
 * OVH counts requests per credentials: the budget is kept in the database, under a key derived from the endpoint and
 * the application (never the secret), so that the bot and the CLI together stay within it.
 */
function sharedBudget(store: Store, boot: Boot, ovh: OvhConfig | undefined): SlotBook {
  const id = !ovh ? 'none' : ovh.credentials.kind === 'application' ? ovh.credentials.appKey : ovh.credentials.clientId;
  const budget = createHash('sha256')
    .update(`${ovh?.endpoint ?? ''}|${id}`)
    .digest('hex')
    .slice(0, 16);
  const limits = {
    limit: ovh?.ratePerMinute ?? 60,
    windowMs: 60_000,
    maxCallMs: ovh?.timeoutMs ?? 10_000,
  };
  return {
    take: (now) => store.budget.take(budget, boot.id, now, limits),
    done: (slot, now) => store.budget.done(slot, now),
  };
}
