import { showRun } from '../../domain/names.ts';
import type { Run } from '../../domain/runs.ts';
import { need } from '../../engine/invariant.ts';
import { failed, proceed } from '../../engine/outcomes.ts';
import type { StepContext, StepOutcome } from '../../engine/types.ts';
import { ProviderError } from '../../providers/errors.ts';
import {
  describeService,
  type LookedAt,
  MailDiscovery,
  type MailService,
  OFFER_LABELS,
  serviceSpec,
  skippedNote,
} from '../../providers/ovh-mail.ts';
import { ovhOf, type SetupFacts, type SetupParams, zonesOf } from './facts.ts';

/** Which offer and service host the domain (DESIGN §2.5, end): found on one, two, or none. */

export async function discover(run: Run, facts: SetupFacts, ctx: StepContext): Promise<StepOutcome> {
  const params = run.params as SetupParams;
  const given = params.offer || (params.org && params.service) ? pinned(params) : undefined;
  if (given) return located(run, facts, ctx, given, 'given with --service');
  if (facts.chosen) return located(run, { ...facts, chosen: undefined }, ctx, facts.chosen, 'chosen');
  const { found, lookedAt } = await new MailDiscovery(ovhOf(ctx), ctx.shared).locate(run.domain, run.id);
  const [only, ...others] = found;
  if (!only) return failed(facts, run.state, notFound(run, lookedAt));
  if (others.length === 0) return located(run, facts, ctx, only, 'found');
  const options = found.map((at) => ({ label: describeService(at).replace(/`/g, ''), value: serviceSpec(at) }));
  return {
    state: 'choosing',
    facts: { ...facts, candidates: found, lastObservation: `Found on ${found.length} services: which one?` },
    next: 'none',
    notices: [
      {
        type: 'choice',
        key: `service:${run.id}`,
        mention: true,
        title: `${showRun(run)} is on ${found.length} mail services (a migration in progress?). Which one should get DKIM?`,
        lines: [
          ...found.map((at) => `• ${describeService(at)}`),
          'The requester or an approver chooses; or start again with `/dkim setup <domain> --service <offer/service>`.',
        ],
        options,
      },
    ],
  };
}

/** Where the domain is now known to be: its zone is looked up, and the offer's flow starts. */
async function located(
  run: Run,
  facts: SetupFacts,
  ctx: StepContext,
  at: MailService,
  how: string,
): Promise<StepOutcome> {
  const zone = await zonesOf(ctx).zoneOf(run.domain, run.id);
  const where = zone
    ? at.offer === 'mxplan'
      ? `its DNS zone *${zone}* is at OVH, so OVH can write the records itself`
      : `its DNS zone *${zone}* is at OVH, so the bot will write the records itself`
    : 'its DNS zone is not at OVH, so you will be given the records to add at your DNS host';
  const next = at.offer === 'mxplan' ? 'checking' : 'creating_keys';
  const verb = how === 'found' ? 'Found' : `Using (${how})`;
  return proceed(next, { ...facts, ...at, candidates: undefined, chosen: undefined, zone }, [
    { type: 'reply', text: `${verb} ${showRun(run)} on ${describeService(at)}; ${where}.` },
  ]);
}

/** The service the requester chose among the candidates (the `choose` action), then on as when found. */
export function chosen(facts: SetupFacts, spec: string): MailService | undefined {
  return facts.candidates?.find((candidate) => serviceSpec(candidate) === spec);
}

function pinned(params: SetupParams): MailService {
  const offer = params.offer ?? 'exchange';
  return { offer, ...(params.org ? { org: params.org } : {}), ...(params.service ? { service: params.service } : {}) };
}

function notFound(run: Run, lookedAt: LookedAt[]): string {
  const places = lookedAt.map((l) => {
    if (l.unreadable) return `${OFFER_LABELS[l.offer]}: not readable with these credentials (${l.unreadable})`;
    if (l.offer === 'mxplan') return `MX Plan: the domains with an MX Plan or Zimbra mail service`;
    return `${OFFER_LABELS[l.offer]}: ${l.services} service${l.services === 1 ? '' : 's'}${skippedNote(l)}`;
  });
  return `No Hosted Exchange service, Email Pro service or MX Plan of this OVH account has ${showRun(run)}. The bot looked at ${places.join('; ')}. Add the domain to its mail service in the OVH Control Panel (or check that the bot's OVH credentials belong to the right account and may read \`/email/*\`), then \`/dkim retry\`.`;
}

/**
 * A 404 on the domain's own path: OVH no longer has it where the kept discovery answers said (moved, or removed).
 * Those answers are forgotten and the domain is looked up again, once; a service given by the user is not second-guessed.
 */
export function lookAgainIfMoved(run: Run, facts: SetupFacts, ctx: StepContext, error: unknown): StepOutcome {
  const params = run.params as SetupParams;
  const given = Boolean(params.offer || params.service);
  const notThere = error instanceof ProviderError && error.status === 404;
  if (!notThere || given || (facts.relocations ?? 0) >= 1) throw error;
  new MailDiscovery(ovhOf(ctx), ctx.shared).forget();
  const at = { offer: facts.offer ?? 'exchange', org: facts.org, service: facts.service } as MailService;
  return proceed('discovering', { ...facts, offer: undefined, org: undefined, service: undefined, relocations: 1 }, [
    {
      type: 'reply',
      level: 'warning',
      text: `OVH no longer has ${showRun(run)} on ${describeService(at)}; looking for it again.`,
    },
  ]);
}

/**
 * For a change to a domain already set up (rotate, disable): where its mail is, from the command's params (the watch
 * knows it) or else found as a setup finds it. A failure outcome when it is found nowhere or on two services.
 */
export async function findService(
  run: Run,
  facts: SetupFacts,
  ctx: StepContext,
): Promise<{ at: MailService; zone: string | null } | { outcome: StepOutcome }> {
  const params = run.params as SetupParams;
  let at = params.offer || (params.org && params.service) ? pinned(params) : undefined;
  if (!at) {
    const { found, lookedAt } = await new MailDiscovery(ovhOf(ctx), ctx.shared).locate(run.domain, run.id);
    if (found.length === 0) return { outcome: failed(facts, run.state, notFound(run, lookedAt)) };
    if (found.length > 1) {
      const choices = found.map((f) => `\`--service ${serviceSpec(f)}\``).join(' or ');
      return {
        outcome: failed(
          facts,
          run.state,
          `${showRun(run)} is on ${found.length} mail services: say which with ${choices}.`,
        ),
      };
    }
    at = need(found[0], 'the one service found');
  }
  return { at, zone: await zonesOf(ctx).zoneOf(run.domain, run.id) };
}
