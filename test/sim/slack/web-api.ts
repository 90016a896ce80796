/**
 * `FakeSlack`: the Web API as @slack/web-api calls it (form-encoded POSTs to `/api/<method>`, `Authorization: Bearer`,
 * `{ok: true|false}` answers), recording every call, plus `response_url` endpoints, the upload URLs of
 * files.getUploadURLExternal (files.ts), fault injection, and (with an app token) `apps.connections.open` leading to
 * the Socket Mode simulator.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { renderMessage } from './blocks.ts';
import { type Args, DEFAULT_BOT_TOKEN, fail, SLACK_WORKSPACE, SlackApiError } from './common.ts';
import { FileStore, UPLOAD_PATH, UPLOAD_URL_CALL } from './files.ts';
import {
  type Answer,
  type ApiRequest,
  decodeApiRequest,
  decodeResponseBody,
  outageAnswer,
  readBody,
  send,
} from './http.ts';
import { SocketModeSim, type SocketModeSimOptions } from './socket-mode.ts';
import type {
  EphemeralMessage,
  FakeSlackOptions,
  OutageMode,
  RecordedCall,
  RecordedResponse,
  StoredFile,
  StoredMessage,
  StoredView,
} from './types.ts';
import { Waiters } from './waiters.ts';
import { type MethodHandler, WorkspaceState } from './workspace.ts';

const REQUIRED_SCOPE: Record<string, string> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'files.getUploadURLExternal': 'files:write',
  'files.completeUploadExternal': 'files:write',
  'usergroups.users.list': 'usergroups:read',
  'users.info': 'users:read',
};

/** The one method called with the app-level token rather than the bot token. */
const CONNECTIONS_OPEN = 'apps.connections.open';

export class FakeSlack {
  /** Every Web API call, in the order answered, failed ones included. */
  readonly calls: RecordedCall[] = [];
  private readonly server: Server;
  private origin = '';
  private readonly botToken: string;
  private appToken: string | undefined;
  private socketModeSim: SocketModeSim | undefined;
  private readonly scopes: string[] | undefined;
  private readonly responseUrlMaxUses: number;
  private latencyMs: number;
  private readonly state: WorkspaceState;
  private readonly fileStore: FileStore;
  private readonly recordedResponses: RecordedResponse[] = [];
  private outageMode: OutageMode | undefined;
  private readonly rateLimits = new Map<string, { remaining: number; retryAfterSeconds: number }>();
  /** Requests taken during a `hang` outage: never answered. */
  private readonly hung: ServerResponse[] = [];
  private readonly injectedErrors = new Map<string, { remaining: number; error: string }>();
  private readonly waiters = new Waiters('FakeSlack');
  private readonly methods: Record<string, MethodHandler>;

  private constructor(options: FakeSlackOptions) {
    this.botToken = options.botToken ?? DEFAULT_BOT_TOKEN;
    this.scopes = options.scopes;
    this.responseUrlMaxUses = options.responseUrlMaxUses ?? 5;
    this.latencyMs = options.latencyMs ?? 0;
    this.state = new WorkspaceState(options);
    this.fileStore = new FileStore(this.state, () => this.origin);
    this.methods = {
      'auth.test': () => this.authTest(),
      ...this.state.methods,
      ...this.fileStore.methods,
    };
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
    if (options.appToken !== undefined) await fake.enableSocketMode(options.appToken, options.socketMode);
    return fake;
  }

  /** For Bolt's `clientOptions.slackApiUrl` / WebClient's `slackApiUrl`; ends with a slash. */
  get apiUrl(): string {
    return `${this.origin}/api/`;
  }

  get token(): string {
    return this.botToken;
  }

  /**
   * Turns Socket Mode on (what `start({appToken})` does): `apps.connections.open` then accepts `appToken` only and
   * hands out tickets to a WebSocket server on its own loopback port.
   */
  async enableSocketMode(appToken: string, options: SocketModeSimOptions = {}): Promise<SocketModeSim> {
    if (this.socketModeSim !== undefined) throw new Error('Socket Mode is already enabled');
    const sim = await SocketModeSim.start({ ...options, onChange: () => this.notify() });
    this.socketModeSim = sim;
    this.appToken = appToken;
    this.methods[CONNECTIONS_OPEN] = () => ({ url: sim.issueUrl() });
    return sim;
  }

  /** The Socket Mode simulator; throws unless started with `appToken` (or `enableSocketMode`). */
  get socketMode(): SocketModeSim {
    if (this.socketModeSim === undefined) throw new Error('FakeSlack: Socket Mode is off (start it with appToken)');
    return this.socketModeSim;
  }

  get socketModeEnabled(): boolean {
    return this.socketModeSim !== undefined;
  }

  async close(): Promise<void> {
    for (const response of this.hung) response.destroy();
    this.waiters.abortAll();
    await this.socketModeSim?.close();
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
    this.state.setUsergroup(usergroupId, userIds);
  }

  setUsergroupsPlanUpgradeRequired(on: boolean): void {
    this.state.setUsergroupsPlanUpgradeRequired(on);
  }

  /** Forgets every call, message, view, file and response, and every injected fault. */
  reset(): void {
    this.calls.length = 0;
    this.state.clear();
    this.fileStore.clear();
    this.recordedResponses.length = 0;
    this.rateLimits.clear();
    this.injectedErrors.clear();
    this.outageMode = undefined;
  }

  /* ---------------- what tests look at ---------------- */

  /** Current top-level messages (thread replies excluded), oldest first. */
  messages(channel?: string): StoredMessage[] {
    return this.state.messages.filter(
      (m) => m.thread_ts === undefined && (channel === undefined || m.channel === channel),
    );
  }

  /** Every message, replies included, in posting order. */
  allMessages(): StoredMessage[] {
    return [...this.state.messages];
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    return this.state.message(channel, ts);
  }

  /** The parent, then its replies in order, each as it is now; empty when there is no such parent. */
  thread(channel: string, ts: string): StoredMessage[] {
    const parent = this.message(channel, ts);
    if (parent === undefined) return [];
    return [parent, ...this.state.messages.filter((m) => m.channel === channel && m.thread_ts === ts && m.ts !== ts)];
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

  /** Files completed by files.completeUploadExternal, oldest first (uploaded but never completed ones are not). */
  files(): StoredFile[] {
    return [...this.fileStore.files];
  }

  /** A completed file's bytes as UTF-8 text. */
  fileContent(id: string): string | undefined {
    return this.fileStore.file(id)?.content.toString('utf8');
  }

  ephemeralsFor(user?: string): EphemeralMessage[] {
    return this.state.ephemerals.filter((m) => user === undefined || m.user === user);
  }

  views(kind?: 'home' | 'modal'): StoredView[] {
    return this.state.views.filter((v) => kind === undefined || v.kind === kind);
  }

  homeView(userId: string): StoredView | undefined {
    return this.state.homeView(userId);
  }

  /** A response_url on this server; POSTs to it are recorded under `id`. */
  responseUrl(id: string): string {
    return `${this.origin}/response/${encodeURIComponent(id)}`;
  }

  responses(id?: string): RecordedResponse[] {
    return this.recordedResponses.filter((r) => id === undefined || r.id === id);
  }

  /**
   * Resolves with the first truthy value `probe` returns, probing now and after every recorded call or response
   * (and every Socket Mode connection, delivery and ack).
   * For work the bot does after its ack, e.g. `await fake.waitFor(() => fake.messages(channel)[0])`.
   */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 2_000): Promise<T> {
    return this.waiters.waitFor(probe, timeoutMs);
  }

  /* ---------------- HTTP ---------------- */

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.origin);
    const body = await readBody(request);
    const raw = body.toString('utf8');
    if (url.pathname.startsWith('/api/')) {
      await this.serveApi(decodeURIComponent(url.pathname.slice('/api/'.length)), request, url, raw, response);
    } else if (url.pathname.startsWith('/response/') && request.method === 'POST') {
      this.serveResponseUrl(decodeURIComponent(url.pathname.slice('/response/'.length)), request, raw, response);
    } else if (url.pathname.startsWith(UPLOAD_PATH) && request.method === 'POST') {
      await this.serveUpload(url.pathname.slice(UPLOAD_PATH.length), request, body, response);
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
    if (answer.hang) return void this.hung.push(response);
    if (answer.stall) {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      response.write('{"ok":');
      return void this.hung.push(response);
    }
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
      this.checkAuth(method, request.token);
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
    if (answer.hang) return void this.hung.push(response);
    if (answer.drop) request.socket.destroy();
    else send(response, answer);
  }

  /**
   * A POST to an upload URL, recorded in `calls` as `upload_url` (args: what it got, and whether an Authorization
   * header came, which Slack does not need). Like a response_url it fails over HTTP in an outage.
   */
  private async serveUpload(
    token: string,
    request: IncomingMessage,
    body: Buffer,
    response: ServerResponse,
  ): Promise<void> {
    if (this.latencyMs > 0 && this.outageMode === undefined) await sleep(this.latencyMs);
    const contentType = request.headers['content-type'] ?? '';
    const { answer, args } = this.outageMode
      ? { answer: outageAnswer(this.outageMode === 'drop' ? 'drop' : 'http503'), args: { content_type: contentType } }
      : await this.fileStore.upload(token, contentType, body);
    args.authorization = request.headers.authorization !== undefined;
    this.record({
      method: UPLOAD_URL_CALL,
      args,
      at: Date.now(),
      status: answer.drop ? 0 : answer.status,
      response: answer.body,
    });
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
    this.waiters.notify();
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

  /**
   * The bot token for every method but apps.connections.open, which takes the app-level token only. Like Slack, the
   * right kind of token for the wrong method answers `not_allowed_token_type`.
   */
  private checkAuth(method: string, token: string | undefined): void {
    if (token === undefined) fail('not_authed');
    const expected = method === CONNECTIONS_OPEN ? this.appToken : this.botToken;
    if (token === expected) return;
    const other = method === CONNECTIONS_OPEN ? this.botToken : this.appToken;
    fail(token === other ? 'not_allowed_token_type' : 'invalid_auth');
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
}
