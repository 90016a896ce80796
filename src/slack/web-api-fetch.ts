import http from 'node:http';
import https from 'node:https';
import type { Metrics } from '../ops/metrics.ts';

/** Statuses whose Response may not have a body (the Fetch standard's null body statuses that a server can send). */
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

interface Answer {
  status: number;
  statusText: string;
  headers: Headers;
  body: Buffer;
}

/**
 * fetch for the Web API client: the request and its whole answer within `timeoutMs`, then counted (ok when Slack's
 * JSON says so).
 *
 * - The client's own `timeout` would make an `AbortSignal.timeout` per call, whose timer and signal live out the
 *   whole limit after the answer came: thousands of them after a burst of messages. Here the timer is cleared as
 *   soon as the answer is read, and the answer is read once, not cloned to be counted.
 * - A call whose body is text (every Web API method but a file upload) goes over node:http(s) rather than the
 *   global fetch: undici's requests, streams and signals, alive while the outbox's deliveries are in flight, were
 *   most of what outlived the young generation after a burst of commands (docs/ARCHITECTURE.md, Performance). The
 *   answer is handed to the client as the Response it expects.
 */
export function slackFetch(timeoutMs: number, metrics: Metrics): typeof fetch {
  return async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const method = url.pathname.startsWith('/api/') ? url.pathname.slice('/api/'.length) : 'file_upload';
    const limit = new AbortController();
    const timer = setTimeout(
      () => limit.abort(new DOMException(`Slack did not answer within ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
    try {
      const signal = init?.signal ? AbortSignal.any([init.signal, limit.signal]) : limit.signal;
      const answer =
        typeof input === 'string' && typeof init?.body === 'string'
          ? await overNodeHttp(url, init, init.body, signal)
          : await overFetch(input, { ...init, signal });
      metrics.slackRequest(method, answer.status >= 200 && answer.status < 300 && answeredOk(answer));
      const { status, statusText, headers, body } = answer;
      return new Response(NULL_BODY_STATUSES.has(status) ? null : body, { status, statusText, headers });
    } catch (error) {
      metrics.slackRequest(method, false);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
}

async function overFetch(input: Parameters<typeof fetch>[0], init: RequestInit): Promise<Answer> {
  const response = await fetch(input, init);
  const { status, statusText, headers } = response;
  return { status, statusText, headers, body: Buffer.from(await response.arrayBuffer()) };
}

/** One request with a text body, its answer read whole; `redirect: 'error'` kept, as the client asks. */
function overNodeHttp(url: URL, init: RequestInit, body: string, signal: AbortSignal): Promise<Answer> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      url,
      { method: init.method ?? 'GET', headers: headerRecord(init.headers), signal },
      (response) => {
        const status = response.statusCode ?? 0;
        if (init.redirect === 'error' && status >= 300 && status < 400) {
          response.destroy();
          reject(new TypeError(`fetch failed: redirected (HTTP ${status}) to ${response.headers.location ?? '?'}`));
          return;
        }
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('close', () => {
          if (!response.complete) reject(signal.aborted ? signal.reason : new Error('Slack cut the answer short'));
        });
        response.on('end', () =>
          resolve({
            status,
            statusText: response.statusMessage ?? '',
            headers: responseHeaders(response.headers),
            body: Buffer.concat(chunks),
          }),
        );
        // An abort once the answer began: node:http destroys the request, and the answer with it.
        signal.addEventListener('abort', () => response.destroy(signal.reason), { once: true });
      },
    );
    request.on('error', (error) => reject(signal.aborted ? signal.reason : error));
    request.end(body);
  });
}

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  return Object.fromEntries(new Headers(headers ?? {}).entries());
}

function responseHeaders(headers: http.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) out.append(name, one);
  }
  return out;
}

function answeredOk(answer: Answer): boolean {
  if (!(answer.headers.get('content-type') ?? '').includes('json')) return true;
  try {
    return (JSON.parse(answer.body.toString('utf8')) as { ok?: boolean }).ok === true;
  } catch {
    return false;
  }
}
