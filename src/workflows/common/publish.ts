import { absolute, relativeName, stripDot } from '../../domain/names.ts';
import type { DnsRecordToAdd } from '../../domain/notices.ts';
import type { ZoneApi } from '../../providers/ovh-api.ts';

/** Publishing CNAME records in an OVH zone, shared by the workflows: look first, write once, never overwrite. */

export const RECORD_TTL = 3600;

export type CnameResult =
  | { kind: 'present' }
  | { kind: 'created'; subDomain: string; target: string }
  | { kind: 'conflict'; message: string };

/** Creates `name CNAME target` in `zone` unless it is there; a CNAME with another target is a conflict. */
export async function ensureCname(zones: ZoneApi, zone: string, name: string, target: string): Promise<CnameResult> {
  const subDomain = relativeName(name, zone);
  if (subDomain === undefined) return { kind: 'conflict', message: `${name} is not inside the zone ${zone}.` };
  const wanted = absolute(target).toLowerCase();
  const existing = await zones.records(zone, 'CNAME', subDomain);
  if (existing.some((r) => servedTarget(r.target, zone) === wanted)) return { kind: 'present' };
  if (existing.length > 0) {
    const seen = existing.map((r) => servedTarget(r.target, zone)).join(', ');
    const relative = existing.some((r) => stripDot(r.target).toLowerCase() === stripDot(wanted));
    const why = relative
      ? `it was written without the final dot, so it points to ${seen}`
      : `it points to ${seen}, not to ${wanted}`;
    return {
      kind: 'conflict',
      message: `A CNAME for ${subDomain} already exists in zone ${zone}, but ${why}. The bot does not overwrite records it did not write: fix or delete it in the zone, then \`/dkim retry\`.`,
    };
  }
  await zones.createRecord(zone, { fieldType: 'CNAME', subDomain, target: wanted, ttl: RECORD_TTL });
  return { kind: 'created', subDomain, target: wanted };
}

/** A zone record's target as DNS will serve it: relative targets get the zone appended. */
function servedTarget(target: string, zone: string): string {
  const t = target.toLowerCase();
  return t.endsWith('.') ? t : `${t}.${zone}.`;
}

/**
 * Records for a DNS host that is not OVH: both names absolute, and the relative name for web forms (`@` for the
 * zone's apex); a CNAME's target absolute, a TXT's text as it is.
 */
export function recordsToAdd(
  records: { name: string; target: string; type?: DnsRecordToAdd['type'] }[],
  zone: string,
): DnsRecordToAdd[] {
  return records.map(({ name, target, type = 'CNAME' }) => ({
    name: absolute(name),
    relative: (relativeName(name, zone) ?? stripDot(name)) || '@',
    type,
    target: type === 'CNAME' ? absolute(target) : target,
    ttl: RECORD_TTL,
  }));
}
