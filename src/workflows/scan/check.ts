import { bulkReadiness, type SpfCount } from '../../domain/readiness.ts';
import {
  type DkimState,
  keyedState,
  mxPlanState,
  nextSteps,
  readDmarc,
  readSpf,
  type ScanResult,
  type SelectorCheck,
} from '../../domain/scan.ts';
import { countLookups } from '../../domain/spf.ts';
import { need } from '../../engine/invariant.ts';
import type { DnsChecker } from '../../providers/dns.ts';
import { errorMessage, ProviderError } from '../../providers/errors.ts';
import type { OvhApi } from '../../providers/ovh.ts';
import {
  describeService,
  KeyedDkimApi,
  type MailService,
  MxPlanApi,
  parseMxPlanCname,
  serviceSpec,
} from '../../providers/ovh-mail.ts';
import { checkCname } from '../common/dns-check.ts';

/**
 * One domain of the scan: its DKIM at OVH in the fewest calls (Exchange, Email Pro: the list of keys, then one read
 * per key; MX Plan: one read), then what DNS serves (each selector's CNAME and key, SPF with its look-ups counted
 * through its includes, DMARC), which costs nothing, and whether the domain meets the bulk senders' rules.
 * OVH's refusal (a domain gone, a right missing) is that domain's result; trouble that may pass is thrown, and the
 * scan looks at the domain again later.
 */

export interface DomainToCheck {
  domain: string;
  at: MailService;
  zone: string | null;
}

export async function checkDomain(
  ovh: OvhApi,
  dns: DnsChecker,
  target: DomainToCheck,
  /** The scan's last try of this domain: trouble that may pass is its result too, so that the scan can finish. */
  lastTry = false,
): Promise<{ result: ScanResult; ovhCalls: number }> {
  const dkim = await readDkim(ovh, dns, target, lastTry);
  const [{ spf, lookups }, dmarc] = await Promise.all([
    spfOf(dns, target.domain),
    dnsRead(() => dns.txt(`_dmarc.${target.domain}`), readDmarc),
  ]);
  const facts = {
    domain: target.domain,
    service: serviceSpec(target.at),
    where: describeService(target.at).replace(/`/g, ''),
    zone: target.zone,
    ...dkim.found,
    spf,
    dmarc,
  };
  const partial = { ...facts, readiness: bulkReadiness(facts, lookups) };
  return { result: { ...partial, ...nextSteps(partial) }, ovhCalls: dkim.ovhCalls };
}

interface DkimFound {
  dkim: DkimState;
  signing?: string;
  spare?: ScanResult['spare'];
  selectors: SelectorCheck[];
  error?: string;
}

async function readDkim(
  ovh: OvhApi,
  dns: DnsChecker,
  target: DomainToCheck,
  lastTry: boolean,
): Promise<{ found: DkimFound; ovhCalls: number }> {
  let ovhCalls = 0;
  const counted: OvhApi = {
    get: (path, schema, query) => {
      ovhCalls++;
      return ovh.get(path, schema, query);
    },
    post: ovh.post.bind(ovh),
    put: ovh.put.bind(ovh),
    delete: ovh.delete.bind(ovh),
  };
  try {
    const found =
      target.at.offer === 'mxplan' ? await readMxPlan(counted, dns, target) : await readKeyed(counted, dns, target);
    return { found, ovhCalls };
  } catch (error) {
    if (!(error instanceof ProviderError) || (error.kind === 'transient' && !lastTry)) throw error;
    const message =
      error.kind === 'transient' ? `${errorMessage(error)} (the last of several tries)` : errorMessage(error);
    return { found: { dkim: 'error', selectors: [], error: message }, ovhCalls };
  }
}

async function readKeyed(ovh: OvhApi, dns: DnsChecker, target: DomainToCheck): Promise<DkimFound> {
  const api = new KeyedDkimApi(ovh, target.at, target.domain);
  const keys = [];
  for (const selector of await api.existing()) keys.push(await api.dkim(selector));
  const selectors: SelectorCheck[] = [];
  for (const key of keys) {
    const check =
      key.customerRecord && key.targetRecord
        ? await selectorDns(dns, key.customerRecord, key.targetRecord, target.zone)
        : { dns: 'unknown' as const, observation: `OVH has not made the key yet (status ${key.status}).` };
    selectors.push({ selector: key.selectorName, status: key.status, ...check });
  }
  const dkim = keyedState(keys.map((k) => k.status));
  const signing = keys.find((k) => k.status === 'inProduction')?.selectorName;
  if (!signing) return { dkim, selectors };
  const other = selectors.find((s) => s.selector !== signing);
  const spare = !other ? 'none' : other.status === 'ready' && other.dns === 'ok' ? 'ready' : 'not ready';
  return { dkim, signing, spare, selectors };
}

async function readMxPlan(ovh: OvhApi, dns: DnsChecker, target: DomainToCheck): Promise<DkimFound> {
  const switchState = await new MxPlanApi(ovh, target.domain).dkim();
  const selectors: SelectorCheck[] = [];
  for (const selector of switchState.selectors) {
    const record = need(parseMxPlanCname(selector.cname), 'a record OVH gave in its documented form');
    const check = await selectorDns(dns, record.name, record.target, target.zone);
    selectors.push({ selector: selector.selectorName, status: selector.status, ...check });
  }
  const dkim = mxPlanState(switchState.status);
  const signing = dkim === 'signing' ? (switchState.activeSelector ?? undefined) : undefined;
  return { dkim, ...(signing ? { signing } : {}), selectors };
}

async function selectorDns(dns: DnsChecker, name: string, target: string, zone: string | null) {
  try {
    const check = await checkCname(dns, name, target, { zone, expectDkimKey: true });
    return { dns: check.ok ? ('ok' as const) : ('wrong' as const), observation: check.observation };
  } catch (error) {
    return { dns: 'unknown' as const, observation: errorMessage(error) };
  }
}

/**
 * The apex's SPF, and its DNS look-ups counted as a receiver would make them (through includes and redirects, by DNS
 * only). A count that DNS trouble cut short is said as such, not guessed.
 */
async function spfOf(dns: DnsChecker, domain: string): Promise<{ spf: ScanResult['spf']; lookups?: SpfCount }> {
  const spf = await dnsRead(() => dns.txt(domain), readSpf);
  if ((spf.state !== 'ok' && spf.state !== 'no_ovh_include') || spf.record === undefined) return { spf };
  try {
    const counted = await countLookups(spf.record, (name) => dns.txt(name), domain);
    const { count, voidLookups, permerror, unfollowed } = counted;
    return { spf, lookups: { count, voidLookups, permerror, unfollowed } };
  } catch (error) {
    return { spf, lookups: { error: errorMessage(error) } };
  }
}

/** A DNS look-up that failed (a timeout, SERVFAIL) is said as such: it is the domain's DNS truth at that moment. */
async function dnsRead<T extends { state: string }>(
  read: () => Promise<string[]>,
  interpret: (txt: string[]) => T,
): Promise<T | { state: 'error'; record: string }> {
  try {
    return interpret(await read());
  } catch (error) {
    return { state: 'error', record: errorMessage(error) };
  }
}
