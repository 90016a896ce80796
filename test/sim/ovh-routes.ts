import {
  badRequest,
  DKIM_HEADER,
  type DkimState,
  type ExchangeDomain,
  FIELD_TYPES,
  isoDate,
  notFound,
  type OvhModel,
  type Task,
  type ZoneRecord,
} from './ovh-model.ts';

export interface ParsedRequest {
  method: string;
  /** Without the base path and the query, percent-decoded segment by segment. */
  segments: string[];
  query: Record<string, string>;
  body: unknown;
}

type Params = Record<string, string>;
type Handler = (params: Params, request: ParsedRequest) => unknown;

interface Route {
  method: string;
  pattern: string[];
  handler: Handler;
}

function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || body === undefined) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw badRequest('Invalid body: a JSON object is expected');
  return body as Record<string, unknown>;
}

function requiredString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (value === undefined || value === null) throw badRequest(`[${field}] Property is mandatory`);
  if (typeof value !== 'string') throw badRequest(`[${field}] Given data (${String(value)}) is not a string`);
  return value;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  return body[field] === undefined || body[field] === null ? undefined : requiredString(body, field);
}

function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`[${field}] Given data (${String(value)}) is not a boolean`);
  return value;
}

function optionalTtl(body: Record<string, unknown>): number | undefined {
  const value = body.ttl;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw badRequest(`[ttl] Given data (${String(value)}) is not a positive integer`);
  }
  return value;
}

function recordId(params: Params): number {
  const id = Number(params.id);
  if (!Number.isSafeInteger(id)) throw badRequest(`[id] Given data (${params.id}) is not a valid long`);
  return id;
}

export function taskView(task: Task) {
  return {
    id: task.id,
    function: task.function,
    status: task.status,
    todoDate: task.todoDate,
    finishDate: task.finishDate,
    lastUpdate: task.lastUpdate,
  };
}

export function dkimView(model: OvhModel, state: DkimState) {
  return {
    selectorName: state.selectorName,
    customerRecord: state.customerRecord,
    targetRecord: state.targetRecord,
    recordType: 'CNAME',
    status: state.status,
    cnameIsValid: model.cnameIsValid(state),
    taskPendingId: state.taskPendingId,
    lastUpdate: isoDate(state.lastUpdate),
    header: DKIM_HEADER,
  };
}

function recordView(record: ZoneRecord) {
  return { ...record };
}

function domainOf(model: OvhModel, params: Params): ExchangeDomain {
  return model.exchangeDomain(params.org!, params.service!, params.domain!);
}

function matchesFilters(record: ZoneRecord, query: Record<string, string>): boolean {
  if (query.fieldType !== undefined && record.fieldType !== query.fieldType) return false;
  if (query.subDomain !== undefined && record.subDomain !== query.subDomain) return false;
  return true;
}

function createDkim(model: OvhModel, params: Params, request: ParsedRequest) {
  const body = objectBody(request.body);
  const selector = requiredString(body, 'selectorName');
  const configureDkim = optionalBoolean(body, 'configureDkim') ?? false;
  const autoEnable = optionalBoolean(body, 'autoEnableDKIM') ?? false;
  return taskView(model.createDkimByRequest(domainOf(model, params), selector, configureDkim, autoEnable));
}

function createRecord(model: OvhModel, params: Params, request: ParsedRequest, createdIdZero: boolean) {
  const body = objectBody(request.body);
  const fieldType = requiredString(body, 'fieldType');
  if (!FIELD_TYPES.has(fieldType))
    throw badRequest(`[fieldType] Given data (${fieldType}) does not belong to the enum`);
  const record = model.createRecord(model.zone(params.zone!), {
    fieldType,
    subDomain: optionalString(body, 'subDomain') ?? '',
    target: requiredString(body, 'target'),
    ttl: optionalTtl(body) ?? 0,
  });
  return createdIdZero ? { ...recordView(record), id: 0 } : recordView(record);
}

function updateRecord(model: OvhModel, params: Params, request: ParsedRequest): null {
  const body = objectBody(request.body);
  const subDomain = optionalString(body, 'subDomain');
  const target = optionalString(body, 'target');
  const ttl = optionalTtl(body);
  model.updateRecord(model.zone(params.zone!), recordId(params), {
    ...(subDomain === undefined ? {} : { subDomain }),
    ...(target === undefined ? {} : { target }),
    ...(ttl === undefined ? {} : { ttl }),
  });
  return null;
}

const EXCHANGE_DOMAIN = 'email/exchange/:org/service/:service/domain/:domain';
const ZONE = 'domain/zone/:zone';

export interface RouteOptions {
  createdIdZero(): boolean;
}

export function ovhRoutes(model: OvhModel, options: RouteOptions): Route[] {
  const route = (method: string, pattern: string, handler: Handler): Route => ({
    method,
    pattern: pattern.split('/'),
    handler,
  });
  return [
    route('GET', 'email/exchange', () => model.organizations()),
    route('GET', 'email/exchange/:org/service', (p) => model.services(p.org!)),
    route('GET', 'email/exchange/:org/service/:service/domain', (p) => model.domainNames(p.org!, p.service!)),
    route('GET', EXCHANGE_DOMAIN, (p) => ({ name: domainOf(model, p).domain, state: 'ok', type: 'authoritative' })),
    route('GET', `${EXCHANGE_DOMAIN}/dkimSelector`, (p) => [...domainOf(model, p).selectors]),
    route('GET', `${EXCHANGE_DOMAIN}/dkim`, (p) => {
      model.settle();
      return [...domainOf(model, p).dkim.keys()];
    }),
    route('POST', `${EXCHANGE_DOMAIN}/dkim`, (p, r) => createDkim(model, p, r)),
    route('GET', `${EXCHANGE_DOMAIN}/dkim/:selector`, (p) =>
      dkimView(model, model.readStatus(model.dkim(domainOf(model, p), p.selector!))),
    ),
    route('DELETE', `${EXCHANGE_DOMAIN}/dkim/:selector`, (p) =>
      taskView(model.remove(domainOf(model, p), p.selector!)),
    ),
    route('POST', `${EXCHANGE_DOMAIN}/dkim/:selector/enable`, (p) =>
      taskView(model.enable(domainOf(model, p), p.selector!)),
    ),
    route('POST', `${EXCHANGE_DOMAIN}/dkim/:selector/disable`, (p) =>
      taskView(model.disable(domainOf(model, p), p.selector!)),
    ),
    route('GET', 'email/exchange/:org/service/:service/task', (p) =>
      model.serviceTasks(p.org!, p.service!).map((task) => task.id),
    ),
    route('GET', 'email/exchange/:org/service/:service/task/:id', (p) => {
      const task = model.serviceTasks(p.org!, p.service!).find((candidate) => candidate.id === Number(p.id));
      if (!task) throw notFound(`The requested object (id = ${p.id}) does not exist`);
      return taskView(task);
    }),
    route('GET', 'domain/zone', () => [...model.zones.keys()]),
    route('GET', ZONE, (p) => ({
      name: model.zone(p.zone!).name,
      dnssecSupported: false,
      hasDnsAnycast: false,
      lastUpdate: isoDate(model.zone(p.zone!).lastRefresh),
      nameServers: ['dns10.ovh.net', 'ns10.ovh.net'],
    })),
    route('GET', `${ZONE}/record`, (p, r) =>
      [...model.zone(p.zone!).records.values()]
        .filter((record) => matchesFilters(record, r.query))
        .map((record) => record.id),
    ),
    route('POST', `${ZONE}/record`, (p, r) => createRecord(model, p, r, options.createdIdZero())),
    route('GET', `${ZONE}/record/:id`, (p) => recordView(model.zoneRecord(model.zone(p.zone!), recordId(p)))),
    route('PUT', `${ZONE}/record/:id`, (p, r) => updateRecord(model, p, r)),
    route('DELETE', `${ZONE}/record/:id`, (p) => {
      model.deleteRecord(model.zone(p.zone!), recordId(p));
      return null;
    }),
    route('POST', `${ZONE}/refresh`, (p) => {
      model.refresh(model.zone(p.zone!));
      return null;
    }),
  ];
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
  for (const route of routes) {
    if (route.method !== request.method) continue;
    const params = match(route.pattern, request.segments);
    if (params) return route.handler(params, request);
  }
  throw notFound('Got an invalid (or empty) URL');
}
