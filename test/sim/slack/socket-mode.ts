/**
 * Slack's Socket Mode, simulated on loopback: the WebSocket server that `apps.connections.open` points a client to.
 *
 * As Slack does it: a connection is accepted only with a ticket FakeSlack issued (each once) and greeted with
 * `hello`; an envelope `{envelope_id, type, payload, accepts_response_payload}` is acknowledged by the app with
 * `{envelope_id, payload?}`; one not acknowledged in time is sent again with `retry_attempt`/`retry_reason`; envelopes
 * sent while no connection is open wait for the next one; `{type: 'disconnect'}` asks the client to reconnect.
 * Pings are answered with pongs (by `ws`). Every connection, delivery and ack is recorded.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { type Args, isObject, SLACK_WORKSPACE } from './common.ts';
import type {
  AckRecord,
  ConnectionRecord,
  DeliverOptions,
  DeliveryRecord,
  EnvelopeRecord,
  EnvelopeType,
  OtherClientMessage,
  RedeliverOptions,
  RejectedUpgrade,
  SocketAck,
  SocketEnvelope,
} from './socket-mode-records.ts';
import { Waiters } from './waiters.ts';

const HOST = 'applink-sim';
const DEFAULT_REDELIVER_AFTER_MS = 3_000;
const DEFAULT_MAX_RETRIES = 3;
const DEFAULT_ACK_TIMEOUT_MS = 3_000;
const DEFAULT_WAIT_MS = 3_000;
/** How long `close()` waits for a still-open client to answer its close frame before cutting the link. */
const CLOSE_GRACE_MS = 500;

export interface SocketModeSimOptions {
  /** An envelope not acknowledged within this long is sent again. Default 3000 ms. */
  redeliverAfterMs?: number;
  /** How many times an unacknowledged envelope is sent again before Slack gives up. Default 3. */
  maxRetries?: number;
  /** How long the promise of `deliver()` / `redeliver()` waits for the ack before rejecting. Default 3000 ms. */
  ackTimeoutMs?: number;
  /** Called after every change (connection, delivery, ack): FakeSlack re-runs its `waitFor` probes. */
  onChange?: () => void;
}

interface Tracked {
  record: EnvelopeRecord;
  redeliverAfterMs: number;
  maxRetries: number;
}

interface Outgoing {
  message: SocketEnvelope;
  /** An automatic delivery: arms the redelivery timer; dropped from the queue once the envelope is acked. */
  automatic: boolean;
}

interface Live {
  record: ConnectionRecord;
  ws: WebSocket;
  socket: Duplex;
}

function acceptsResponsePayload(type: EnvelopeType, payload: Args): boolean {
  if (type === 'slash_commands') return true;
  return type === 'interactive' && (payload.type === 'view_submission' || payload.type === 'block_suggestion');
}

function text(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

export class SocketModeSim {
  /** Every connection ever accepted, oldest first. */
  readonly connections: ConnectionRecord[] = [];
  /** Every envelope created by `deliver()`, oldest first. */
  readonly envelopes: EnvelopeRecord[] = [];
  /** Every envelope sent, first deliveries and redeliveries alike, in sending order. */
  readonly deliveries: DeliveryRecord[] = [];
  /** Every ack received, in order, duplicates and unknown envelope ids included. */
  readonly acks: AckRecord[] = [];
  /** Text frames from the client that were not acks. */
  readonly otherMessages: OtherClientMessage[] = [];
  /** WebSocket handshakes refused (unknown or reused ticket, wrong path). */
  readonly rejectedUpgrades: RejectedUpgrade[] = [];
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true, clientTracking: false });
  private origin = '';
  private readonly tickets = new Map<string, 'issued' | 'used'>();
  private readonly live = new Map<number, Live>();
  private readonly tracked = new Map<string, Tracked>();
  private readonly queue: Outgoing[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly sockets = new Set<Duplex>();
  private readonly waiters = new Waiters('SocketModeSim');
  private readonly redeliverAfterMs: number;
  private readonly maxRetries: number;
  private readonly ackTimeoutMs: number;
  private readonly onChange: (() => void) | undefined;
  private closing = false;

  private constructor(options: SocketModeSimOptions) {
    this.redeliverAfterMs = options.redeliverAfterMs ?? DEFAULT_REDELIVER_AFTER_MS;
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
    this.onChange = options.onChange;
    this.server = createServer((_request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain' }).end('Upgrade Required');
    });
    this.server.on('upgrade', (request, socket, head) => this.upgrade(request, socket, head));
  }

  static async start(options: SocketModeSimOptions = {}): Promise<SocketModeSim> {
    const sim = new SocketModeSim(options);
    await new Promise<void>((resolve, reject) => {
      sim.server.once('error', reject);
      sim.server.listen(0, '127.0.0.1', () => resolve());
    });
    sim.origin = `ws://127.0.0.1:${(sim.server.address() as AddressInfo).port}`;
    return sim;
  }

  /** A new single-use WebSocket URL, as `apps.connections.open` answers it. */
  issueUrl(): string {
    const ticket = randomUUID();
    this.tickets.set(ticket, 'issued');
    return `${this.origin}/link/?ticket=${ticket}&app_id=${SLACK_WORKSPACE.appId}`;
  }

  /* ---------------- what tests look at ---------------- */

  get connectionCount(): number {
    return this.connections.length;
  }

  /** Connections whose link is up now (including one asked to refresh that the client has not closed yet). */
  openConnections(): ConnectionRecord[] {
    return [...this.live.values()].map((l) => l.record);
  }

  envelope(envelopeId: string): EnvelopeRecord | undefined {
    return this.tracked.get(envelopeId)?.record;
  }

  deliveriesOf(envelopeId: string): DeliveryRecord[] {
    return this.deliveries.filter((d) => d.envelopeId === envelopeId);
  }

  acksOf(envelopeId: string): AckRecord[] {
    return this.acks.filter((a) => a.envelopeId === envelopeId);
  }

  /** Envelope messages waiting for a connection. */
  queued(): SocketEnvelope[] {
    return this.queue.map((q) => q.message);
  }

  /** Resolves with the first truthy value of `probe`, probed now and after every connection, delivery and ack. */
  waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = DEFAULT_WAIT_MS): Promise<T> {
    return this.waiters.waitFor(probe, timeoutMs);
  }

  /** Resolves when the `n`-th connection (1-based, counting every connection ever made) has been sent its hello. */
  waitForConnection(n: number, timeoutMs = DEFAULT_WAIT_MS): Promise<ConnectionRecord> {
    const probe = () => {
      const record = this.connections[n - 1];
      return record?.helloAt !== undefined && record;
    };
    return this.waiters.waitFor(probe, timeoutMs, `connection #${n} with hello`);
  }

  /** Resolves with the `n`-th ack (1-based) of an envelope. */
  waitForAck(envelopeId: string, n = 1, timeoutMs = this.ackTimeoutMs): Promise<SocketAck> {
    const probe = () => this.acksOf(envelopeId)[n - 1]?.message as SocketAck | undefined;
    const promise = this.waiters.waitFor(probe, timeoutMs, `ack #${n} of envelope ${envelopeId}`);
    promise.catch(() => {}); // whoever awaits it still sees the rejection; a deliver() not awaited is no crash
    return promise;
  }

  /* ---------------- driving ---------------- */

  /**
   * Sends an envelope to the app (on the newest open connection, or on the next one to open) and resolves with the
   * app's ack; rejects when none comes within `ackTimeoutMs`. Unacknowledged, it is sent again every
   * `redeliverAfterMs` with `retry_attempt: n, retry_reason: 'timeout'`, up to `maxRetries` times.
   */
  deliver(type: EnvelopeType, payload: Args, options: DeliverOptions = {}): Promise<SocketAck> {
    const envelopeId = options.envelopeId ?? randomUUID();
    if (this.tracked.has(envelopeId)) throw new Error(`envelope ${envelopeId} was already delivered`);
    const record: EnvelopeRecord = {
      envelopeId,
      type,
      payload,
      acceptsResponsePayload: options.acceptsResponsePayload ?? acceptsResponsePayload(type, payload),
      createdAt: Date.now(),
      retries: 0,
      gaveUp: false,
    };
    this.envelopes.push(record);
    this.tracked.set(envelopeId, {
      record,
      redeliverAfterMs: options.redeliverAfterMs ?? this.redeliverAfterMs,
      maxRetries: options.maxRetries ?? this.maxRetries,
    });
    const acked = this.waitForAck(envelopeId, 1, options.ackTimeoutMs);
    this.transmit({ message: this.envelopeMessage(record), automatic: true });
    return acked;
  }

  /**
   * Sends an envelope again, as Slack does when an ack was lost: `retry_attempt: 1, retry_reason: 'timeout'` by
   * default, acked or not. Resolves with the next ack of that envelope.
   */
  redeliver(envelopeId: string, options: RedeliverOptions = {}): Promise<SocketAck> {
    const tracked = this.tracked.get(envelopeId);
    if (tracked === undefined) throw new Error(`no envelope ${envelopeId}`);
    const next = this.acksOf(envelopeId).length + 1;
    const acked = this.waitForAck(envelopeId, next, options.ackTimeoutMs);
    const retry = { retryAttempt: options.retryAttempt ?? 1, retryReason: options.retryReason ?? 'timeout' };
    this.transmit({ message: this.envelopeMessage(tracked.record, retry), automatic: false });
    return acked;
  }

  /**
   * Sends `{type: 'disconnect', reason}` on every open connection, as Slack does before recycling a link; nothing
   * more is delivered on them (envelopes wait for the client's next connection). Returns how many were told.
   */
  refresh(reason = 'refresh_requested'): number {
    const targets = [...this.live.values()].filter((l) => !l.record.refreshRequested);
    for (const { ws, record } of targets) {
      record.refreshRequested = true;
      ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: HOST } }));
    }
    this.changed();
    return targets.length;
  }

  /** Cuts every open connection's TCP socket without a close frame, as a dying link does. Returns how many. */
  drop(): number {
    const targets = [...this.live.values()];
    for (const { socket, record } of targets) {
      record.dropped = true;
      socket.destroy();
    }
    this.changed();
    return targets.length;
  }

  /**
   * Stops everything: timers, waits (rejected), connections (close frame, then cut after a grace), the server.
   * Disconnect the client first: a client still running reconnects, and its `apps.connections.open` then fails.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.waiters.abortAll();
    await Promise.all([...this.live.values()].map((l) => this.closeLink(l)));
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /* ---------------- connections ---------------- */

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    const state = this.tickets.get(ticket);
    const problem: RejectedUpgrade['reason'] | undefined =
      url.pathname !== '/link/' && url.pathname !== '/link'
        ? 'bad_path'
        : state === undefined
          ? 'unknown_ticket'
          : state === 'used'
            ? 'used_ticket'
            : undefined;
    if (problem !== undefined || this.closing) {
      this.rejectedUpgrades.push({ at: Date.now(), url: request.url ?? '', reason: problem ?? 'unknown_ticket' });
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      this.changed();
      return;
    }
    this.tickets.set(ticket, 'used');
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, socket, ticket));
  }

  private accept(ws: WebSocket, socket: Duplex, ticket: string): void {
    const record: ConnectionRecord = {
      id: this.connections.length + 1,
      ticket,
      openedAt: Date.now(),
      refreshRequested: false,
      dropped: false,
      pings: 0,
    };
    this.connections.push(record);
    const link: Live = { record, ws, socket };
    this.live.set(record.id, link);
    ws.on('ping', () => {
      record.pings += 1;
      this.changed();
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.receive(record.id, text(data));
    });
    ws.on('error', () => {}); // a cut link also ends in 'close', which is what is recorded
    ws.on('close', (code, reason) => {
      record.closedAt = Date.now();
      record.closeCode = code;
      record.closeReason = reason.toString('utf8');
      this.live.delete(record.id);
      this.changed();
    });
    const hello = {
      type: 'hello',
      num_connections: this.live.size,
      debug_info: { host: HOST, build_number: 1, approximate_connection_time: 18060 },
      connection_info: { app_id: SLACK_WORKSPACE.appId },
    };
    ws.send(JSON.stringify(hello), () => {
      if (record.closedAt !== undefined) return;
      record.helloAt = Date.now();
      this.flush();
      this.changed();
    });
  }

  private closeLink({ ws, record }: Live): Promise<void> {
    if (record.closedAt !== undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cut = setTimeout(() => ws.terminate(), CLOSE_GRACE_MS);
      ws.once('close', () => {
        clearTimeout(cut);
        resolve();
      });
      ws.close(1001, 'going away');
    });
  }

  /** The newest connection that has had its hello and was not asked to refresh. */
  private target(): Live | undefined {
    const ready = [...this.live.values()].filter(
      (l) => l.record.helloAt !== undefined && !l.record.refreshRequested && l.ws.readyState === l.ws.OPEN,
    );
    return ready.at(-1);
  }

  /* ---------------- envelopes ---------------- */

  private envelopeMessage(
    record: EnvelopeRecord,
    retry?: { retryAttempt: number; retryReason: string },
  ): SocketEnvelope {
    return {
      envelope_id: record.envelopeId,
      type: record.type,
      payload: record.payload,
      accepts_response_payload: record.acceptsResponsePayload,
      ...(retry === undefined ? {} : { retry_attempt: retry.retryAttempt, retry_reason: retry.retryReason }),
    };
  }

  private transmit(outgoing: Outgoing): void {
    if (this.closing) return;
    const link = this.target();
    if (link === undefined) {
      this.queue.push(outgoing);
      this.changed();
      return;
    }
    const { message } = outgoing;
    link.ws.send(JSON.stringify(message));
    this.deliveries.push({
      envelopeId: message.envelope_id,
      retryAttempt: message.retry_attempt ?? 0,
      retryReason: message.retry_reason,
      explicit: !outgoing.automatic,
      connection: link.record.id,
      at: Date.now(),
      message,
    });
    if (outgoing.automatic) this.armRedelivery(message.envelope_id);
    this.changed();
  }

  /** Sends what waited for a connection, in order; automatic retries of envelopes acked meanwhile are dropped. */
  private flush(): void {
    const waiting = this.queue.splice(0);
    for (const outgoing of waiting) {
      const acked = this.tracked.get(outgoing.message.envelope_id)?.record.ackedAt !== undefined;
      if (!(outgoing.automatic && acked)) this.transmit(outgoing);
    }
  }

  private armRedelivery(envelopeId: string): void {
    const tracked = this.tracked.get(envelopeId);
    if (tracked === undefined) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const { record } = tracked;
      if (record.ackedAt !== undefined) return;
      if (record.retries >= tracked.maxRetries) {
        record.gaveUp = true;
        this.changed();
        return;
      }
      record.retries += 1;
      const retry = { retryAttempt: record.retries, retryReason: 'timeout' };
      this.transmit({ message: this.envelopeMessage(record, retry), automatic: true });
    }, tracked.redeliverAfterMs);
    this.timers.add(timer);
  }

  private receive(connection: number, raw: string): void {
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      message = undefined;
    }
    if (!isObject(message) || typeof message.envelope_id !== 'string') {
      this.otherMessages.push({ connection, at: Date.now(), raw });
      this.changed();
      return;
    }
    const tracked = this.tracked.get(message.envelope_id);
    if (tracked !== undefined && tracked.record.ackedAt === undefined) tracked.record.ackedAt = Date.now();
    this.acks.push({
      envelopeId: message.envelope_id,
      ...(isObject(message.payload) ? { payload: message.payload } : {}),
      connection,
      at: Date.now(),
      known: tracked !== undefined,
      message,
    });
    this.changed();
  }

  private changed(): void {
    this.waiters.notify();
    this.onChange?.();
  }
}
