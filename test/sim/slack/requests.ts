/**
 * Requests *to* the bot over HTTP, encoded and signed exactly like Slack sends them: the payloads of payloads.ts as
 * a form (slash commands), `payload=<json>` (interactions) or a JSON body (events).
 */
import { createHmac } from 'node:crypto';
import { type Args, nowSeconds } from './common.ts';
import {
  type BlockActionInput,
  type ButtonClickInput,
  blockActionPayload,
  buttonClickPayload,
  type EventCallbackOptions,
  eventCallbackPayload,
  type SlashCommandInput,
  slashCommandPayload,
  type ViewSubmissionInput,
  viewSubmissionPayload,
} from './payloads.ts';
import type { StoredMessage } from './types.ts';

function contentTypeOf(body: string): string {
  return body.trimStart().startsWith('{') ? 'application/json' : 'application/x-www-form-urlencoded';
}

/**
 * The headers Slack sends: `X-Slack-Signature: v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))`. The content type is
 * exactly `application/x-www-form-urlencoded` (Bolt's HTTPReceiver compares it without parameters) or, for an Events
 * API body, `application/json`.
 */
export function signSlackRequest(
  secret: string,
  body: string,
  timestampSeconds: number = nowSeconds(),
): Record<string, string> {
  const signature = createHmac('sha256', secret).update(`v0:${timestampSeconds}:${body}`).digest('hex');
  return {
    'content-type': contentTypeOf(body),
    'x-slack-request-timestamp': String(timestampSeconds),
    'x-slack-signature': `v0=${signature}`,
  };
}

function formPayload(payload: Args): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

/** The form body Slack POSTs for a slash command. */
export function slashCommandBody(input: SlashCommandInput): string {
  return new URLSearchParams(slashCommandPayload(input)).toString();
}

/** `payload=<json>`: a `block_actions` interaction, a button clicked in a channel message. */
export function blockActionBody(input: BlockActionInput): string {
  return formPayload(blockActionPayload(input));
}

/** A click on the button `actionId` of a message FakeSlack holds; throws when the message has no such button. */
export function buttonClickBody(message: StoredMessage, actionId: string, input: ButtonClickInput): string {
  return formPayload(buttonClickPayload(message, actionId, input));
}

/** `payload=<json>`: a modal submitted (`view_submission`). */
export function viewSubmissionBody(input: ViewSubmissionInput): string {
  return formPayload(viewSubmissionPayload(input));
}

/** The JSON body of an Events API delivery, e.g. `{type: 'app_home_opened', user, channel, tab: 'home'}`. */
export function eventCallbackBody(event: Args, options: EventCallbackOptions = {}): string {
  return JSON.stringify(eventCallbackPayload(event, options));
}

export interface SendToBotOptions {
  timestampSeconds?: number;
  /** Sign with another secret, as a forger would. */
  badSignature?: boolean;
  /** Sets `X-Slack-Retry-Num` (and `X-Slack-Retry-Reason: http_timeout`), as Slack does when it redelivers an event. */
  retryNum?: number;
}

export interface BotAnswer {
  status: number;
  body: string;
  elapsedMs: number;
}

/** POSTs a signed body to the bot (e.g. `http://127.0.0.1:PORT/slack/events`). */
export async function sendToBot(
  url: string,
  secret: string,
  body: string,
  options: SendToBotOptions = {},
): Promise<BotAnswer> {
  const signingSecret = options.badSignature ? `${secret}-forged` : secret;
  const headers = signSlackRequest(signingSecret, body, options.timestampSeconds);
  if (options.retryNum !== undefined) {
    headers['x-slack-retry-num'] = String(options.retryNum);
    headers['x-slack-retry-reason'] = 'http_timeout';
  }
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, body: text, elapsedMs: performance.now() - started };
}
