/** HTTP plumbing of the fake Web API: reading and decoding requests the way Slack does, writing answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Args, isObject, optionalString } from './common.ts';
import type { OutageMode } from './types.ts';

/** Arguments @slack/web-api sends as JSON-encoded strings inside the form. */
const JSON_ARGS = new Set(['blocks', 'attachments', 'view', 'metadata', 'user_auth_blocks', 'files']);

/** The request body as bytes (an upload_url POST carries a file; everything else is decoded as UTF-8 text). */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  drop?: boolean;
  hang?: boolean;
  /** Headers and the start of the body sent, the rest never. */
  stall?: boolean;
}

export function send(response: ServerResponse, answer: Answer): void {
  const isText = typeof answer.body === 'string';
  response.writeHead(answer.status, {
    'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    ...answer.headers,
  });
  response.end(isText ? answer.body : JSON.stringify(answer.body ?? {}));
}

export function outageAnswer(mode: OutageMode): Answer {
  if (mode === 'drop') return { status: 0, drop: true };
  if (mode === 'hang') return { status: 0, hang: true };
  if (mode === 'stall') return { status: 200, stall: true };
  if (mode === 'internal_error') return { status: 200, body: { ok: false, error: 'internal_error' } };
  return { status: 503, body: 'Service Unavailable' };
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* Decoding Web API requests                                                                                          */

export interface ApiRequest {
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

export function decodeApiRequest(request: IncomingMessage, url: URL, raw: string): ApiRequest {
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

/** What the app POSTed to a response_url: a JSON body, or a form with a `payload` field. */
export function decodeResponseBody(request: IncomingMessage, raw: string): Args | undefined {
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
