import { badRequest, isoDate } from './ovh-common.ts';
import { mailRoutes } from './ovh-mail-routes.ts';
import type { OvhModel } from './ovh-model.ts';
import {
  longId,
  objectBody,
  optionalString,
  optionalTtl,
  type Params,
  type ParsedRequest,
  type Route,
  requiredString,
  route,
} from './ovh-request.ts';
import { FIELD_TYPES, type ZoneRecord } from './ovh-zones.ts';

export { dispatch, type ParsedRequest, type Route } from './ovh-request.ts';

function matchesFilters(record: ZoneRecord, query: Record<string, string>): boolean {
  if (query.fieldType !== undefined && record.fieldType !== query.fieldType) return false;
  if (query.subDomain !== undefined && record.subDomain !== query.subDomain) return false;
  return true;
}

function createRecord(model: OvhModel, params: Params, request: ParsedRequest, createdIdZero: boolean) {
  const body = objectBody(request.body);
  const fieldType = requiredString(body, 'fieldType');
  if (!FIELD_TYPES.has(fieldType)) {
    throw badRequest(`[fieldType] Given data (${fieldType}) does not belong to the enum`);
  }
  const record = model.zones.createRecord(model.zones.zone(params.zone!), {
    fieldType,
    subDomain: optionalString(body, 'subDomain') ?? '',
    target: requiredString(body, 'target'),
    ttl: optionalTtl(body) ?? 0,
  });
  return createdIdZero ? { ...record, id: 0 } : { ...record };
}

function updateRecord(model: OvhModel, params: Params, request: ParsedRequest): null {
  const body = objectBody(request.body);
  const subDomain = optionalString(body, 'subDomain');
  const target = optionalString(body, 'target');
  const ttl = optionalTtl(body);
  model.zones.updateRecord(model.zones.zone(params.zone!), longId(params), {
    ...(subDomain === undefined ? {} : { subDomain }),
    ...(target === undefined ? {} : { target }),
    ...(ttl === undefined ? {} : { ttl }),
  });
  return null;
}

const ZONE = 'domain/zone/:zone';

function zoneRoutes(model: OvhModel, options: RouteOptions): Route[] {
  const { zones } = model;
  return [
    route('GET', 'domain/zone', () => [...zones.zones.keys()]),
    route('GET', ZONE, (p) => ({
      name: zones.zone(p.zone!).name,
      dnssecSupported: false,
      hasDnsAnycast: false,
      lastUpdate: isoDate(zones.zone(p.zone!).lastRefresh),
      nameServers: ['dns10.ovh.net', 'ns10.ovh.net'],
    })),
    route('GET', `${ZONE}/record`, (p, r) =>
      [...zones.zone(p.zone!).records.values()]
        .filter((record) => matchesFilters(record, r.query))
        .map((record) => record.id),
    ),
    route('POST', `${ZONE}/record`, (p, r) => createRecord(model, p, r, options.createdIdZero())),
    route('GET', `${ZONE}/record/:id`, (p) => ({ ...zones.record(zones.zone(p.zone!), longId(p)) })),
    route('PUT', `${ZONE}/record/:id`, (p, r) => updateRecord(model, p, r)),
    route('DELETE', `${ZONE}/record/:id`, (p) => {
      zones.deleteRecord(zones.zone(p.zone!), longId(p));
      return null;
    }),
    route('POST', `${ZONE}/refresh`, (p) => {
      zones.refresh(zones.zone(p.zone!));
      return null;
    }),
  ];
}

export interface RouteOptions {
  createdIdZero(): boolean;
}

/** Every route of the simulated API (under `/1.0`), the mail offers first, then the DNS zones. */
export function ovhRoutes(model: OvhModel, options: RouteOptions): Route[] {
  return [...mailRoutes(model), ...zoneRoutes(model, options)];
}
