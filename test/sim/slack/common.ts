/** What every part of the Slack simulator shares: the workspace identity, small value helpers and API errors. */

/** The workspace and bot identity FakeSlack answers with, and the payload builders use by default. */
export const SLACK_WORKSPACE = {
  teamId: 'T1',
  teamName: 'DKIM Test',
  teamDomain: 'dkim-test',
  botUserId: 'UBOT',
  botId: 'BBOT',
  botName: 'dkimbot',
  appId: 'A0DKIMBOT',
  /** The deprecated verification token Slack still puts in payloads. */
  verificationToken: 'fake-verification-token',
} as const;

export const DEFAULT_BOT_TOKEN = 'xoxb-1-fake-slack-bot-token';

export type Args = Record<string, unknown>;

export function isObject(value: unknown): value is Args {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function optionalString(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

export function isTruthyFlag(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A Slack-style `seconds.micros` timestamp of now. */
export function slackNowTs(): string {
  const micros = Date.now() * 1000;
  return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
}

/** A Web API method failing: answered as `{ok: false, error, ...extra}`. */
export class SlackApiError extends Error {
  constructor(
    readonly error: string,
    readonly extra: Args = {},
  ) {
    super(error);
  }
}

export function fail(error: string, extra?: Args): never {
  throw new SlackApiError(error, extra);
}
