import cron from 'node-cron';
import { z } from 'zod';
import { isLoopback } from '../domain/names.ts';
import { DEFAULT_DONE_FOLDER, parseImapUrl } from './imap-url.ts';

/** The environment contract (DESIGN §5), as a zod schema: every variable, its form and its default. */

export const SECRET_KEYS = [
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_SIGNING_SECRET',
  'OVH_APP_SECRET',
  'OVH_CONSUMER_KEY',
  'OVH_CLIENT_SECRET',
  'VTEX_APP_TOKEN',
  'OVH_BATCH_PASSPHRASE',
  'SMTP_URL',
  'DMARC_IMAP_URL',
] as const;

export const NAMED_OVH_ENDPOINTS = ['ovh-eu', 'ovh-ca', 'ovh-us'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

const blankToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);
const optionalString = z.preprocess(blankToUndefined, z.string().trim().optional());
const flag = (fallback: boolean) =>
  z.preprocess(
    blankToUndefined,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
      .optional()
      .transform((value) => (value === undefined ? fallback : ['true', '1', 'yes'].includes(value))),
  );
const integer = (fallback: number, min: number, max: number) =>
  z.preprocess(
    blankToUndefined,
    z.coerce
      .number({ message: 'must be a number' })
      .int('must be a whole number')
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`)
      .default(fallback),
  );

/** A duration: decimals allowed, so that tests can use seconds. */
const decimal = (fallback: number, min: number, max: number) =>
  z.preprocess(
    blankToUndefined,
    z.coerce
      .number({ message: 'must be a number' })
      .min(min, `must be at least ${min}`)
      .max(max, `must be at most ${max}`)
      .default(fallback),
  );

/** An https:// URL, or http:// to this machine only (tests, a local proxy): tokens and keys travel with the calls. */
const secureUrlValue = () =>
  z.url({ message: 'must be a URL' }).refine((value) => {
    const parsed = new URL(value);
    return parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopback(parsed.hostname));
  }, 'must be an https:// URL (http:// only to 127.0.0.1 or localhost)');
const secureUrl = () => z.preprocess(blankToUndefined, secureUrlValue().optional());
const secureUrlOr = (fallback: string) => z.preprocess(blankToUndefined, secureUrlValue().default(fallback));

const slackUserOrGroup = /^[UWS][A-Z0-9]{2,}$/;
const idList = (message: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean),
      )
      .refine((ids) => ids.every((id) => slackUserOrGroup.test(id)), message),
  );
const contactIdVar = z.preprocess(
  blankToUndefined,
  z
    .string()
    .regex(/^[a-z]{2}\d+-ovh$/i, 'must be an OVH contact id such as ab1234-ovh')
    .optional(),
);
const dnsServer = /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\])(:\d{1,5})?$/;
const cronExpression = (fallback: string) =>
  z.preprocess(
    blankToUndefined,
    z
      .string()
      .default(fallback)
      .refine((v) => cron.validate(v), 'must be a cron expression (5 or 6 fields)'),
  );
/** IMAP with TLS (imaps://), or without only to this machine; a user and a password (config/imap-url.ts). */
const imapUrl = z.preprocess(
  blankToUndefined,
  z
    .string()
    .superRefine((value, ctx) => {
      try {
        parseImapUrl(value);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: `${(error as Error).message}: give imaps://user:password@host[:port]/folder (imap:// only to this machine)`,
        });
      }
    })
    .optional(),
);

export const envSchema = z.object({
  SLACK_BOT_TOKEN: optionalString.refine((v) => v === undefined || v.startsWith('xoxb-'), 'must start with xoxb-'),
  SLACK_APP_TOKEN: optionalString.refine((v) => v === undefined || v.startsWith('xapp-'), 'must start with xapp-'),
  SLACK_SIGNING_SECRET: optionalString,
  PORT: integer(3000, 0, 65535),
  SLACK_API_URL: secureUrlOr('https://slack.com/api/'),
  DKIM_APPROVERS: idList('must be Slack user ids (U…/W…) or group ids (S…)'),
  DKIM_ALLOW_SELF_APPROVAL: flag(false),
  DKIM_REQUESTERS: idList('must be Slack user ids (U…/W…) or group ids (S…)'),
  DKIM_BATCH_REQUESTERS: idList('must be Slack user ids (U…/W…) or group ids (S…)'),
  MAX_ACTIVE_RUNS_PER_USER: integer(20, 1, 10_000),
  OVH_ENDPOINT: z.preprocess(
    blankToUndefined,
    z
      .string()
      .default('ovh-eu')
      .refine(
        (v) => (NAMED_OVH_ENDPOINTS as readonly string[]).includes(v) || /^https:\/\/[^/\s]+(\/\S*)?$/.test(v),
        'must be ovh-eu, ovh-ca, ovh-us or an https:// URL',
      ),
  ),
  OVH_APP_KEY: optionalString,
  OVH_APP_SECRET: optionalString,
  OVH_CONSUMER_KEY: optionalString,
  OVH_CLIENT_ID: optionalString,
  OVH_CLIENT_SECRET: optionalString,
  OVH_TOKEN_URL: secureUrl(),
  OVH_RATE_LIMIT_PER_MIN: integer(60, 1, 6000),
  OVH_TIMEOUT_MS: integer(10000, 100, 120000),
  VTEX_ACCOUNT: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/i, 'must be a VTEX account name')
      .optional(),
  ),
  VTEX_ENVIRONMENT: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[a-z0-9.-]+$/i, 'must be a host part such as vtexcommercestable')
      .default('vtexcommercestable'),
  ),
  VTEX_APP_KEY: optionalString,
  VTEX_APP_TOKEN: optionalString,
  VTEX_BASE_URL: secureUrl(),
  OVH_BATCH_ACCOUNT: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[a-z]{2}\d+-ovh$/i, 'must look like xx1234-ovh')
      .optional(),
  ),
  OVH_BATCH_PASSPHRASE: optionalString,
  OVH_BATCH_LIVE: flag(false),
  OVH_BATCH_OWNER_ID: contactIdVar,
  OVH_BATCH_TECH_ID: contactIdVar,
  OVH_BATCH_ADMIN_ID: contactIdVar,
  OVH_BATCH_BILLING_ID: contactIdVar,
  OVH_BATCH_AUTOPAYMENT: flag(true),
  SMTP_URL: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^smtps?:\/\/\S+$/, 'must be smtp://… or smtps://…')
      .optional(),
  ),
  SMTP_ALLOW_PLAINTEXT: flag(false),
  BATCH_FROM: z.preprocess(blankToUndefined, z.email({ message: 'must be an email address' }).optional()),
  DATABASE_PATH: z.preprocess(blankToUndefined, z.string().default('./data/dkim-bot.sqlite')),
  POLL_CRON: cronExpression('* * * * *'),
  DNS_SERVERS: z.preprocess(
    blankToUndefined,
    z
      .string()
      .default('')
      .transform((v) =>
        v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      )
      .refine((list) => list.every((s) => dnsServer.test(s)), 'must be a comma list of ip[:port]'),
  ),
  RECHECK_MAX_SECONDS: integer(300, 1, 86400),
  APPROVAL_TTL_HOURS: integer(24, 1, 24 * 30),
  WAIT_DEADLINE_HOURS: integer(48, 1, 24 * 30),
  DISCOVERY_TTL_MINUTES: decimal(10, 0, 24 * 60),
  ROTATION_GRACE_HOURS: decimal(72, 0, 24 * 365),
  ROTATION_REMINDER_DAYS: decimal(180, 0, 3650),
  WATCH_CRON: cronExpression('0 6 * * *'),
  LOG_LEVEL: z.preprocess(blankToUndefined, z.enum(LOG_LEVELS).default('info')),
  SLACK_TIMEOUT_MS: integer(10000, 100, 120000),
  RETENTION_DAYS: decimal(400, 1, 36500),
  BATCH_CODE_TTL_DAYS: decimal(7, 0, 3650),
  DMARC_RUA: z.preprocess(
    blankToUndefined,
    z
      .string()
      .transform((v) => v.replace(/^mailto:/i, ''))
      .pipe(z.email({ message: 'must be an email address (mailto: allowed)' }))
      .optional(),
  ),
  DMARC_IMAP_URL: imapUrl,
  DMARC_IMAP_DONE: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^[^\r\n*%]{1,200}$/, 'must be a folder name')
      .default(DEFAULT_DONE_FOLDER),
  ),
  DMARC_CRON: cronExpression('17 * * * *'),
  DMARC_STEP_UP_DAYS: decimal(14, 0.0001, 365),
  DMARC_STEP_UP_PASS: decimal(98, 50, 100),
  DMARC_MIN_MESSAGES: integer(100, 1, 1_000_000_000),
  DMARC_RETENTION_DAYS: decimal(400, 1, 36500),
});

export type Env = z.infer<typeof envSchema>;
