import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../../src/clock.ts';
import { seeded } from '../fixtures.ts';
import { type DnsServer, startDnsServer } from './dns.ts';
import { OvhAccount } from './ovh-account.ts';
import { type OAuthClient, OvhAuth, type OvhCredentials, SIM_CREDENTIALS, SIM_OAUTH_CLIENT } from './ovh-auth.ts';
import { SimError, type Timing } from './ovh-common.ts';
import { dispatch, ovhRoutes, type ParsedRequest } from './ovh-routes.ts';
import { makeTestCertificate, type TestCertificate } from './tls.ts';

export type {
  EmailProDomainInfo,
  EmailProDomainSetup,
  ExchangeDomainInfo,
  ExchangeDomainSetup,
  MailAuthRecords,
  MxPlanDomainInfo,
  MxPlanDomainSetup,
  SelectorView,
} from './ovh-account.ts';
export { DEFAULT_DMARC, DEFAULT_SPF } from './ovh-account.ts';
export type { OAuthClient, OvhCredentials } from './ovh-auth.ts';
export { SIM_CREDENTIALS, SIM_OAUTH_CLIENT } from './ovh-auth.ts';
export type { DkimStatus } from './ovh-dkim.ts';
export type { MxPlanDkimView, MxPlanSelectorStatus, MxPlanStatus } from './ovh-mxplan.ts';
export type { PublishedRecord, ZoneRecord } from './ovh-zones.ts';

/** Probabilities in [0, 1]; the same seed and the same requests give the same faults. */
export interface OvhSimFaults {
  error5xxRate?: number;
  rate429?: number;
  slowMs?: number;
  slowRate?: number;
  /** Mutating calls only: the change is made, then a 500 is answered (the ambiguous case). */
  afterEffectFailRate?: number;
  seed?: number;
}

export interface SimRequestInfo {
  method: string;
  /** Without `/1.0` and without the query. */
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface RecordedRequest extends SimRequestInfo {
  at: number;
  /** 0 while unanswered (or never answered: "hang"). */
  status: number;
  /** Answered by an injected fault before the handler ran: nothing changed. */
  injected: boolean;
  /** The change was made, then an injected 500 was answered (afterEffectFailRate). */
  failedAfterEffect: boolean;
}

/**
 * Runs before the fault injection and the handler; returning (or resolving to) "hang" leaves the call unanswered, and
 * `{ status, body }` answers it so (a 403 of credentials without a right, an answer of a shape OVH may one day send).
 */
export type RequestHook = (request: SimRequestInfo) => unknown;
export type AfterEffectHook = (request: SimRequestInfo) => void | Promise<void>;

export interface OvhSimOptions {
  /** Milliseconds; default Date.now. */
  clock?: Pick<Clock, 'now'>;
  credentials?: OvhCredentials[];
  oauthClients?: OAuthClient[];
  /** How long a DKIM task (creation, deletion) stays `todo`. Default 0. */
  taskDelayMs?: number;
  /** How long a correct published CNAME must be seen before `waitingRecord` turns `ready`. Default 0. */
  robotDelayMs?: number;
  /** How long `enabling` lasts. Default 0. */
  enableDelayMs?: number;
  /** How long `disabling` lasts before the key is `ready` again. Default: enableDelayMs. */
  disableDelayMs?: number;
  /** How long `deleting` lasts before the key is gone. Default: taskDelayMs. */
  deleteDelayMs?: number;
  /** MX Plan: how long `modifying` lasts after PUT …/dkim/enable or …/disable (OVH: about 10 min). Default 0. */
  mxPlanDelayMs?: number;
  rateLimit?: { perMinute: number };
  faults?: OvhSimFaults;
  /** A created zone record is answered with `id: 0` (it is stored with its real id). */
  createdIdZero?: boolean;
  /**
   * Largest accepted gap between X-Ovh-Timestamp and the sim clock. Default 300 with the system clock and Infinity
   * with a custom clock: node-ovh adds the offset it measured once to Date.now(), so a moved fake clock would fail.
   */
  timestampToleranceSeconds?: number;
  onRequest?: RequestHook;
  afterEffect?: AfterEffectHook;
}

const BASE_PATH = '/1.0';
const TOKEN_PATH = '/auth/oauth2/token';
const RATE_WINDOW_MS = 60_000;
const MUTATING = new Set(['POST', 'PUT', 'DELETE']);

type Fault = 'none' | 'before' | 'after';

interface FaultDraw {
  error5xx: boolean;
  tooMany: boolean;
  slow: boolean;
  afterEffectFail: boolean;
}

function isAnswer(value: unknown): value is { status: number; body: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { status?: unknown }).status === 'number';
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function errorBody(error: SimError): Record<string, string> {
  return {
    class: error.errorClass,
    message: error.message,
    ...(error.errorCode ? { errorCode: error.errorCode } : {}),
  };
}

function parseJson(raw: string): unknown {
  if (raw === '') return null;
  try {
    return JSON.parse(raw);
  } catch {
    throw new SimError(400, 'Client::BadRequest', 'Invalid JSON received');
  }
}

function decodeSegments(path: string): string[] {
  try {
    return path.slice(1).split('/').map(decodeURIComponent);
  } catch {
    throw new SimError(400, 'Client::BadRequest', 'Invalid URL encoding');
  }
}

const INTERNAL_ERROR = new SimError(500, 'Server::InternalServerError', 'Internal server error');
const TOO_MANY = new SimError(429, 'Client::TooManyRequests', 'Too many requests');
const INVALID_URL = new SimError(404, 'Client::NotFound', 'Got an invalid (or empty) URL');

/** One signal that every slowed answer listens to: many at once is expected, not a leak. */
function abortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

function timingOf(options: OvhSimOptions): Timing {
  const clock = options.clock ?? { now: () => Date.now() };
  const taskDelayMs = options.taskDelayMs ?? 0;
  const enableDelayMs = options.enableDelayMs ?? 0;
  return {
    now: () => clock.now(),
    taskDelayMs,
    robotDelayMs: options.robotDelayMs ?? 0,
    enableDelayMs,
    disableDelayMs: options.disableDelayMs ?? enableDelayMs,
    deleteDelayMs: options.deleteDelayMs ?? taskDelayMs,
    mxPlanDelayMs: options.mxPlanDelayMs ?? 0,
  };
}

/**
 * The OVH API (Exchange, Email Pro and MX Plan DKIM, DNS zones) over HTTPS on loopback, with the DNS those zones
 * publish, OVH's robots, request signatures, a rate limit and seeded fault injection. Setting up and inspecting the
 * account's state: OvhAccount.
 */
export class OvhSim extends OvhAccount {
  readonly requests: RecordedRequest[] = [];
  readonly host = '127.0.0.1';
  readonly basePath = BASE_PATH;
  rateLimited429s = 0;
  rateLimit: { perMinute: number } | undefined;
  createdIdZero: boolean;
  onRequest: RequestHook | undefined;
  afterEffect: AfterEffectHook | undefined;
  port = 0;
  dnsServer = '';

  private readonly routes: ReturnType<typeof ovhRoutes>;
  private readonly auth: OvhAuth;
  private readonly sockets = new Set<Socket>();
  private readonly closing = abortController();
  private readonly server: Server;
  private dns: DnsServer | undefined;
  private acceptedTimes: number[] = [];
  private faultSettings: OvhSimFaults = {};
  private random = seeded(0);
  private queryCounter = 0;

  private constructor(
    options: OvhSimOptions,
    private readonly certificate: TestCertificate,
  ) {
    super(timingOf(options));
    this.routes = ovhRoutes(this.model, { createdIdZero: () => this.createdIdZero });
    this.auth = new OvhAuth(
      options.credentials ?? [SIM_CREDENTIALS],
      options.oauthClients ?? [SIM_OAUTH_CLIENT],
      options.timestampToleranceSeconds ?? (options.clock ? Infinity : 300),
      () => this.now(),
    );
    this.rateLimit = options.rateLimit;
    this.createdIdZero = options.createdIdZero ?? false;
    this.onRequest = options.onRequest;
    this.afterEffect = options.afterEffect;
    this.faults = options.faults ?? {};
    this.server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
      this.handle(req, res).catch(() => this.answerRaw(res, 500, errorBody(INTERNAL_ERROR)));
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: OvhSimOptions = {}): Promise<OvhSim> {
    const sim = new OvhSim(options, await makeTestCertificate());
    await sim.listen();
    return sim;
  }

  // ----- connection details -----

  /** `https://127.0.0.1:PORT/1.0`, the form OVH_ENDPOINT accepts. */
  get endpoint(): string {
    return `https://${this.host}:${this.port}${BASE_PATH}`;
  }

  /** node-ovh's `tokenURL` (it posts to tokenURL + "oauth2/token"). */
  get tokenUrl(): string {
    return `https://${this.host}:${this.port}/auth/`;
  }

  get caFile(): string {
    return this.certificate.caFile;
  }

  get certPem(): string {
    return this.certificate.certPem;
  }

  get credentials(): OvhCredentials {
    return this.auth.credentialList[0]!;
  }

  get oauthClient(): OAuthClient {
    return this.auth.oauthClients[0]!;
  }

  /** Options for `ovh(...)` from @ovhcloud/node-ovh, with the first application credentials. */
  clientOptions(): { host: string; port: number; basePath: string } & OvhCredentials {
    return { host: this.host, port: this.port, basePath: BASE_PATH, ...this.credentials };
  }

  get faults(): OvhSimFaults {
    return this.faultSettings;
  }

  /** Replaces the fault settings and restarts the random sequence from the seed. */
  set faults(faults: OvhSimFaults) {
    this.faultSettings = { ...faults };
    this.random = seeded(faults.seed ?? 1);
  }

  // ----- inspection of the calls -----

  count(method: string, pathPattern: RegExp | string): number {
    const pattern = typeof pathPattern === 'string' ? new RegExp(pathPattern) : pathPattern;
    return this.requests.filter((request) => request.method === method && pattern.test(request.path)).length;
  }

  /** Faults answered before the handler (no side effect); after-effect failures are counted apart. */
  get injectedFaults(): number {
    return this.requests.filter((request) => request.injected).length;
  }

  get afterEffectFailures(): number {
    return this.requests.filter((request) => request.failedAfterEffect).length;
  }

  async close(): Promise<void> {
    this.closing.abort();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([closed, this.dns?.close()]);
  }

  // ----- serving -----

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.host, () => resolve());
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('OvhSim: no port');
    this.port = address.port;
    this.dns = await startDnsServer((name) => this.model.lookup(name));
    this.dnsServer = this.dns.address;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Ovh-Queryid', this.nextQueryId());
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'https://sim.invalid');
    const method = req.method ?? 'GET';
    if (url.pathname === TOKEN_PATH && method === 'POST') return this.issueToken(req, raw, res);
    if (!url.pathname.startsWith(`${BASE_PATH}/`)) {
      return this.answerRaw(res, 404, errorBody(INVALID_URL));
    }
    const record: RecordedRequest = {
      at: this.now(),
      method,
      path: url.pathname.slice(BASE_PATH.length),
      query: Object.fromEntries(url.searchParams),
      body: null,
      status: 0,
      injected: false,
      failedAfterEffect: false,
    };
    this.requests.push(record);
    const answer = (status: number, body: unknown, fault: Fault = 'none') => {
      record.status = status;
      record.injected = fault === 'before';
      record.failedAfterEffect = fault === 'after';
      this.answerRaw(res, status, body);
    };
    if (method === 'GET' && record.path === '/auth/time') return answer(200, Math.floor(this.now() / 1000));
    try {
      record.body = parseJson(raw);
      await this.serve(req, raw, record, answer);
    } catch (error) {
      const simError = error instanceof SimError ? error : INTERNAL_ERROR;
      answer(simError.status, errorBody(simError));
    }
  }

  private async serve(
    req: IncomingMessage,
    raw: string,
    record: RecordedRequest,
    answer: (status: number, body: unknown, fault?: Fault) => void,
  ): Promise<void> {
    this.auth.authenticate(req, raw, this.host);
    if (this.overRateLimit()) {
      this.rateLimited429s++;
      return answer(429, errorBody(TOO_MANY));
    }
    const info: SimRequestInfo = { method: record.method, path: record.path, query: record.query, body: record.body };
    const hooked = await this.onRequest?.(info);
    if (hooked === 'hang') return;
    if (isAnswer(hooked)) return answer(hooked.status, hooked.body);
    const fault = this.drawFaults();
    if (fault.slow && !(await this.pause(this.faultSettings.slowMs ?? 0))) return;
    if (fault.error5xx) return answer(500, errorBody(INTERNAL_ERROR), 'before');
    if (fault.tooMany) return answer(429, errorBody(TOO_MANY), 'before');
    const request: ParsedRequest = { ...info, segments: decodeSegments(record.path) };
    this.model.settle();
    const body = dispatch(this.routes, request);
    if (MUTATING.has(record.method)) {
      await this.afterEffect?.(info);
      if (fault.afterEffectFail) return answer(500, errorBody(INTERNAL_ERROR), 'after');
    }
    answer(200, body);
  }

  private overRateLimit(): boolean {
    if (!this.rateLimit) return false;
    const now = this.now();
    const windowStart = now - RATE_WINDOW_MS;
    this.acceptedTimes = this.acceptedTimes.filter((at) => at > windowStart);
    if (this.acceptedTimes.length >= this.rateLimit.perMinute) return true;
    this.acceptedTimes.push(now);
    return false;
  }

  private drawFaults(): FaultDraw {
    const settings = this.faultSettings;
    const [error5xx, tooMany, slow, afterEffectFail] = [this.random(), this.random(), this.random(), this.random()];
    return {
      error5xx: error5xx! < (settings.error5xxRate ?? 0),
      tooMany: tooMany! < (settings.rate429 ?? 0),
      slow: slow! < (settings.slowRate ?? 0),
      afterEffectFail: afterEffectFail! < (settings.afterEffectFailRate ?? 0),
    };
  }

  /** Waits in real time; false when the simulator closed meanwhile. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.closing.signal });
      return true;
    } catch {
      return false;
    }
  }

  private issueToken(req: IncomingMessage, raw: string, res: ServerResponse): void {
    const form = new URLSearchParams(raw);
    const { status, body } = this.auth.tokenAnswer(req, form);
    this.requests.push({
      at: this.now(),
      method: 'POST',
      path: TOKEN_PATH,
      query: {},
      body: Object.fromEntries([...form].filter(([key]) => key !== 'client_secret')),
      status,
      injected: false,
      failedAfterEffect: false,
    });
    this.answerRaw(res, status, body);
  }

  private answerRaw(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }

  private nextQueryId(): string {
    this.queryCounter++;
    return `EU.ext-sim.${randomBytes(4).toString('hex')}.${process.pid}.${this.queryCounter}`;
  }
}
