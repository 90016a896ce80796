import { csv } from '../../domain/csv.ts';
import { showRun } from '../../domain/names.ts';
import { describeState, isFinished, type Run, type RunState } from '../../domain/runs.ts';
import { cardFor, entriesOf, lists } from '../../engine/approvals/grants.ts';
import type { ApprovalRequest, StepContext, StepOutcome, Workflow } from '../../engine/types.ts';
import { describeService, keyedDomainPath, parseServiceSpec } from '../../providers/ovh-mail.ts';
import { askOf, type GroupAsk, type MemberFacts } from './member.ts';

/**
 * **Set up all N** (DESIGN §2.7): one setup run per domain, as a group with one approval card. The members are
 * ordinary setups that say nothing of their own in Slack (what needs people is said in the group's thread, see
 * Journal); what they do with the group is in `group-member.ts`. The group follows them, and asks one approval for
 * those ready: once every member is ready or finished, or an hour after the first became ready.
 */

export interface GroupParams {
  /** The scan whose domains these are. */
  scan: number;
  members: number[];
}

export interface GroupFacts {
  /** The last progress said, so that the parent message is edited only when it changes. */
  lastObservation?: string;
  [key: string]: unknown;
}

/** A ready member waits this long for the others before the group asks for those ready. */
export const GATHER_MS = 60 * 60_000;
/** Domains a card names one by one; with more, the whole list goes in a file beside it. */
export const CARD_INLINE = 40;

function membersOf(run: Run): number[] {
  return (run.params as Partial<GroupParams>).members ?? [];
}

export const groupWorkflow: Workflow = {
  kind: 'group',
  firstState: 'gathering',
  waitingStates: [],
  beforeApproval: () => 'gathering',
  afterApproval: () => 'gathering',
  approvedStates: [],
  followers: membersOf,
  /**
   * Cancelled, all of them; rejected, all but those holding a share of an approved card (they go on to their
   * enable); a card expired, the members waiting for that very card.
   */
  endsWith(run, how, view, now) {
    const members = membersOf(run).flatMap((id) => view.run(id) ?? []);
    if (how === 'cancelled') return members.map((m) => m.id);
    if (how === 'expired') {
      const expiring = view.approvals(run.id).at(-1);
      const waiting = members.filter((m) => m.state === 'awaiting_group' && expiring && lists(expiring, askOf(m)));
      return waiting.map((m) => m.id);
    }
    const approved = (m: Run) =>
      (m.facts as MemberFacts).grant !== undefined ||
      (m.state === 'awaiting_group' && cardFor(view, run.id, askOf(m), now)?.status === 'approved');
    return members.filter((m) => !approved(m)).map((m) => m.id);
  },
  /** A card expired: the members it named ended with it; the group gathers on for the others. */
  afterExpiry: () => 'gathering',
  expiryNote(_run, ended) {
    if (ended.length === 0) return "The group's card expired before anyone approved it.";
    const names = ended.slice(0, 20).map((m) => showRun(m));
    const more = ended.length > 20 ? ` and ${ended.length - 20} more` : '';
    return `The group's card expired before anyone approved it: ${names.join(', ')}${more} ${ended.length === 1 ? 'ends' : 'end'} (expired), so ${ended.length === 1 ? 'its domain is' : 'their domains are'} free again. \`/dkim setup\` each one, or *Set up all* again from a fresh \`/dkim scan\`.`;
  },

  async step(run, ctx) {
    if (run.state !== 'gathering') return { state: run.state, facts: run.facts, next: 'none' };
    return gather(run, ctx);
  },

  /** The card holds while one of its domains still waits for it; each one's key is read again before its enable. */
  async recheckApproval(_run, approval, ctx) {
    const waiting = entriesOf(approval).filter((entry) => {
      const member = ctx.view.run(entry.runId);
      return member?.state === 'awaiting_group' && (member.facts as MemberFacts).groupAsk?.askedAt === entry.askedAt;
    });
    return waiting.length > 0 ? undefined : 'none of its domains is waiting for this approval any more.';
  },
};

function gather(run: Run, ctx: StepContext): StepOutcome {
  const view = ctx.view;
  const members = membersOf(run).flatMap((id) => view.run(id) ?? []);
  const observation = progress(members);
  const facts = { ...run.facts, lastObservation: observation } as GroupFacts;
  if (members.every((m) => isFinished(m.state))) return finished(facts, members);
  const askable = members.filter((m) => m.state === 'awaiting_group' && !cardFor(view, run.id, askOf(m), ctx.now));
  const onTheirWay = members.filter((m) => !isFinished(m.state) && m.state !== 'awaiting_group' && !waitsOnPerson(m));
  const oldest = Math.min(...askable.map((m) => askOf(m).askedAt));
  if (askable.length > 0 && (onTheirWay.length === 0 || ctx.now - oldest >= GATHER_MS)) {
    return { ...card(run, askable), facts };
  }
  // Looked at again with backoff (up to RECHECK_MAX_SECONDS): members become ready, and the hour passes, meanwhile.
  return { state: run.state, facts, next: 'wait', progress: observation !== run.facts.lastObservation };
}

/**
 * A member that waits on a person does not hold the group's card: its records are at a DNS host the bot does not
 * write (someone adds them), or it stalled or failed (someone retries it). It joins a later card when it is ready.
 */
function waitsOnPerson(member: Run): boolean {
  if (['stalled', 'needs_attention'].includes(member.state)) return true;
  return (member.facts as MemberFacts).zone === null;
}

function card(run: Run, members: Run[]): Omit<StepOutcome, 'facts'> {
  const scan = (run.params as Partial<GroupParams>).scan;
  return { state: 'awaiting_approval', next: 'none', approval: groupCard(run.id, scan, members.map(askOf)) };
}

/** One card for the members ready: every one listed (beyond what a card holds, in a file too), the calls per offer. */
export function groupCard(groupId: number, scan: number | undefined, asks: GroupAsk[]): ApprovalRequest {
  const named = asks.slice(0, CARD_INLINE).map((a) => {
    const what = a.selector ? `selector \`${a.selector}\`` : 'the DKIM switch';
    return `• *${showRun({ domain: a.domain })}* — ${what} on ${describeService(serviceOf(a))}`;
  });
  const more = asks.length - named.length;
  const plural = asks.length === 1 ? '' : 's';
  return {
    action: 'enable_group',
    snapshot: { members: asks },
    title: `Enable DKIM signing for ${asks.length} domain${plural} of scan #${scan ?? '?'}?`,
    lines: [
      ...named,
      ...(more > 0 ? [`…and ${more} more: every domain this card enables is in the file below.`] : []),
      ...callsOf(asks),
      'Each key is read again at OVH just before its enable: a domain no longer ready waits, and is enabled when it is ready again with the same record.',
    ],
    ...(more > 0 ? { file: memberList(groupId, asks) } : {}),
  };
}

/** The exact OVH call this card approves, per service of each offer, and how many times. */
function callsOf(asks: GroupAsk[]): string[] {
  const counts = new Map<string, number>();
  for (const ask of asks) counts.set(ask.service, (counts.get(ask.service) ?? 0) + 1);
  return [...counts].map(([spec, n]) => {
    const at = parseServiceSpec(spec) ?? { offer: 'mxplan' as const };
    if (at.offer === 'mxplan') {
      return `MX Plan: ${n} × \`PUT /email/domain/{domain}/dkim/enable\` (makes the keys and turns signing on)`;
    }
    const path = keyedDomainPath(at, '{domain}').replace('%7Bdomain%7D', '{domain}');
    return `${describeService(at)}: ${n} × \`POST ${path}/dkim/{selector}/enable\``;
  });
}

function serviceOf(ask: GroupAsk) {
  return parseServiceSpec(ask.service) ?? { offer: 'mxplan' as const };
}

/** Every domain a card enables, as a file in the group's thread: the card holds CARD_INLINE of them. */
function memberList(groupId: number, asks: GroupAsk[]) {
  const rows = asks.map((a) => [a.domain, a.service, a.selector ?? '(MX Plan switch)', a.target ?? '']);
  return {
    filename: `dkim-group-${groupId}-card-domains.csv`,
    title: `The ${asks.length} domains the card above enables`,
    comment: 'Every domain the card above enables, with the key it enables (or the MX Plan switch).',
    content: csv([['domain', 'service', 'selector', 'target'], ...rows]),
  };
}

/** "40 domains: 12 done · 20 waiting for the keys to be ready · 5 ready: waiting for the group's approval". */
function progress(members: Run[]): string {
  const counts = new Map<RunState, number>();
  for (const m of members) counts.set(m.state, (counts.get(m.state) ?? 0) + 1);
  const parts = [...counts].map(([state, n]) => `${n} ${state === 'done' ? 'in production' : describeState(state)}`);
  return `${members.length} domains: ${parts.join(' · ')}`;
}

function finished(facts: GroupFacts, members: Run[]): StepOutcome {
  const done = members.filter((m) => m.state === 'done');
  const others = members.filter((m) => m.state !== 'done');
  const lines = others
    .slice(0, 30)
    .map((m) => `• *${showRun({ domain: m.domain })}*: ${m.state}${m.lastError ? ` — ${m.lastError}` : ''}`);
  const more =
    others.length > 30 ? [`…and ${others.length - 30} more: \`/dkim status <domain>\` says where each stands.`] : [];
  const text = [
    `The group is finished: DKIM in production for ${done.length} of ${members.length} domains.`,
    ...(others.length ? ['Not done:', ...lines, ...more] : []),
  ].join('\n');
  return {
    state: 'done',
    facts,
    next: 'none',
    notices: [{ type: 'reply', level: others.length ? 'warning' : 'success', mention: true, text }],
  };
}
