/** What the Socket Mode simulator sends, receives and records: envelopes, acks, connections. */
import type { Args } from './common.ts';

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

/** What goes over the wire to the app. */
export interface SocketEnvelope {
  envelope_id: string;
  type: EnvelopeType;
  payload: Args;
  accepts_response_payload: boolean;
  /** Only on a redelivery: 1, 2, 3. */
  retry_attempt?: number;
  /** Only on a redelivery: `timeout`. */
  retry_reason?: string;
}

/** What the app sends back: `payload` is what it passed to `ack()` (`{}` for a bare ack from @slack/socket-mode). */
export interface SocketAck {
  envelope_id: string;
  payload?: Args;
}

export interface EnvelopeRecord {
  envelopeId: string;
  type: EnvelopeType;
  payload: Args;
  acceptsResponsePayload: boolean;
  createdAt: number;
  /** When the first ack arrived. */
  ackedAt?: number;
  /** Automatic redeliveries sent so far (not counting `redeliver()`). */
  retries: number;
  /** Set when the last automatic retry went unacknowledged too: Slack stops there. */
  gaveUp: boolean;
}

export interface DeliveryRecord {
  envelopeId: string;
  /** 0 for the first delivery, else the `retry_attempt` sent. */
  retryAttempt: number;
  retryReason?: string;
  /** `redeliver()` rather than the first delivery or an automatic retry. */
  explicit: boolean;
  /** The id of the connection it went out on. */
  connection: number;
  at: number;
  /** The envelope exactly as sent. */
  message: SocketEnvelope;
}

export interface AckRecord {
  envelopeId: string;
  payload?: Args;
  /** The id of the connection it came in on. */
  connection: number;
  at: number;
  /** False when no envelope with this id was ever sent. */
  known: boolean;
  /** The message as received, parsed. */
  message: Args;
}

export interface ConnectionRecord {
  /** 1 for the first connection, then 2, 3, … */
  id: number;
  ticket: string;
  openedAt: number;
  /** When `hello` was written to it. */
  helloAt?: number;
  closedAt?: number;
  /** 1000 after a close handshake; 1006 when the link died without one (`drop()`, or the client vanished). */
  closeCode?: number;
  closeReason?: string;
  /** `refresh()` sent it `{type: 'disconnect'}`: nothing more is delivered on it. */
  refreshRequested: boolean;
  /** `drop()` cut it. */
  dropped: boolean;
  /** Pings received from the client (each answered with a pong). */
  pings: number;
}

/** A text frame from the client that is not an ack. */
export interface OtherClientMessage {
  connection: number;
  at: number;
  raw: string;
}

export interface RejectedUpgrade {
  at: number;
  url: string;
  reason: 'bad_path' | 'unknown_ticket' | 'used_ticket';
}

export interface DeliverOptions {
  /** Default: a new UUID, like Slack's. */
  envelopeId?: string;
  /** Default: true for `slash_commands` and for `view_submission`/`block_suggestion` interactions, like Slack. */
  acceptsResponsePayload?: boolean;
  ackTimeoutMs?: number;
  redeliverAfterMs?: number;
  maxRetries?: number;
}

export interface RedeliverOptions {
  /** Default 1. */
  retryAttempt?: number;
  /** Default `timeout`. */
  retryReason?: string;
  ackTimeoutMs?: number;
}
