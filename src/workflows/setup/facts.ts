import { stripDot } from '../../domain/names.ts';
import type { GrantFacts } from '../../engine/approvals/grants.ts';
import { need } from '../../engine/invariant.ts';
import type { StepContext } from '../../engine/types.ts';
import { ProviderError } from '../../providers/errors.ts';
import { ZoneApi } from '../../providers/ovh-api.ts';
import { KeyedDkimApi, type MailService, MxPlanApi, type OfferId } from '../../providers/ovh-mail.ts';

/** What a setup run keeps between its steps, whatever the offer. */

export interface SetupParams {
  /** Given with `--service`: the bot looks nowhere else. */
  offer?: OfferId;
  org?: string;
  service?: string;
}

export interface KeyRecord {
  name: string;
  target: string;
}

export interface SetupFacts extends GrantFacts {
  /** Where the domain's mail is (none until discovered). Runs from before the offers have `org` and `service` only. */
  offer?: OfferId;
  org?: string;
  service?: string;
  /** Found on two services: the choices offered, and the one chosen. */
  candidates?: MailService[];
  chosen?: MailService;
  /** The OVH zone holding the domain's records; null when the zone is elsewhere. */
  zone?: string | null;
  /** Times the domain was looked up again because OVH no longer had it where the kept discovery said. */
  relocations?: number;
  lastObservation?: string;
  /** The last DNS diagnosis posted in the thread: each is posted once. */
  postedDns?: string;
  [key: string]: unknown;
}

/** The selectors, the records of their keys (Exchange, Email Pro), once known: guaranteed by the states after. */
export interface KeyedSetupFacts extends SetupFacts {
  /** [signing, spare]. */
  selectors?: string[];
  records?: Record<string, KeyRecord>;
}

export function selectorsOf(facts: KeyedSetupFacts): string[] {
  return need(facts.selectors, 'the selectors');
}

export function signingOf(facts: KeyedSetupFacts): string {
  return need(facts.selectors?.[0], 'the signing selector');
}

export function recordOf(facts: { records?: Record<string, KeyRecord> }, selector: string): KeyRecord {
  return need(facts.records?.[selector], `the record of ${selector}`);
}

export function serviceOf(facts: SetupFacts): MailService | undefined {
  const offer = facts.offer ?? (facts.org && facts.service ? 'exchange' : undefined);
  if (!offer) return undefined;
  return { offer, ...(facts.org ? { org: facts.org } : {}), ...(facts.service ? { service: facts.service } : {}) };
}

export function ovhOf(ctx: StepContext) {
  if (!ctx.ovh) throw new ProviderError('ovh', 'terminal', 'OVH is not configured on this bot.');
  return ctx.ovh;
}

export function zonesOf(ctx: StepContext): ZoneApi {
  return new ZoneApi(ovhOf(ctx), ctx.shared);
}

export function keyedApi(ctx: StepContext, facts: SetupFacts, domain: string): KeyedDkimApi {
  return new KeyedDkimApi(ovhOf(ctx), need(serviceOf(facts), 'the mail service'), domain);
}

export function mxPlanApi(ctx: StepContext, domain: string): MxPlanApi {
  return new MxPlanApi(ovhOf(ctx), domain);
}

/** What the watch checks from now on: the signing selector's record, and since when this key signs. */
export function watchOf(facts: SetupFacts, selector: string, record: KeyRecord, since: number) {
  const at = need(serviceOf(facts), 'the mail service');
  return {
    offer: at.offer,
    org: at.org ?? null,
    service: at.service ?? null,
    selector,
    recordName: stripDot(record.name),
    target: stripDot(record.target),
    signingSince: since,
  };
}
