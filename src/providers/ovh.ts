import ovh, { type OvhClient, type OvhClientOptions } from '@ovhcloud/node-ovh';
import type { z } from 'zod';
import type { Clock } from '../clock.ts';
import type { OvhConfig } from '../config/index.ts';
import { ProviderError } from './errors.ts';
import type { RateLimiter } from './ratelimit.ts';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One OVH call as seen by the audit trail. Paths never carry secrets. */
export interface OvhCall {
  method: HttpMethod;
  path: string;
  status: 'ok' | number | 'network';
}

/** The OVH API as the workflows see it: typed calls, errors sorted into transient and terminal. */
export interface OvhApi {
  get<T>(path: string, schema: z.ZodType<T>, query?: Record<string, string>): Promise<T>;
  post<T>(path: string, body: Record<string, unknown> | undefined, schema: z.ZodType<T>): Promise<T>;
  put<T>(path: string, body: Record<string, unknown>, schema: z.ZodType<T>): Promise<T>;
  delete<T>(path: string, schema: z.ZodType<T>): Promise<T>;
}

export interface OvhTransportOptions {
  config: OvhConfig;
  limiter: RateLimiter;
  clock: Clock;
  retry?: RetryPolicy;
  random?: () => number;
  /** Each request as it happened (its status, or `network`, and how long it took): the metrics. */
  observe?: (method: HttpMethod, status: number | 'network', seconds: number) => void;
}

/** Options for node-ovh from the configured endpoint: a named one, or https://host:port/basePath. */
export function clientOptions(config: OvhConfig): OvhClientOptions {
  const credentials =
    config.credentials.kind === 'application'
      ? {
          appKey: config.credentials.appKey,
          appSecret: config.credentials.appSecret,
          consumerKey: config.credentials.consumerKey,
        }
      : {
          clientID: config.credentials.clientId,
          clientSecret: config.credentials.clientSecret,
          ...(config.credentials.tokenUrl ? { tokenURL: config.credentials.tokenUrl } : {}),
        };
  // No `timeout` here: node-ovh adds a 'timeout' listener to every reused keep-alive socket, a leak; see withTimeout.
  const common = { ...credentials, warn: () => undefined };
  if (!config.endpoint.startsWith('https://')) return { ...common, endpoint: config.endpoint };
  const url = new URL(config.endpoint);
  return {
    ...common,
    host: url.hostname,
    port: url.port ? Number(url.port) : 443,
    basePath: url.pathname === '/' ? '/1.0' : url.pathname.replace(/\/+$/, ''),
  };
}

/**
 * The real OVH API over node-ovh. Every call waits for the shared rate limiter. Reads are retried on transient
 * errors; a mutating call is retried only when OVH certainly did not act on it (429, connection refused), because
 * after an ambiguous failure the workflow must read the state again before repeating it.
 */
export class OvhTransport implements OvhApi {
  private readonly client: OvhClient;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: OvhTransportOptions) {
    this.client = ovh(clientOptions(options.config));
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  get<T>(path: string, schema: z.ZodType<T>, query?: Record<string, string>): Promise<T> {
    return this.call('GET', path, query ? { ...query } : undefined, schema);
  }

  post<T>(path: string, body: Record<string, unknown> | undefined, schema: z.ZodType<T>): Promise<T> {
    return this.call('POST', path, body ? { ...body } : undefined, schema);
  }

  put<T>(path: string, body: Record<string, unknown>, schema: z.ZodType<T>): Promise<T> {
    return this.call('PUT', path, { ...body }, schema);
  }

  delete<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    return this.call('DELETE', path, undefined, schema);
  }

  private async call<T>(
    method: HttpMethod,
    path: string,
    params: Record<string, unknown> | undefined,
    schema: z.ZodType<T>,
  ): Promise<T> {
    if (path.includes('{')) throw new Error(`OVH path with a placeholder: ${path}`);
    const safe = method === 'GET';
    const raw = await withRetry(
      async () => {
        const release = await this.options.limiter.acquire();
        const started = performance.now();
        let status: number | 'network' = 200;
        try {
          // node-ovh mutates the params object: give it a fresh copy each time.
          return await withTimeout(
            this.client.requestPromised(method, path, params ? { ...params } : {}),
            this.options.config.timeoutMs,
          );
        } catch (rejection) {
          const error = toProviderError(rejection, method, path);
          status = error.status ?? 'network';
          throw error;
        } finally {
          release();
          this.options.observe?.(method, status, (performance.now() - started) / 1000);
        }
      },
      {
        policy: this.retry,
        clock: this.options.clock,
        random: this.options.random,
        retryable: (error) =>
          error instanceof ProviderError &&
          error.kind === 'transient' &&
          (safe || error.status === 429 || error.details.call === 'not-sent'),
      },
    );
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new ProviderError('ovh', 'terminal', `OVH answered ${method} ${path} with an unexpected shape`, {
        call: `${method} ${path}`,
      });
    }
    return parsed.data;
  }
}

class OvhTimeout extends Error {}

/** Real time, whatever the engine's clock: a timeout is about the network. The late answer is ignored. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject({ error: new OvhTimeout(`timed out after ${ms} ms`) }), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', -111, -3008, -3001]);

export function toProviderError(rejection: unknown, method: string, path: string): ProviderError {
  const call = `${method} ${path}`;
  const rejected = (rejection ?? {}) as { error?: unknown; message?: unknown };
  const tokenFailure = rejected.error as { statusCode?: unknown; message?: unknown } | undefined;
  // node-ovh rejects a failed OAuth2 token request with the status inside an object.
  const { error, message } =
    tokenFailure && typeof tokenFailure === 'object' && typeof tokenFailure.statusCode === 'number'
      ? {
          error: tokenFailure.statusCode,
          message: `OAuth2 token request refused: ${String(rejected.message ?? tokenFailure.message ?? '')}`,
        }
      : rejected;
  if (typeof error === 'number' && error >= 100 && error < 600) {
    const text = typeof message === 'string' && message ? message : `HTTP ${error}`;
    const kind = error === 429 || error >= 500 || error === 408 ? 'transient' : 'terminal';
    return new ProviderError('ovh', kind, `OVH ${call} → ${error}: ${text}`, {
      status: error,
      call,
      providerMessage: text,
    });
  }
  const code = errorCode(error) ?? errorCode(rejection);
  if (code !== undefined && NOT_SENT.has(code)) {
    return new ProviderError('ovh', 'transient', `OVH ${call} failed: cannot connect (${code})`, { call: 'not-sent' });
  }
  const text =
    typeof error === 'string' ? error : error instanceof Error ? error.message : `network error ${String(code ?? '')}`;
  return new ProviderError('ovh', 'transient', `OVH ${call} failed: ${text}`, { call });
}

function errorCode(value: unknown): string | number | undefined {
  if (typeof value === 'number') return value;
  if (value && typeof value === 'object' && 'code' in value) return (value as { code?: string }).code;
  return undefined;
}
