import { existsSync } from 'node:fs';
import { type Env, envSchema, type LOG_LEVELS, SECRET_KEYS } from './env.ts';

/** The environment contract (DESIGN §5). Every problem is collected and reported at once. */

export type OvhCredentials =
  | { kind: 'application'; appKey: string; appSecret: string; consumerKey: string }
  | { kind: 'oauth2'; clientId: string; clientSecret: string; tokenUrl?: string };

export interface OvhConfig {
  endpoint: string;
  credentials: OvhCredentials;
  ratePerMinute: number;
  timeoutMs: number;
}

export interface Config {
  slack: {
    botToken?: string;
    appToken?: string;
    signingSecret?: string;
    port: number;
    apiUrl: string;
    /** The longest one Web API call may take (SLACK_TIMEOUT_MS). */
    timeoutMs: number;
  };
  approvers: string[];
  allowSelfApproval: boolean;
  /** Who may start runs (users and groups); empty = everyone. */
  requesters: string[];
  /** Who may start batch orders; empty = as `requesters`. */
  batchRequesters: string[];
  maxActiveRunsPerUser: number;
  /** Undefined when OVH credentials are missing: OVH work is switched off with a clear reply. */
  ovh?: OvhConfig;
  ovhDisabledReason?: string;
  vtex?: { baseUrl: string; appKey: string; appToken: string };
  vtexDisabledReason?: string;
  batch?: {
    account: string;
    passphrase: string;
    live: boolean;
    autopayment: boolean;
    smtpUrl: string;
    /** SMTP without TLS to a host that is not loopback (SMTP_ALLOW_PLAINTEXT). */
    smtpAllowPlaintext: boolean;
    from: string;
    /** Default contacts for create and transfer orders (the Slack form starts from them). */
    contacts: { owner?: string; tech?: string; admin?: string; billing?: string };
  };
  batchDisabledReason?: string;
  databasePath: string;
  pollCron: string;
  dnsServers: string[];
  recheckMaxSeconds: number;
  approvalTtlHours: number;
  waitDeadlineHours: number;
  /** How long discovery answers (services, their domains, zones) are shared; 0 = not kept. */
  discoveryTtlMinutes: number;
  rotationGraceHours: number;
  /** 0: no reminder. */
  rotationReminderDays: number;
  watchCron: string;
  logLevel: (typeof LOG_LEVELS)[number];
  /** Events, delivered messages and scan results of finished runs older than this are pruned. */
  retentionDays: number;
  /** How long a failed or needs-attention batch order keeps its transfer code for a retry. */
  batchCodeTtlDays: number;
  dmarc: DmarcConfig;
}

/** DMARC (DESIGN §2.8): where reports go and are read, and the evidence a stricter policy needs. */
export interface DmarcConfig {
  /** The address receivers send aggregate reports to; `/dkim dmarc` is off without it. */
  rua?: string;
  /** The reports mailbox; reports are not read without it. */
  imapUrl?: string;
  doneFolder: string;
  cron: string;
  stepUpDays: number;
  /** Percent of messages passing DMARC. */
  stepUpPass: number;
  minMessages: number;
  retentionDays: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads `.env` into process.env when present (values already set win), as documented in the README. */
export function loadDotEnv(path = '.env'): void {
  if (existsSync(path)) process.loadEnvFile(path);
}

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = parsed.data;
  const problems = crossFieldProblems(e);
  if (problems.length > 0) throw new ConfigError(problems);
  const ovh = ovhConfig(e);
  const vtex = vtexConfig(e);
  const batch = batchConfig(e);
  return {
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      appToken: e.SLACK_APP_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      port: e.PORT,
      apiUrl: e.SLACK_API_URL.endsWith('/') ? e.SLACK_API_URL : `${e.SLACK_API_URL}/`,
      timeoutMs: e.SLACK_TIMEOUT_MS,
    },
    approvers: e.DKIM_APPROVERS,
    allowSelfApproval: e.DKIM_ALLOW_SELF_APPROVAL,
    requesters: e.DKIM_REQUESTERS,
    batchRequesters: e.DKIM_BATCH_REQUESTERS,
    maxActiveRunsPerUser: e.MAX_ACTIVE_RUNS_PER_USER,
    ovh: ovh.config,
    ovhDisabledReason: ovh.reason,
    vtex: vtex.config,
    vtexDisabledReason: vtex.reason,
    batch: batch.config,
    batchDisabledReason: batch.reason,
    databasePath: e.DATABASE_PATH,
    pollCron: e.POLL_CRON,
    dnsServers: e.DNS_SERVERS,
    recheckMaxSeconds: e.RECHECK_MAX_SECONDS,
    approvalTtlHours: e.APPROVAL_TTL_HOURS,
    waitDeadlineHours: e.WAIT_DEADLINE_HOURS,
    discoveryTtlMinutes: e.DISCOVERY_TTL_MINUTES,
    rotationGraceHours: e.ROTATION_GRACE_HOURS,
    rotationReminderDays: e.ROTATION_REMINDER_DAYS,
    watchCron: e.WATCH_CRON,
    logLevel: e.LOG_LEVEL,
    retentionDays: e.RETENTION_DAYS,
    batchCodeTtlDays: e.BATCH_CODE_TTL_DAYS,
    dmarc: {
      rua: e.DMARC_RUA,
      imapUrl: e.DMARC_IMAP_URL,
      doneFolder: e.DMARC_IMAP_DONE,
      cron: e.DMARC_CRON,
      stepUpDays: e.DMARC_STEP_UP_DAYS,
      stepUpPass: e.DMARC_STEP_UP_PASS,
      minMessages: e.DMARC_MIN_MESSAGES,
      retentionDays: e.DMARC_RETENTION_DAYS,
    },
  };
}

function crossFieldProblems(e: Env): string[] {
  const problems: string[] = [];
  const appKeyParts = [e.OVH_APP_KEY, e.OVH_APP_SECRET, e.OVH_CONSUMER_KEY].filter(Boolean).length;
  const oauthParts = [e.OVH_CLIENT_ID, e.OVH_CLIENT_SECRET].filter(Boolean).length;
  if (appKeyParts > 0 && oauthParts > 0) {
    problems.push('OVH_APP_KEY/OVH_APP_SECRET/OVH_CONSUMER_KEY and OVH_CLIENT_ID/OVH_CLIENT_SECRET: choose one');
  }
  if (appKeyParts > 0 && appKeyParts < 3) {
    problems.push('OVH_APP_KEY, OVH_APP_SECRET and OVH_CONSUMER_KEY: all three are needed together');
  }
  if (oauthParts === 1) problems.push('OVH_CLIENT_ID and OVH_CLIENT_SECRET: both are needed together');
  if (oauthParts === 2 && e.OVH_ENDPOINT.startsWith('https://') && !e.OVH_TOKEN_URL) {
    problems.push('OVH_TOKEN_URL: required for OAuth2 when OVH_ENDPOINT is a URL');
  }
  if ((e.VTEX_APP_KEY || e.VTEX_APP_TOKEN) && !(e.VTEX_APP_KEY && e.VTEX_APP_TOKEN)) {
    problems.push('VTEX_APP_KEY and VTEX_APP_TOKEN: both are needed together');
  }
  if ((e.VTEX_APP_KEY || e.VTEX_APP_TOKEN) && !e.VTEX_ACCOUNT && !e.VTEX_BASE_URL) {
    problems.push('VTEX_ACCOUNT: required with a VTEX key (or set VTEX_BASE_URL)');
  }
  return problems;
}

function ovhConfig(e: Env): { config?: OvhConfig; reason?: string } {
  const common = { endpoint: e.OVH_ENDPOINT, ratePerMinute: e.OVH_RATE_LIMIT_PER_MIN, timeoutMs: e.OVH_TIMEOUT_MS };
  if (e.OVH_APP_KEY && e.OVH_APP_SECRET && e.OVH_CONSUMER_KEY) {
    return {
      config: {
        ...common,
        credentials: {
          kind: 'application',
          appKey: e.OVH_APP_KEY,
          appSecret: e.OVH_APP_SECRET,
          consumerKey: e.OVH_CONSUMER_KEY,
        },
      },
    };
  }
  if (e.OVH_CLIENT_ID && e.OVH_CLIENT_SECRET) {
    return {
      config: {
        ...common,
        credentials: {
          kind: 'oauth2',
          clientId: e.OVH_CLIENT_ID,
          clientSecret: e.OVH_CLIENT_SECRET,
          tokenUrl: e.OVH_TOKEN_URL,
        },
      },
    };
  }
  return {
    reason:
      'OVH is not configured: set OVH_APP_KEY, OVH_APP_SECRET and OVH_CONSUMER_KEY (or OVH_CLIENT_ID and OVH_CLIENT_SECRET).',
  };
}

function vtexConfig(e: Env): { config?: Config['vtex']; reason?: string } {
  if (!e.VTEX_APP_KEY || !e.VTEX_APP_TOKEN) {
    return { reason: 'VTEX is not configured: set VTEX_ACCOUNT, VTEX_APP_KEY and VTEX_APP_TOKEN.' };
  }
  const baseUrl = (e.VTEX_BASE_URL ?? `https://${e.VTEX_ACCOUNT}.${e.VTEX_ENVIRONMENT}.com`).replace(/\/+$/, '');
  return { config: { baseUrl, appKey: e.VTEX_APP_KEY, appToken: e.VTEX_APP_TOKEN } };
}

function batchConfig(e: Env): { config?: Config['batch']; reason?: string } {
  const { OVH_BATCH_ACCOUNT: account, OVH_BATCH_PASSPHRASE: passphrase, SMTP_URL: smtpUrl, BATCH_FROM: from } = e;
  if (!account || !passphrase || !smtpUrl || !from) {
    const missing = (['OVH_BATCH_ACCOUNT', 'OVH_BATCH_PASSPHRASE', 'SMTP_URL', 'BATCH_FROM'] as const).filter(
      (k) => !e[k],
    );
    return { reason: `Batch orders are not configured: set ${missing.join(', ')}.` };
  }
  return {
    config: {
      account,
      passphrase,
      live: e.OVH_BATCH_LIVE,
      autopayment: e.OVH_BATCH_AUTOPAYMENT,
      smtpUrl,
      smtpAllowPlaintext: e.SMTP_ALLOW_PLAINTEXT,
      from,
      contacts: {
        owner: e.OVH_BATCH_OWNER_ID,
        tech: e.OVH_BATCH_TECH_ID,
        admin: e.OVH_BATCH_ADMIN_ID,
        billing: e.OVH_BATCH_BILLING_ID,
      },
    },
  };
}

/** The secret values of an environment, for redaction. */
export function secretValues(env: NodeJS.ProcessEnv): string[] {
  const values: string[] = [];
  for (const key of SECRET_KEYS) {
    const value = env[key]?.trim();
    if (value && value.length >= 4) values.push(value);
  }
  for (const url of [env.SMTP_URL, env.DMARC_IMAP_URL]) {
    const password = url ? safeUrlPassword(url) : undefined;
    if (password && password.length >= 4) values.push(password, encodeURIComponent(password));
  }
  return values;
}

function imapWithoutPassword(url: string): string {
  const parsed = new URL(url);
  parsed.password = '';
  return parsed.toString();
}

function safeUrlPassword(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/** The configuration with every secret replaced, for printing. */
export function describeConfig(config: Config): Record<string, unknown> {
  const hidden = (v: string | undefined) => (v ? '[set]' : '[unset]');
  return {
    slack: {
      mode: config.slack.appToken ? 'socket' : 'http',
      botToken: hidden(config.slack.botToken),
      appToken: hidden(config.slack.appToken),
      signingSecret: hidden(config.slack.signingSecret),
      port: config.slack.port,
      apiUrl: config.slack.apiUrl,
    },
    approvers: config.approvers,
    allowSelfApproval: config.allowSelfApproval,
    ovh: config.ovh
      ? { endpoint: config.ovh.endpoint, auth: config.ovh.credentials.kind, ratePerMinute: config.ovh.ratePerMinute }
      : config.ovhDisabledReason,
    vtex: config.vtex ? { baseUrl: config.vtex.baseUrl } : config.vtexDisabledReason,
    batch: config.batch
      ? { account: config.batch.account, live: config.batch.live, from: config.batch.from }
      : config.batchDisabledReason,
    databasePath: config.databasePath,
    pollCron: config.pollCron,
    dnsServers: config.dnsServers,
    dmarc: {
      rua: config.dmarc.rua ?? 'DMARC_RUA is not set: /dkim dmarc is off.',
      mailbox: config.dmarc.imapUrl
        ? imapWithoutPassword(config.dmarc.imapUrl)
        : 'DMARC_IMAP_URL is not set: reports are not read.',
    },
  };
}
