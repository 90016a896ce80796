/**
 * Slack, simulated on loopback for tests and the demo:
 * - `FakeSlack`: the Web API as @slack/web-api calls it (form-encoded POSTs to `/api/<method>`, `Authorization: Bearer`,
 *   `{ok: true|false}` answers), recording every call, plus `response_url` endpoints.
 * - a signer and builders for requests *to* the bot, signed exactly like Slack signs them.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

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

type Args = Record<string, unknown>;

export interface RecordedCall {
  method: string;
  /** JSON-decoded arguments (`blocks`, `view`, … parsed back), without the token. */
  args: Args;
  /** `Date.now()` when the answer was sent. */
  at: number;
  /** The HTTP status answered; 0 when the connection was dropped. */
  status: number;
  /** The JSON body answered (or the text of a non-JSON answer); undefined when dropped. */
  response: unknown;
}

export interface MessageVersion {
  text?: string;
  blocks?: unknown[];
  at: number;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text?: string;
  blocks?: unknown[];
  user: string;
  bot_id: string;
  reply_broadcast: boolean;
  /** Every version, oldest first: the post, then one per chat.update. The last is the current text and blocks. */
  versions: MessageVersion[];
  /** The arguments of the chat.postMessage that created it. */
  args: Args;
}

export interface EphemeralMessage {
  channel: string;
  user: string;
  message_ts: string;
  thread_ts?: string;
  text?: string;
  blocks?: unknown[];
  args: Args;
}

export interface StoredView {
  id: string;
  kind: 'home' | 'modal';
  /** views.publish: whose App Home. */
  userId?: string;
  /** views.open: the trigger it was opened with. */
  triggerId?: string;
  /** The current view as last sent by the app. */
  view: Args;
  /** Every version sent, oldest first. */
  versions: Args[];
}

export interface RecordedResponse {
  id: string;
  at: number;
  /** `{text, blocks, response_type, replace_original, delete_original, …}` as posted. */
  body: Args;
}

/** `http503`: HTTP 503; `internal_error`: 200 `{ok:false,error:'internal_error'}`; `drop`: the connection is cut. */
export type OutageMode = 'http503' | 'internal_error' | 'drop';

export interface FakeSlackUser {
  name?: string;
  realName?: string;
  isBot?: boolean;
  deleted?: boolean;
}

export interface FakeSlackOptions {
  /** The only token accepted. Default `DEFAULT_BOT_TOKEN`. */
  botToken?: string;
  /** When given, posting anywhere else answers `channel_not_found` (DMs `D…` and user ids `U…`/`W…` always work). */
  channels?: Iterable<string>;
  /** Channels that exist but the bot is not a member of: posting answers `not_in_channel`. */
  nonMemberChannels?: Iterable<string>;
  /** User-group id (`S…`) → member user ids, for usergroups.users.list. */
  usergroups?: Record<string, string[]>;
  /** usergroups.users.list answers `plan_upgrade_required`, as on a free plan. */
  usergroupsPlanUpgradeRequired?: boolean;
  /** Scopes the token has. When given, a method needing another scope answers `missing_scope`. Default: all. */
  scopes?: string[];
  /** Known users for users.info. When given, other ids answer `user_not_found`. */
  users?: Record<string, FakeSlackUser>;
  /** Seconds part of the first message ts. Default 1700000000. */
  firstTsSeconds?: number;
  /** Delay before every Web API answer. */
  latencyMs?: number;
  /** Uses allowed per response_url before it answers 404 `used_url` (Slack allows 5). */
  responseUrlMaxUses?: number;
}

const MESSAGE_BLOCK_LIMIT = 50;
const VIEW_BLOCK_LIMIT = 100;
const MESSAGE_TEXT_LIMIT = 40_000;
const TRIGGER_LIFETIME_MS = 3_000;

/** Arguments @slack/web-api sends as JSON-encoded strings inside the form. */
const JSON_ARGS = new Set(['blocks', 'attachments', 'view', 'metadata', 'user_auth_blocks']);

const REQUIRED_SCOPE: Record<string, string> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'usergroups.users.list': 'usergroups:read',
  'users.info': 'users:read',
};

/* ------------------------------------------------------------------------------------------------------------------ */
/* Small helpers                                                                                                      */

function isObject(value: unknown): value is Args {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function arrayOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function optionalString(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

function isTruthyFlag(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** A Slack-style `seconds.micros` timestamp of now. */
function slackNowTs(): string {
  const micros = Date.now() * 1000;
  return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
}

class SlackApiError extends Error {
  constructor(
    readonly error: string,
    readonly extra: Args = {},
  ) {
    super(error);
  }
}

function fail(error: string, extra?: Args): never {
  throw new SlackApiError(error, extra);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  drop?: boolean;
}

function send(response: ServerResponse, answer: Answer): void {
  const isText = typeof answer.body === 'string';
  response.writeHead(answer.status, {
    'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    ...answer.headers,
  });
  response.end(isText ? answer.body : JSON.stringify(answer.body ?? {}));
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* Decoding Web API requests                                                                                          */

interface ApiRequest {
  args: Args;
  token: string | undefined;
  /** Set when the body could not be decoded: the error to answer. */
  problem?: string;
}

function decodeFormValue(key: string, value: string): unknown {
  if (!JSON_ARGS.has(key)) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value; // left as a string: the method answers invalid_*_format
  }
}

function decodeForm(into: Args, form: URLSearchParams): void {
  for (const [key, value] of form) into[key] = decodeFormValue(key, value);
}

function bearerToken(request: IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
}

function decodeApiRequest(request: IncomingMessage, url: URL, raw: string): ApiRequest {
  const args: Args = {};
  decodeForm(args, url.searchParams);
  const contentType = (request.headers['content-type'] ?? '').toLowerCase();
  let problem: string | undefined;
  if (raw !== '') {
    if (contentType.startsWith('application/json')) problem = decodeJson(args, raw);
    else if (contentType.startsWith('application/x-www-form-urlencoded')) decodeForm(args, new URLSearchParams(raw));
    else problem = 'invalid_form_data';
  }
  // Slack reads a token from a form or the query, never from a JSON body.
  const formToken = contentType.startsWith('application/json') ? undefined : optionalString(args.token);
  delete args.token;
  return { args, token: bearerToken(request) ?? formToken, problem };
}

function decodeJson(into: Args, raw: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!isObject(parsed)) return 'invalid_json';
    for (const [key, value] of Object.entries(parsed)) if (key !== 'token') into[key] = value;
    return undefined;
  } catch {
    return 'invalid_json';
  }
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* Block Kit checks: the limits Slack enforces that a bot most often trips over                                        */

const BLOCK_TYPES = new Set([
  'actions',
  'context',
  'divider',
  'file',
  'header',
  'image',
  'input',
  'markdown',
  'rich_text',
  'section',
  'table',
  'video',
]);

function textObjectProblems(value: unknown, pointer: string, maxLength: number, plainOnly = false): string[] {
  if (!isObject(value)) return [`must be a text object [json-pointer:${pointer}]`];
  const allowed = plainOnly ? ['plain_text'] : ['plain_text', 'mrkdwn'];
  if (!allowed.includes(String(value.type)))
    return [`must be one of ${allowed.join(', ')} [json-pointer:${pointer}/type]`];
  if (typeof value.text !== 'string' || value.text.length === 0) {
    return [`must be more than 0 characters [json-pointer:${pointer}/text]`];
  }
  if (value.text.length > maxLength)
    return [`must be less than ${maxLength + 1} characters [json-pointer:${pointer}/text]`];
  return [];
}

function lengthProblem(value: unknown, pointer: string, maxLength: number): string[] {
  if (value === undefined) return [];
  if (typeof value !== 'string' || value.length > maxLength) {
    return [`must be a string of at most ${maxLength} characters [json-pointer:${pointer}]`];
  }
  return [];
}

function elementProblems(element: unknown, pointer: string): string[] {
  if (!isObject(element) || typeof element.type !== 'string') return [`must be an element [json-pointer:${pointer}]`];
  const problems = lengthProblem(element.action_id, `${pointer}/action_id`, 255);
  if (element.type !== 'button') return problems;
  problems.push(...textObjectProblems(element.text, `${pointer}/text`, 75, true));
  problems.push(...lengthProblem(element.value, `${pointer}/value`, 2000));
  problems.push(...lengthProblem(element.url, `${pointer}/url`, 3000));
  if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') {
    problems.push(`must be primary or danger [json-pointer:${pointer}/style]`);
  }
  return problems;
}

function countProblem(items: unknown, pointer: string, max: number): string[] {
  if (!Array.isArray(items) || items.length === 0) return [`must be a non-empty array [json-pointer:${pointer}]`];
  return items.length > max ? [`no more than ${max} items allowed [json-pointer:${pointer}]`] : [];
}

function sectionProblems(block: Args, pointer: string): string[] {
  if (block.text === undefined && block.fields === undefined)
    return [`must provide text or fields [json-pointer:${pointer}]`];
  const problems = block.text === undefined ? [] : textObjectProblems(block.text, `${pointer}/text`, 3000);
  if (block.fields !== undefined) {
    problems.push(...countProblem(block.fields, `${pointer}/fields`, 10));
    arrayOf(block.fields).forEach((field, i) => {
      problems.push(...textObjectProblems(field, `${pointer}/fields/${i}`, 2000));
    });
  }
  if (block.accessory !== undefined) problems.push(...elementProblems(block.accessory, `${pointer}/accessory`));
  return problems;
}

function actionsProblems(block: Args, pointer: string): string[] {
  const problems = countProblem(block.elements, `${pointer}/elements`, 25);
  const actionIds = new Set<string>();
  arrayOf(block.elements).forEach((element, i) => {
    problems.push(...elementProblems(element, `${pointer}/elements/${i}`));
    const actionId = isObject(element) ? element.action_id : undefined;
    if (typeof actionId !== 'string') return;
    if (actionIds.has(actionId))
      problems.push(`duplicate action_id ${actionId} [json-pointer:${pointer}/elements/${i}]`);
    actionIds.add(actionId);
  });
  return problems;
}

function typedBlockProblems(block: Args, pointer: string): string[] {
  switch (block.type) {
    case 'section':
      return sectionProblems(block, pointer);
    case 'header':
      return textObjectProblems(block.text, `${pointer}/text`, 150, true);
    case 'context':
      return countProblem(block.elements, `${pointer}/elements`, 10);
    case 'actions':
      return actionsProblems(block, pointer);
    default:
      return [];
  }
}

function blockProblems(block: unknown, pointer: string, blockIds: Set<string>): string[] {
  if (!isObject(block) || typeof block.type !== 'string')
    return [`must be a block with a type [json-pointer:${pointer}]`];
  if (!BLOCK_TYPES.has(block.type)) return [`unsupported type: ${block.type} [json-pointer:${pointer}/type]`];
  const problems = lengthProblem(block.block_id, `${pointer}/block_id`, 255);
  if (typeof block.block_id === 'string') {
    if (blockIds.has(block.block_id)) problems.push(`duplicate block_id ${block.block_id} [json-pointer:${pointer}]`);
    blockIds.add(block.block_id);
  }
  return [...problems, ...typedBlockProblems(block, pointer)];
}

/** The blocks, checked like Slack checks them; throws `invalid_blocks_format` / `invalid_blocks`. */
function validBlocks(value: unknown, limit: number): unknown[] {
  if (!Array.isArray(value)) fail('invalid_blocks_format');
  const problems = value.length > limit ? [`no more than ${limit} items allowed [json-pointer:/blocks]`] : [];
  const blockIds = new Set<string>();
  value.forEach((block, i) => {
    problems.push(...blockProblems(block, `/blocks/${i}`, blockIds));
  });
  if (problems.length > 0) {
    fail('invalid_blocks', { errors: problems, response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } });
  }
  return value;
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* Rendering messages as text                                                                                         */

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return isObject(value) && typeof value.text === 'string' ? value.text : undefined;
}

function present(values: Array<string | undefined>): string[] {
  return values.filter((value): value is string => value !== undefined && value !== '');
}

function elementLabel(element: unknown): string | undefined {
  if (!isObject(element)) return undefined;
  if (element.type === 'button') return `[${textOf(element.text) ?? ''}]`;
  const placeholder = textOf(element.placeholder);
  return placeholder === undefined ? undefined : `[${placeholder} ▾]`;
}

function richText(element: unknown): string {
  if (!isObject(element)) return '';
  switch (element.type) {
    case 'text':
      return String(element.text ?? '');
    case 'link':
      return String(element.text ?? element.url ?? '');
    case 'user':
      return `<@${String(element.user_id)}>`;
    case 'channel':
      return `<#${String(element.channel_id)}>`;
    case 'emoji':
      return `:${String(element.name)}:`;
    case 'rich_text_list':
      return arrayOf(element.elements)
        .map((item) => `• ${richText(item)}`)
        .join('\n');
    default: {
      const separator = element.type === 'rich_text' ? '\n' : '';
      return arrayOf(element.elements).map(richText).join(separator);
    }
  }
}

function blockTexts(block: unknown): string[] {
  if (!isObject(block)) return [];
  switch (block.type) {
    case 'section':
      return present([textOf(block.text), ...arrayOf(block.fields).map(textOf), elementLabel(block.accessory)]);
    case 'header':
    case 'markdown':
      return present([textOf(block.text)]);
    case 'context':
      return present([present(arrayOf(block.elements).map(textOf)).join('  ')]);
    case 'actions':
      return present([present(arrayOf(block.elements).map(elementLabel)).join(' ')]);
    case 'rich_text':
      return present([richText(block)]);
    case 'input':
      return present([textOf(block.label)]);
    default:
      return [];
  }
}

/** What Slack shows for a message: its blocks when they say something, else its text. */
export function messageLines(message: { text?: string; blocks?: unknown[] }): string[] {
  const fromBlocks = arrayOf(message.blocks).flatMap(blockTexts);
  const texts = fromBlocks.length > 0 ? fromBlocks : [message.text ?? ''];
  return texts.flatMap((text) => text.split('\n'));
}

function renderMessage(message: StoredMessage, marker: string, indent: string): string[] {
  const [first = '', ...rest] = messageLines(message);
  const edits = message.versions.length - 1;
  const edited = edits > 0 ? `  (edited ${edits}×)` : '';
  return [`${indent}${marker} ${first}${edited}`, ...rest.map((line) => `${indent}  ${line}`)];
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* The fake Web API                                                                                                   */

type MethodHandler = (args: Args) => Args;

interface Waiter {
  check(): void;
  abort(): void;
}

export class FakeSlack {
  /** Every Web API call, in the order answered, failed ones included. */
  readonly calls: RecordedCall[] = [];
  private readonly server: Server;
  private origin = '';
  private readonly botToken: string;
  private readonly channels: Set<string> | undefined;
  private readonly nonMemberChannels: Set<string>;
  private readonly usergroupMembers: Map<string, string[]>;
  private usergroupsPlanUpgradeRequired: boolean;
  private readonly scopes: string[] | undefined;
  private readonly users: Record<string, FakeSlackUser> | undefined;
  private readonly firstTsSeconds: number;
  private readonly responseUrlMaxUses: number;
  private latencyMs: number;
  private tsCounter = 0;
  private viewCounter = 0;
  private readonly stored: StoredMessage[] = [];
  private readonly ephemeralMessages: EphemeralMessage[] = [];
  private readonly storedViews: StoredView[] = [];
  private readonly recordedResponses: RecordedResponse[] = [];
  private outageMode: OutageMode | undefined;
  private readonly rateLimits = new Map<string, { remaining: number; retryAfterSeconds: number }>();
  private readonly injectedErrors = new Map<string, { remaining: number; error: string }>();
  private readonly waiters = new Set<Waiter>();

  private readonly methods: Record<string, MethodHandler> = {
    'auth.test': () => this.authTest(),
    'chat.postMessage': (args) => this.postMessage(args),
    'chat.update': (args) => this.updateMessage(args),
    'chat.postEphemeral': (args) => this.postEphemeral(args),
    'usergroups.users.list': (args) => this.usergroupUsers(args),
    'users.info': (args) => this.userInfo(args),
    'views.publish': (args) => this.publishView(args),
    'views.open': (args) => this.openView(args),
    'views.push': (args) => this.openView(args),
    'views.update': (args) => this.updateView(args),
  };

  private constructor(options: FakeSlackOptions) {
    this.botToken = options.botToken ?? DEFAULT_BOT_TOKEN;
    this.channels = options.channels === undefined ? undefined : new Set(options.channels);
    this.nonMemberChannels = new Set(options.nonMemberChannels ?? []);
    this.usergroupMembers = new Map(Object.entries(options.usergroups ?? {}));
    this.usergroupsPlanUpgradeRequired = options.usergroupsPlanUpgradeRequired ?? false;
    this.scopes = options.scopes;
    this.users = options.users;
    this.firstTsSeconds = options.firstTsSeconds ?? 1_700_000_000;
    this.responseUrlMaxUses = options.responseUrlMaxUses ?? 5;
    this.latencyMs = options.latencyMs ?? 0;
    this.server = createServer((request, response) => {
      this.route(request, response).catch((error: unknown) => {
        if (!response.headersSent) send(response, { status: 500, body: { ok: false, error: String(error) } });
      });
    });
  }

  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const fake = new FakeSlack(options);
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = fake.server.address() as AddressInfo;
    fake.origin = `http://127.0.0.1:${port}`;
    return fake;
  }

  /** For Bolt's `clientOptions.slackApiUrl` / WebClient's `slackApiUrl`; ends with a slash. */
  get apiUrl(): string {
    return `${this.origin}/api/`;
  }

  get token(): string {
    return this.botToken;
  }

  async close(): Promise<void> {
    for (const waiter of [...this.waiters]) waiter.abort();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /* ---------------- fault injection and configuration ---------------- */

  /** While on, every request (Web API and response_url) fails the given way; nothing changes state. */
  outage(on: boolean, mode: OutageMode = 'http503'): void {
    this.outageMode = on ? mode : undefined;
  }

  /** The next `times` calls to `method` answer HTTP 429 with `Retry-After: retryAfterSeconds`. */
  rateLimit(method: string, times: number, retryAfterSeconds = 1): void {
    this.rateLimits.set(method, { remaining: times, retryAfterSeconds });
  }

  /** The next `times` calls to `method` answer `{ok:false, error}` (e.g. `fatal_error`, `ratelimited`). */
  failNext(method: string, error: string, times = 1): void {
    this.injectedErrors.set(method, { remaining: times, error });
  }

  setLatency(milliseconds: number): void {
    this.latencyMs = milliseconds;
  }

  setUsergroup(usergroupId: string, userIds: string[]): void {
    this.usergroupMembers.set(usergroupId, [...userIds]);
  }

  setUsergroupsPlanUpgradeRequired(on: boolean): void {
    this.usergroupsPlanUpgradeRequired = on;
  }

  /** Forgets every call, message, view and response, and every injected fault. */
  reset(): void {
    this.calls.length = 0;
    this.stored.length = 0;
    this.ephemeralMessages.length = 0;
    this.storedViews.length = 0;
    this.recordedResponses.length = 0;
    this.rateLimits.clear();
    this.injectedErrors.clear();
    this.outageMode = undefined;
  }

  /* ---------------- what tests look at ---------------- */

  /** Current top-level messages (thread replies excluded), oldest first. */
  messages(channel?: string): StoredMessage[] {
    return this.stored.filter((m) => m.thread_ts === undefined && (channel === undefined || m.channel === channel));
  }

  /** Every message, replies included, in posting order. */
  allMessages(): StoredMessage[] {
    return [...this.stored];
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    return this.stored.find((m) => m.channel === channel && m.ts === ts);
  }

  /** The parent, then its replies in order, each as it is now; empty when there is no such parent. */
  thread(channel: string, ts: string): StoredMessage[] {
    const parent = this.message(channel, ts);
    if (parent === undefined) return [];
    return [parent, ...this.stored.filter((m) => m.channel === channel && m.thread_ts === ts && m.ts !== ts)];
  }

  /** The thread as readable text: the parent first, replies indented. */
  threadAsText(channel: string, ts: string): string {
    const [parent, ...replies] = this.thread(channel, ts);
    if (parent === undefined) return `(no message ${ts} in ${channel})`;
    return [...renderMessage(parent, '●', ''), ...replies.flatMap((reply) => renderMessage(reply, '↳', '    '))].join(
      '\n',
    );
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  ephemeralsFor(user?: string): EphemeralMessage[] {
    return this.ephemeralMessages.filter((m) => user === undefined || m.user === user);
  }

  views(kind?: 'home' | 'modal'): StoredView[] {
    return this.storedViews.filter((v) => kind === undefined || v.kind === kind);
  }

  homeView(userId: string): StoredView | undefined {
    return this.storedViews.find((v) => v.kind === 'home' && v.userId === userId);
  }

  /** A response_url on this server; POSTs to it are recorded under `id`. */
  responseUrl(id: string): string {
    return `${this.origin}/response/${encodeURIComponent(id)}`;
  }

  responses(id?: string): RecordedResponse[] {
    return this.recordedResponses.filter((r) => id === undefined || r.id === id);
  }

  /**
   * Resolves with the first truthy value `probe` returns, probing now and after every recorded call or response.
   * For work the bot does after its ack, e.g. `await fake.waitFor(() => fake.messages(channel)[0])`.
   */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 2_000): Promise<T> {
    const immediate = probe();
    if (immediate) return Promise.resolve(immediate);
    return new Promise<T>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        check: () => {
          const value = probe();
          if (!value) return;
          finish();
          resolve(value);
        },
        abort: () => {
          finish();
          reject(new Error('FakeSlack closed while waiting'));
        },
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`FakeSlack.waitFor: condition not met within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /* ---------------- HTTP ---------------- */

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.origin);
    const raw = await readBody(request);
    if (url.pathname.startsWith('/api/')) {
      await this.serveApi(decodeURIComponent(url.pathname.slice('/api/'.length)), request, url, raw, response);
    } else if (url.pathname.startsWith('/response/') && request.method === 'POST') {
      this.serveResponseUrl(decodeURIComponent(url.pathname.slice('/response/'.length)), request, raw, response);
    } else {
      send(response, { status: 404, body: 'Not Found' });
    }
  }

  private async serveApi(
    method: string,
    request: IncomingMessage,
    url: URL,
    raw: string,
    response: ServerResponse,
  ): Promise<void> {
    const decoded = decodeApiRequest(request, url, raw);
    if (this.latencyMs > 0 && this.outageMode === undefined) await sleep(this.latencyMs);
    const answer = this.outageMode ? outageAnswer(this.outageMode) : this.answerApi(method, decoded);
    this.record({
      method,
      args: decoded.args,
      at: Date.now(),
      status: answer.drop ? 0 : answer.status,
      response: answer.body,
    });
    if (answer.drop) request.socket.destroy();
    else send(response, { ...answer, headers: { ...this.scopeHeaders(), ...answer.headers } });
  }

  private answerApi(method: string, request: ApiRequest): Answer {
    const limited = this.takeRateLimit(method);
    if (limited !== undefined) {
      return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(limited) } };
    }
    try {
      if (request.problem !== undefined) fail(request.problem);
      const handler = this.methods[method] ?? fail('unknown_method');
      this.checkAuth(request.token);
      this.takeInjectedError(method);
      this.checkScope(method);
      return { status: 200, body: { ok: true, ...handler(request.args) } };
    } catch (error) {
      if (!(error instanceof SlackApiError)) throw error;
      return { status: 200, body: { ok: false, error: error.error, ...error.extra } };
    }
  }

  private serveResponseUrl(id: string, request: IncomingMessage, raw: string, response: ServerResponse): void {
    // A response_url has no `ok:false` form: any outage is an HTTP failure or a cut connection.
    const outage = this.outageMode && outageAnswer(this.outageMode === 'drop' ? 'drop' : 'http503');
    const answer = outage || this.answerResponseUrl(id, request, raw);
    if (answer.drop) request.socket.destroy();
    else send(response, answer);
  }

  private answerResponseUrl(id: string, request: IncomingMessage, raw: string): Answer {
    const body = decodeResponseBody(request, raw);
    if (body === undefined) return { status: 400, body: 'invalid_payload' };
    if (this.responses(id).length >= this.responseUrlMaxUses) return { status: 404, body: 'used_url' };
    this.recordedResponses.push({ id, at: Date.now(), body });
    this.notify();
    return { status: 200, body: { ok: true } };
  }

  private record(call: RecordedCall): void {
    this.calls.push(call);
    this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter.check();
  }

  private scopeHeaders(): Record<string, string> {
    return this.scopes === undefined ? {} : { 'x-oauth-scopes': this.scopes.join(',') };
  }

  private takeRateLimit(method: string): number | undefined {
    const limit = this.rateLimits.get(method);
    if (limit === undefined || limit.remaining <= 0) return undefined;
    limit.remaining -= 1;
    return limit.retryAfterSeconds;
  }

  private takeInjectedError(method: string): void {
    const injected = this.injectedErrors.get(method);
    if (injected === undefined || injected.remaining <= 0) return;
    injected.remaining -= 1;
    fail(injected.error);
  }

  private checkAuth(token: string | undefined): void {
    if (token === undefined) fail('not_authed');
    if (token !== this.botToken) fail('invalid_auth');
  }

  private checkScope(method: string): void {
    const needed = REQUIRED_SCOPE[method];
    if (this.scopes === undefined || needed === undefined || this.scopes.includes(needed)) return;
    fail('missing_scope', { needed, provided: this.scopes.join(',') });
  }

  /* ---------------- methods ---------------- */

  private authTest(): Args {
    return {
      url: `https://${SLACK_WORKSPACE.teamDomain}.slack.com/`,
      team: SLACK_WORKSPACE.teamName,
      user: SLACK_WORKSPACE.botName,
      team_id: SLACK_WORKSPACE.teamId,
      user_id: SLACK_WORKSPACE.botUserId,
      bot_id: SLACK_WORKSPACE.botId,
      is_enterprise_install: false,
    };
  }

  private postMessage(args: Args): Args {
    const channel = this.resolveChannel(args.channel);
    const { text, blocks } = messageContent(args, true);
    const ts = this.nextTs();
    const message: StoredMessage = {
      channel,
      ts,
      thread_ts: optionalString(args.thread_ts),
      text,
      blocks,
      user: SLACK_WORKSPACE.botUserId,
      bot_id: SLACK_WORKSPACE.botId,
      reply_broadcast: isTruthyFlag(args.reply_broadcast),
      versions: [{ text, blocks, at: Date.now() }],
      args,
    };
    this.stored.push(message);
    return { channel, ts, message: publicMessage(message) };
  }

  private updateMessage(args: Args): Args {
    const channel = this.resolveChannel(args.channel);
    const message = this.message(channel, String(args.ts ?? '')) ?? fail('message_not_found');
    const { text, blocks } = messageContent(args, true);
    // Like Slack: what is not sent is kept (blocks included); `blocks: []` removes the blocks.
    if (text !== undefined) message.text = text;
    if (blocks !== undefined) message.blocks = blocks;
    message.versions.push({ text: message.text, blocks: message.blocks, at: Date.now() });
    return { channel, ts: message.ts, text: message.text ?? '', message: publicMessage(message) };
  }

  private postEphemeral(args: Args): Args {
    const channel = this.resolveChannel(args.channel);
    const user = optionalString(args.user) ?? fail('user_not_found');
    const { text, blocks } = messageContent(args, true);
    const messageTs = this.nextTs();
    this.ephemeralMessages.push({
      channel,
      user,
      message_ts: messageTs,
      thread_ts: optionalString(args.thread_ts),
      text,
      blocks,
      args,
    });
    return { message_ts: messageTs };
  }

  private usergroupUsers(args: Args): Args {
    if (this.usergroupsPlanUpgradeRequired) fail('plan_upgrade_required');
    const members = this.usergroupMembers.get(String(args.usergroup ?? '')) ?? fail('no_such_subteam');
    return { users: [...members] };
  }

  private userInfo(args: Args): Args {
    const id = optionalString(args.user) ?? fail('user_not_found');
    if (!/^[UW]/.test(id)) fail('user_not_found');
    const known = this.users === undefined ? {} : (this.users[id] ?? fail('user_not_found'));
    const isBot = known.isBot ?? id === SLACK_WORKSPACE.botUserId;
    const name = known.name ?? (isBot ? SLACK_WORKSPACE.botName : id.toLowerCase());
    const realName = known.realName ?? name;
    return {
      user: {
        id,
        team_id: SLACK_WORKSPACE.teamId,
        name,
        real_name: realName,
        deleted: known.deleted ?? false,
        is_bot: isBot,
        profile: { real_name: realName, display_name: name },
      },
    };
  }

  private publishView(args: Args): Args {
    const userId = optionalString(args.user_id) ?? fail('invalid_arguments');
    const view = validView(args.view, 'home');
    const existing = this.homeView(userId);
    if (existing !== undefined) return { view: this.revise(existing, view) };
    return { view: this.store({ id: this.nextViewId(), kind: 'home', userId, view, versions: [view] }) };
  }

  private openView(args: Args): Args {
    const triggerId = optionalString(args.trigger_id ?? args.interactivity_pointer) ?? fail('invalid_arguments');
    checkTrigger(triggerId);
    const view = validView(args.view, 'modal');
    return { view: this.store({ id: this.nextViewId(), kind: 'modal', triggerId, view, versions: [view] }) };
  }

  private updateView(args: Args): Args {
    const viewId = optionalString(args.view_id);
    const externalId = optionalString(args.external_id);
    const stored =
      this.storedViews.find((v) => (viewId !== undefined ? v.id === viewId : v.view.external_id === externalId)) ??
      fail('not_found');
    return { view: this.revise(stored, validView(args.view, stored.kind === 'home' ? 'home' : 'modal')) };
  }

  /* ---------------- state helpers ---------------- */

  private resolveChannel(value: unknown): string {
    const channel = optionalString(value) ?? fail('channel_not_found');
    if (/^[UW]/.test(channel)) return `D${channel.slice(1)}`; // posting to a user id goes to the app's DM with them
    if (channel.startsWith('D')) return channel;
    if (this.channels !== undefined && !this.channels.has(channel)) fail('channel_not_found');
    if (this.nonMemberChannels.has(channel)) fail('not_in_channel');
    return channel;
  }

  /** Strictly increasing `seconds.micros` timestamps, 100 µs apart. */
  private nextTs(): string {
    this.tsCounter += 1;
    const micros = this.firstTsSeconds * 1_000_000 + this.tsCounter * 100;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  }

  private nextViewId(): string {
    this.viewCounter += 1;
    return `V${String(this.viewCounter).padStart(8, '0')}`;
  }

  private store(view: StoredView): Args {
    this.storedViews.push(view);
    return renderView(view);
  }

  private revise(stored: StoredView, view: Args): Args {
    stored.view = view;
    stored.versions.push(view);
    return renderView(stored);
  }
}

function outageAnswer(mode: OutageMode): Answer {
  if (mode === 'drop') return { status: 0, drop: true };
  if (mode === 'internal_error') return { status: 200, body: { ok: false, error: 'internal_error' } };
  return { status: 503, body: 'Service Unavailable' };
}

function decodeResponseBody(request: IncomingMessage, raw: string): Args | undefined {
  const contentType = request.headers['content-type'] ?? '';
  const json = contentType.startsWith('application/x-www-form-urlencoded')
    ? new URLSearchParams(raw).get('payload')
    : raw;
  try {
    const parsed: unknown = JSON.parse(json ?? '');
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function messageContent(args: Args, requireSomething: boolean): { text?: string; blocks?: unknown[] } {
  const text = args.text === undefined ? undefined : String(args.text);
  const blocks = args.blocks === undefined ? undefined : validBlocks(args.blocks, MESSAGE_BLOCK_LIMIT);
  if (requireSomething && !text && !blocks?.length && args.attachments === undefined) fail('no_text');
  if (text !== undefined && text.length > MESSAGE_TEXT_LIMIT) fail('msg_too_long');
  return { text, blocks };
}

function publicMessage(message: StoredMessage): Args {
  return {
    type: 'message',
    text: message.text ?? '',
    user: message.user,
    bot_id: message.bot_id,
    app_id: SLACK_WORKSPACE.appId,
    team: SLACK_WORKSPACE.teamId,
    ts: message.ts,
    ...(message.thread_ts === undefined ? {} : { thread_ts: message.thread_ts }),
    ...(message.blocks === undefined ? {} : { blocks: message.blocks }),
  };
}

function viewProblems(view: Args, kind: 'home' | 'modal'): string[] {
  const problems = lengthProblem(view.private_metadata, '/view/private_metadata', 3000);
  problems.push(...lengthProblem(view.callback_id, '/view/callback_id', 255));
  if (kind === 'modal') {
    problems.push(...textObjectProblems(view.title, '/view/title', 24, true));
    if (view.submit !== undefined) problems.push(...textObjectProblems(view.submit, '/view/submit', 24, true));
  }
  return problems;
}

function validView(value: unknown, kind: 'home' | 'modal'): Args {
  if (!isObject(value) || value.type !== kind) fail('invalid_arguments');
  const problems = viewProblems(value, kind);
  if (problems.length > 0) {
    fail('invalid_arguments', { response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } });
  }
  validBlocks(value.blocks ?? [], VIEW_BLOCK_LIMIT);
  return value;
}

function renderView(stored: StoredView): Args {
  const { view } = stored;
  return {
    ...view,
    id: stored.id,
    team_id: SLACK_WORKSPACE.teamId,
    type: view.type,
    blocks: view.blocks ?? [],
    private_metadata: view.private_metadata ?? '',
    callback_id: view.callback_id ?? '',
    external_id: view.external_id ?? '',
    state: { values: {} },
    hash: `${nowSeconds()}.${randomBytes(4).toString('hex')}`,
    previous_view_id: null,
    root_view_id: stored.id,
    app_id: SLACK_WORKSPACE.appId,
    app_installed_team_id: SLACK_WORKSPACE.teamId,
    bot_id: SLACK_WORKSPACE.botId,
  };
}

/** Trigger ids made by `newTriggerId` carry their birth time; Slack lets a trigger open a view for 3 seconds. */
function checkTrigger(triggerId: string): void {
  const issuedAtMs = Number(triggerId.split('.')[0]);
  if (issuedAtMs > 1e12 && Date.now() - issuedAtMs > TRIGGER_LIFETIME_MS) fail('expired_trigger_id');
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* Requests to the bot, signed like Slack signs them                                                                  */

let triggerCounter = 0;

/** A trigger id like Slack's, valid for views.open on FakeSlack for 3 seconds. */
export function newTriggerId(): string {
  triggerCounter += 1;
  return `${Date.now()}.${triggerCounter}.${randomBytes(8).toString('hex')}`;
}

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

export interface SlackUserRef {
  userId: string;
  userName?: string;
  teamId?: string;
}

function payloadUser({ userId, userName, teamId }: SlackUserRef): Args {
  const name = userName ?? userId.toLowerCase();
  return { id: userId, username: name, name, team_id: teamId ?? SLACK_WORKSPACE.teamId };
}

function payloadTeam(teamId?: string): Args {
  return { id: teamId ?? SLACK_WORKSPACE.teamId, domain: SLACK_WORKSPACE.teamDomain };
}

function formPayload(payload: Args): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface SlashCommandInput extends SlackUserRef {
  /** Default `/dkim`. */
  command?: string;
  text: string;
  channelId: string;
  channelName?: string;
  responseUrl: string;
  triggerId?: string;
}

/** The form body Slack POSTs for a slash command. */
export function slashCommandBody(input: SlashCommandInput): string {
  const user = payloadUser(input);
  return new URLSearchParams({
    token: SLACK_WORKSPACE.verificationToken,
    team_id: String(user.team_id),
    team_domain: SLACK_WORKSPACE.teamDomain,
    channel_id: input.channelId,
    channel_name: input.channelName ?? input.channelId.toLowerCase(),
    user_id: input.userId,
    user_name: String(user.name),
    command: input.command ?? '/dkim',
    text: input.text,
    api_app_id: SLACK_WORKSPACE.appId,
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: input.triggerId ?? newTriggerId(),
  }).toString();
}

interface FoundButton {
  blockId?: string;
  button: Args;
}

function findButton(blocks: unknown[] | undefined, actionId: string): FoundButton | undefined {
  for (const block of arrayOf(blocks)) {
    if (!isObject(block)) continue;
    const candidates = [...arrayOf(block.elements), block.accessory];
    const button = candidates.find((c): c is Args => isObject(c) && c.type === 'button' && c.action_id === actionId);
    if (button !== undefined) return { blockId: optionalString(block.block_id), button };
  }
  return undefined;
}

export interface BlockActionInput extends SlackUserRef {
  channelId: string;
  channelName?: string;
  messageTs: string;
  threadTs?: string;
  /** The clicked message as the bot posted it; when given, the button's block_id, value and label come from it. */
  messageText?: string;
  messageBlocks?: unknown[];
  actionId: string;
  value?: string;
  blockId?: string;
  /** The button label; default: the label in `messageBlocks`, else `Approve`. */
  buttonText?: string;
  responseUrl: string;
  triggerId?: string;
}

function clickedAction(input: BlockActionInput): Args {
  const found = findButton(input.messageBlocks, input.actionId);
  const value = input.value ?? optionalString(found?.button.value);
  const style = found?.button.style;
  return {
    action_id: input.actionId,
    block_id: input.blockId ?? found?.blockId ?? randomBytes(3).toString('hex'),
    text: { type: 'plain_text', text: input.buttonText ?? textOf(found?.button.text) ?? 'Approve', emoji: true },
    ...(value === undefined ? {} : { value }),
    ...(style === undefined ? {} : { style }),
    type: 'button',
    action_ts: slackNowTs(),
  };
}

/** `payload=<json>`: a `block_actions` interaction, a button clicked in a channel message. */
export function blockActionBody(input: BlockActionInput): string {
  const threadTs = input.threadTs === undefined ? {} : { thread_ts: input.threadTs };
  return formPayload({
    type: 'block_actions',
    user: payloadUser(input),
    api_app_id: SLACK_WORKSPACE.appId,
    token: SLACK_WORKSPACE.verificationToken,
    container: { type: 'message', message_ts: input.messageTs, channel_id: input.channelId, is_ephemeral: false },
    trigger_id: input.triggerId ?? newTriggerId(),
    team: payloadTeam(input.teamId),
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channelId, name: input.channelName ?? input.channelId.toLowerCase() },
    message: {
      type: 'message',
      user: SLACK_WORKSPACE.botUserId,
      bot_id: SLACK_WORKSPACE.botId,
      app_id: SLACK_WORKSPACE.appId,
      team: SLACK_WORKSPACE.teamId,
      ts: input.messageTs,
      ...threadTs,
      text: input.messageText ?? '',
      ...(input.messageBlocks === undefined ? {} : { blocks: input.messageBlocks }),
    },
    state: { values: {} },
    response_url: input.responseUrl,
    actions: [clickedAction(input)],
  });
}

export interface ButtonClickInput extends SlackUserRef {
  responseUrl: string;
  triggerId?: string;
}

/** A click on the button `actionId` of a message FakeSlack holds; throws when the message has no such button. */
export function buttonClickBody(message: StoredMessage, actionId: string, input: ButtonClickInput): string {
  if (findButton(message.blocks, actionId) === undefined) {
    throw new Error(`message ${message.ts} in ${message.channel} has no button ${actionId}`);
  }
  return blockActionBody({
    ...input,
    channelId: message.channel,
    messageTs: message.ts,
    threadTs: message.thread_ts,
    messageText: message.text,
    messageBlocks: message.blocks,
    actionId,
  });
}

export interface ViewSubmissionInput extends SlackUserRef {
  callbackId: string;
  /** blockId → actionId → a plain-text input's value, or the whole state entry (`{type:'static_select', …}`). */
  values: Record<string, Record<string, string | Args>>;
  viewId?: string;
  privateMetadata?: string;
  blocks?: unknown[];
  title?: string;
  triggerId?: string;
}

function stateValues(values: ViewSubmissionInput['values']): Args {
  const entries = Object.entries(values).map(([blockId, actions]) => [
    blockId,
    Object.fromEntries(
      Object.entries(actions).map(([actionId, value]) => [
        actionId,
        typeof value === 'string' ? { type: 'plain_text_input', value } : value,
      ]),
    ),
  ]);
  return Object.fromEntries(entries);
}

/** `payload=<json>`: a modal submitted (`view_submission`). */
export function viewSubmissionBody(input: ViewSubmissionInput): string {
  const viewId = input.viewId ?? `V${randomBytes(4).toString('hex').toUpperCase()}`;
  return formPayload({
    type: 'view_submission',
    team: payloadTeam(input.teamId),
    user: payloadUser(input),
    api_app_id: SLACK_WORKSPACE.appId,
    token: SLACK_WORKSPACE.verificationToken,
    trigger_id: input.triggerId ?? newTriggerId(),
    view: {
      id: viewId,
      team_id: input.teamId ?? SLACK_WORKSPACE.teamId,
      type: 'modal',
      blocks: input.blocks ?? [],
      private_metadata: input.privateMetadata ?? '',
      callback_id: input.callbackId,
      state: { values: stateValues(input.values) },
      hash: `${nowSeconds()}.${randomBytes(4).toString('hex')}`,
      title: { type: 'plain_text', text: input.title ?? 'dkim-bot', emoji: true },
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: { type: 'plain_text', text: 'Submit', emoji: true },
      previous_view_id: null,
      root_view_id: viewId,
      app_id: SLACK_WORKSPACE.appId,
      external_id: '',
      app_installed_team_id: SLACK_WORKSPACE.teamId,
      bot_id: SLACK_WORKSPACE.botId,
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  });
}

export interface EventCallbackOptions {
  teamId?: string;
  eventId?: string;
}

/** The JSON body of an Events API delivery, e.g. `{type: 'app_home_opened', user, channel, tab: 'home'}`. */
export function eventCallbackBody(event: Args, options: EventCallbackOptions = {}): string {
  const teamId = options.teamId ?? SLACK_WORKSPACE.teamId;
  return JSON.stringify({
    token: SLACK_WORKSPACE.verificationToken,
    team_id: teamId,
    api_app_id: SLACK_WORKSPACE.appId,
    event: { event_ts: slackNowTs(), ...event },
    type: 'event_callback',
    event_id: options.eventId ?? `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: nowSeconds(),
    authorizations: [
      {
        enterprise_id: null,
        team_id: teamId,
        user_id: SLACK_WORKSPACE.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  });
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
