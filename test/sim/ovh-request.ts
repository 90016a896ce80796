import { badRequest, notFound } from './ovh-common.ts';

/** Routing and body checks shared by every simulated OVH route. */

export interface ParsedRequest {
  method: string;
  /** Without the base path and the query, percent-decoded segment by segment. */
  segments: string[];
  query: Record<string, string>;
  body: unknown;
}

export type Params = Record<string, string>;
export type Handler = (params: Params, request: ParsedRequest) => unknown;

export interface Route {
  method: string;
  pattern: string[];
  handler: Handler;
}

/** `pattern` like `email/pro/:service/domain`: `:name` segments are parameters. */
export function route(method: string, pattern: string, handler: Handler): Route {
  return { method, pattern: pattern.split('/'), handler };
}

export function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || body === undefined) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('Invalid body: a JSON object is expected');
  return body as Record<string, unknown>;
}

export function requiredString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (value === undefined || value === null) throw badRequest(`[${field}] Property is mandatory`);
  if (typeof value !== 'string') throw badRequest(`[${field}] Given data (${String(value)}) is not a string`);
  return value;
}

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  return body[field] === undefined || body[field] === null ? undefined : requiredString(body, field);
}

export function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`[${field}] Given data (${String(value)}) is not a boolean`);
  return value;
}

export function optionalTtl(body: Record<string, unknown>): number | undefined {
  const value = body.ttl;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw badRequest(`[ttl] Given data (${String(value)}) is not a positive integer`);
  }
  return value;
}

export function longId(params: Params, field = 'id'): number {
  const id = Number(params[field]);
  if (!Number.isSafeInteger(id)) throw badRequest(`[${field}] Given data (${params[field]}) is not a valid long`);
  return id;
}

function match(pattern: string[], segments: string[]): Params | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Params = {};
  for (const [index, part] of pattern.entries()) {
    const segment = segments[index]!;
    if (part.startsWith(':')) params[part.slice(1)] = segment;
    else if (part !== segment) return undefined;
  }
  return params;
}

/** Runs the handler of the route matching the request; an unknown route is answered like OVH does. */
export function dispatch(routes: Route[], request: ParsedRequest): unknown {
  for (const candidate of routes) {
    if (candidate.method !== request.method) continue;
    const params = match(candidate.pattern, request.segments);
    if (params) return candidate.handler(params, request);
  }
  throw notFound('Got an invalid (or empty) URL');
}
