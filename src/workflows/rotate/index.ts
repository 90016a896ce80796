import { showRun, stripDot } from '../../domain/names.ts';
import type { Run } from '../../domain/runs.ts';
import { when, words } from '../../domain/text.ts';
import { spanWords } from '../../domain/time.ts';
import { failed, proceed, waitFor } from '../../engine/outcomes.ts';
import type { StepContext, StepOutcome, Workflow } from '../../engine/types.ts';
import { checkCname } from '../common/dns-check.ts';
import { enableUnderGrant } from '../common/enable-key.ts';
import { ensureCname, recordsToAdd } from '../common/publish.ts';
import { findService } from '../setup/discover.ts';
import { createKey } from '../setup/exchange-pro.ts';
import { recordOf, watchOf, zonesOf } from '../setup/facts.ts';
import { keyed, oldOf, type RotateFacts, type RotateParams, spareOf } from './facts.ts';
import { deleteOld, grace, rekey, rekeyWaiting, retire } from './retire.ts';

/**
 * `/dkim rotate` (DESIGN §2.6), Exchange and Email Pro: switch signing to the spare selector B, keep the old one A
 * for a grace period, then retire A's key and give A a fresh one, so that a spare is always ready. OVH's guide: to
 * rotate, "directly activate the second selector to switch to it, while keeping the first selector active until all
 * emails sent with it are properly analysed". Every step reads before it acts.
 */

type Facts = RotateFacts;

const GRACE_DEFAULT_MS = 72 * 3_600_000;

export const rotateWorkflow: Workflow = {
  kind: 'rotate',
  firstState: 'preparing',
  waitingStates: ['preparing', 'spare_waiting', 'switching', 'retiring', 'deleting', 'rekeying', 'rekey_waiting'],
  beforeApproval: () => 'spare_waiting',
  afterApproval: () => 'switching',
  approvedStates: ['switching', 'grace', 'retiring', 'deleting', 'rekeying', 'rekey_waiting'],
  /** Once the spare signs, the approved plan is under way: a retry resumes its later steps where they were. */
  pastApproval: (run) => (run.facts as Facts).switchedAt !== undefined,

  async step(run, ctx) {
    const facts = run.facts as Facts;
    switch (run.state) {
      case 'preparing':
        return prepare(run, facts, ctx);
      case 'spare_waiting':
        return spareWaiting(run, facts, ctx);
      case 'switching':
        return enableUnderGrant(run, facts, ctx, {
          keyed: keyed(run, ctx),
          selector: spareOf(facts),
          inProduction: (next) => switched(run, next as Facts, ctx),
        });
      case 'grace':
        return grace(run, facts, ctx);
      case 'retiring':
        return retire(run, facts, ctx);
      case 'deleting':
        return deleteOld(run, facts, ctx);
      case 'rekeying':
        return rekey(run, facts, ctx);
      case 'rekey_waiting':
        return rekeyWaiting(run, facts, ctx);
      default:
        return { state: run.state, facts, next: 'none' };
    }
  },

  freshLook(facts) {
    return { ...facts, lastStatusAt: undefined };
  },

  cancelNote(run) {
    const facts = run.facts as Facts;
    if (run.state === 'grace' || run.state === 'retiring') {
      return `\`${facts.spare}\` keeps signing; \`${facts.old}\` is left as it is (its key stays), and no fresh spare is made.`;
    }
    return undefined;
  },

  async recheckApproval(run, approval, ctx) {
    const facts = run.facts as Facts;
    const snapshot = approval.snapshot as { selector: string; target: string; old: string };
    const api = keyed(run, ctx);
    const spare = await api.dkim(snapshot.selector);
    if (spare.status !== 'ready') return `the spare key is no longer ready at OVH (status is now ${spare.status}).`;
    if (stripDot(spare.targetRecord ?? '') !== stripDot(snapshot.target)) return 'the spare target changed.';
    const old = await api.dkim(oldOf(facts));
    if (old.status !== 'inProduction') return `\`${facts.old}\` no longer signs (status ${old.status}).`;
    return undefined;
  },
};

/** Preconditions: the domain signs with A; the spare B gets a key and a published record if it has none. */
async function prepare(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  if (!facts.offer) {
    const found = await findService(run, facts, ctx);
    if ('outcome' in found) return found.outcome;
    if (found.at.offer === 'mxplan') return notOffered(run, facts);
    const written = (run.params as RotateParams).written ?? [];
    return proceed(run.state, { ...facts, ...found.at, zone: found.zone, written });
  }
  if (!facts.old) return findOldAndSpare(run, facts, ctx);
  const api = keyed(run, ctx);
  const spare = spareOf(facts);
  const records = { ...(facts.records ?? {}) };
  if (!records[facts.old]) {
    const old = await api.dkim(facts.old);
    records[facts.old] = { name: stripDot(old.customerRecord ?? ''), target: stripDot(old.targetRecord ?? '') };
  }
  const key = await api.dkimOrNone(spare);
  if (!key) {
    const result = await createKey(api, spare);
    return {
      state: run.state,
      facts: { ...facts, records, spareCreated: true },
      next: 'now',
      events: [{ type: 'dkim_key', detail: { selector: spare, result } }],
    };
  }
  if (!key.customerRecord || !key.targetRecord) {
    return waitFor(run, { ...facts, records }, `OVH is still generating the spare key (status ${key.status}).`);
  }
  records[spare] = { name: stripDot(key.customerRecord), target: stripDot(key.targetRecord) };
  return publishSpare(run, { ...facts, records }, ctx, spare);
}

/** Exactly one selector in production (A); the other is the spare (B). */
async function findOldAndSpare(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const api = keyed(run, ctx);
  const selectors = (await api.selectors()).slice(0, 2);
  const keys = await api.existing();
  const states = new Map<string, string>();
  for (const selector of selectors.filter((s) => keys.includes(s))) {
    states.set(selector, (await api.dkim(selector)).status);
  }
  const signing = selectors.filter((s) => states.get(s) === 'inProduction');
  const [old] = signing;
  if (old === undefined || signing.length !== 1) {
    const why =
      signing.length === 0
        ? `${showRun(run)} does not sign with DKIM now (no selector in production): \`/dkim setup\` first.`
        : `both selectors of ${showRun(run)} sign: the bot does not know which to retire, and leaves it to you.`;
    return failed(facts, run.state, `Not rotated: ${why}`);
  }
  const spare = selectors.find((s) => s !== old);
  if (!spare) return failed(facts, run.state, `Not rotated: OVH offers one selector only for ${showRun(run)}.`);
  return proceed(run.state, { ...facts, old, spare }, [
    { type: 'reply', text: `${showRun(run)} signs with \`${old}\`; the spare \`${spare}\` will take over.` },
  ]);
}

/** The spare's CNAME in the OVH zone (written once, absolute, refreshed) or handed over. */
async function publishSpare(run: Run, facts: Facts, ctx: StepContext, selector: string): Promise<StepOutcome> {
  const next = 'spare_waiting';
  const record = recordOf(facts, selector);
  if (!facts.zone) {
    if (facts.spareHandedOver) return proceed(next, facts);
    return proceed(next, { ...facts, spareHandedOver: true }, [
      {
        type: 'records',
        text: `The DNS zone of ${showRun(run)} is not at OVH. Make sure this record is at your DNS host (both names absolute):`,
        records: recordsToAdd([record], run.domain),
      },
    ]);
  }
  const zones = zonesOf(ctx);
  const result = await ensureCname(zones, facts.zone, record.name, record.target);
  if (result.kind === 'conflict') return failed(facts, run.state, result.message);
  const written = result.kind === 'created' ? [...new Set([...(facts.written ?? []), selector])] : facts.written;
  await zones.refresh(facts.zone);
  return proceed(next, { ...facts, written });
}

/** DNS serves B's key and OVH shows it `ready`: the plan goes on the approval card. */
async function spareWaiting(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const spare = spareOf(facts);
  const record = recordOf(facts, spare);
  const dns = await checkCname(ctx.dns, record.name, record.target, { zone: facts.zone, expectDkimKey: true });
  if (!dns.ok) return waitFor(run, facts, `The spare: ${dns.observation}`);
  const api = keyed(run, ctx);
  const key = await api.dkim(spare);
  if (key.status === 'todo' || key.status === 'waitingRecord') {
    return waitFor(run, { ...facts, lastStatusAt: ctx.now }, `The spare key is ${key.status} at OVH.`);
  }
  if (key.status !== 'ready') {
    return failed(facts, run.state, `Not rotated: the spare \`${spare}\` is ${key.status} at OVH, not ready.`);
  }
  const graceMs = ctx.rotationGraceMs ?? GRACE_DEFAULT_MS;
  const old = oldOf(facts);
  // Only a record the bot wrote, in an OVH zone of this account, is ever changed by the bot.
  const change = facts.zone && facts.written?.includes(old) ? 'updated by the bot' : 'handed to you';
  return {
    state: 'awaiting_approval',
    facts: { ...facts, lastObservation: 'The spare is ready; the rotation needs an approval.' },
    next: 'none',
    approval: {
      action: 'rotate',
      snapshot: { selector: spare, target: record.target, old },
      title: `Rotate the DKIM key of ${showRun(run)}: sign with \`${spare}\`, retire \`${old}\`?`,
      lines: [
        `The spare \`${spare}\` is ready: DNS serves its key and OVH shows it \`ready\`.`,
        `Now: \`POST ${api.enablePath(spare)}\` — \`${spare}\` signs from then on.`,
        `After ${spanWords(graceMs)} (ROTATION_GRACE_HOURS), for mail signed with \`${old}\` to be checked: \`POST ${api.disablePath(old)}\`, \`DELETE ${api.keyPath(old)}\`, \`POST ${api.path}/dkim {selectorName: ${old}}\`.`,
        `\`${old}\` then has a fresh key and is the spare; its CNAME is ${facts.zone ? `refreshed in zone *${facts.zone}*` : 'checked in DNS'}, a changed target ${change}.`,
      ],
    },
  };
}

/** B signs: said, with the requester mentioned; the grace period starts (it survives restarts: it is a fact). */
function switched(run: Run, facts: Facts, ctx: StepContext): StepOutcome {
  const graceEndsAt = ctx.now + (ctx.rotationGraceMs ?? GRACE_DEFAULT_MS);
  const spare = spareOf(facts);
  return {
    state: 'grace',
    facts: {
      ...facts,
      switchedAt: ctx.now,
      graceEndsAt,
      lastObservation: words`Grace period until ${when(graceEndsAt)}.`,
    },
    next: 'wait',
    wakeAt: graceEndsAt,
    watch: watchOf(facts, spare, recordOf(facts, spare), ctx.now),
    notices: [
      {
        type: 'reply',
        level: 'success',
        mention: true,
        text: words`\`${spare}\` is in production for ${showRun(run)}: mail is now signed with it. \`${oldOf(facts)}\` keeps its key until ${when(graceEndsAt)}, then it is retired and given a fresh key.`,
      },
    ],
  };
}

function notOffered(run: Run, facts: Facts): StepOutcome {
  return failed(facts, run.state, rotationNotOffered(run.domain), {
    hint: '`/dkim disable` and `/dkim setup` work on MX Plan.',
  });
}

export function rotationNotOffered(domain: string): string {
  return `Not rotated: OVH does not offer rotation for MX Plan or Zimbra (one switch per domain, no selector to switch to), so nothing was started for ${domain}.`;
}
