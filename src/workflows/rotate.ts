import { absolute, relativeName, showRun, stripDot } from '../domain/names.ts';
import type { Notice } from '../domain/notices.ts';
import type { Run } from '../domain/runs.ts';
import { failed, proceed, waitFor } from '../engine/outcomes.ts';
import { atTime } from '../engine/summary.ts';
import type { StepContext, StepOutcome, Workflow } from '../engine/types.ts';
import type { KeyedDkimApi } from '../providers/ovh-mail.ts';
import { findService } from './setup/discover.ts';
import { createKey, type EnableFacts, enableOnce } from './setup/exchange-pro.ts';
import { type KeyRecord, keyedApi, type SetupFacts, watchOf, zonesOf } from './setup/facts.ts';
import { checkCname } from './shared/dns-check.ts';
import { ensureCname, RECORD_TTL, recordsToAdd } from './shared/publish.ts';

/**
 * `/dkim rotate` (DESIGN §2.6), Exchange and Email Pro: switch signing to the spare selector B, keep the old one A
 * for a grace period, then retire A's key and give A a fresh one, so that a spare is always ready. OVH's guide: to
 * rotate, "directly activate the second selector to switch to it, while keeping the first selector active until all
 * emails sent with it are properly analysed". Every step reads before it acts.
 */

export interface RotateParams extends Record<string, unknown> {
  offer?: 'exchange' | 'pro';
  org?: string;
  service?: string;
  /** Selectors whose CNAME the bot wrote, as earlier runs recorded it: the only records it may point elsewhere. */
  written?: string[];
}

export interface RotateFacts extends SetupFacts, EnableFacts {
  /** A, signing when the rotation began; B, the spare that takes over. */
  old?: string;
  spare?: string;
  records?: Record<string, KeyRecord>;
  written?: string[];
  spareHandedOver?: boolean;
  spareCreated?: boolean;
  lastStatusAt?: number;
  /** When B was seen in production, and when the grace period ends. */
  switchedAt?: number;
  graceEndsAt?: number;
  disableAttemptAt?: number;
  disablePostedAt?: number;
  deleteAttemptAt?: number;
  deletePostedAt?: number;
  rekeyed?: boolean;
  /** A's fresh record once its key is made, and whether its CNAME had to change. */
  freshTarget?: string;
  cnameChanged?: 'updated' | 'handed over' | 'unchanged' | 'created';
}

type Facts = RotateFacts;

const GRACE_DEFAULT_MS = 72 * 3_600_000;
/** A disable or delete OVH took but left as it was (no task, same status) is sent again after this long. */
const REPEAT_AFTER_MS = 15 * 60_000;

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
        return enableOnce(run, facts, ctx, keyed(run, ctx), facts.spare!, (next) => switched(run, next, ctx));
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
    return { ...facts, lastStatusAt: undefined, enableAttemptAt: undefined };
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
    const old = await api.dkim(facts.old!);
    if (old.status !== 'inProduction') return `\`${facts.old}\` no longer signs (status ${old.status}).`;
    return undefined;
  },
};

function keyed(run: Run, ctx: StepContext): KeyedDkimApi {
  return keyedApi(ctx, run.facts as Facts, run.domain);
}

/** Preconditions: the domain signs with A; the spare B gets a key and a published record if it has none. */
async function prepare(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  if (!facts.offer) {
    const found = await findService(run, facts, ctx);
    if ('outcome' in found) return found.outcome;
    if (found.at.offer === 'mxplan') return notOffered(run, facts);
    const written = (run.params as RotateParams).written ?? [];
    return proceed(run.state, { ...facts, ...found.at, zone: found.zone, written });
  }
  const api = keyed(run, ctx);
  if (!facts.old) {
    const selectors = (await api.selectors()).slice(0, 2);
    const keys = await api.existing();
    const states = new Map<string, string>();
    for (const selector of selectors.filter((s) => keys.includes(s))) {
      states.set(selector, (await api.dkim(selector)).status);
    }
    const signing = selectors.filter((s) => states.get(s) === 'inProduction');
    if (signing.length !== 1) {
      const why =
        signing.length === 0
          ? `${showRun(run)} does not sign with DKIM now (no selector in production): \`/dkim setup\` first.`
          : `both selectors of ${showRun(run)} sign: the bot does not know which to retire, and leaves it to you.`;
      return failed(facts, run.state, `Not rotated: ${why}`);
    }
    const old = signing[0]!;
    const spare = selectors.find((s) => s !== old);
    if (!spare) return failed(facts, run.state, `Not rotated: OVH offers one selector only for ${showRun(run)}.`);
    return proceed(run.state, { ...facts, old, spare }, [
      { type: 'reply', text: `${showRun(run)} signs with \`${old}\`; the spare \`${spare}\` will take over.` },
    ]);
  }
  const spare = facts.spare!;
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

/** The spare's CNAME in the OVH zone (written once, absolute, refreshed) or handed over. */
async function publishSpare(run: Run, facts: Facts, ctx: StepContext, selector: string): Promise<StepOutcome> {
  const next = 'spare_waiting';
  const record = facts.records![selector]!;
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
  const spare = facts.spare!;
  const record = facts.records![spare]!;
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
  const old = facts.old!;
  const change = facts.written?.includes(old) || !facts.zone ? 'updated by the bot' : 'handed to you';
  return {
    state: 'awaiting_approval',
    facts: { ...facts, lastObservation: 'The spare is ready; the rotation needs an approval.' },
    next: 'none',
    notices: [
      {
        type: 'reply',
        level: 'success',
        mention: true,
        text: `The spare \`${spare}\` of ${showRun(run)} is ready (its key served by DNS, \`ready\` at OVH). The rotation needs an approval.`,
      },
    ],
    approval: {
      action: 'rotate',
      snapshot: { selector: spare, target: record.target, old },
      title: `Rotate the DKIM key of ${showRun(run)}: sign with \`${spare}\`, retire \`${old}\`?`,
      lines: [
        `1. Now: \`POST ${api.enablePath(spare)}\`: \`${spare}\` signs from then on.`,
        `2. Then \`${old}\` keeps its key for ${hours(graceMs)} (ROTATION_GRACE_HOURS), for mail signed with it to be checked.`,
        `3. After that: \`POST ${api.disablePath(old)}\`, then \`DELETE ${api.keyPath(old)}\`, then \`POST ${api.path}/dkim {selectorName: ${old}}\` for a fresh key, whose CNAME is ${facts.zone ? `refreshed in zone *${facts.zone}*` : 'checked in DNS'} (a changed target ${change}).`,
        `\`${old}\` then is the new spare.`,
      ],
    },
  };
}

/** B signs: said, with the requester mentioned; the grace period starts (it survives restarts: it is a fact). */
function switched(run: Run, facts: Facts, ctx: StepContext): StepOutcome {
  const graceEndsAt = ctx.now + (ctx.rotationGraceMs ?? GRACE_DEFAULT_MS);
  const spare = facts.spare!;
  return {
    state: 'grace',
    facts: {
      ...facts,
      switchedAt: ctx.now,
      graceEndsAt,
      lastObservation: `Grace period until ${new Date(graceEndsAt).toISOString()}.`,
    },
    next: 'wait',
    wakeAt: graceEndsAt,
    watch: watchOf(facts, spare, facts.records![spare]!, ctx.now),
    notices: [
      {
        type: 'reply',
        level: 'success',
        mention: true,
        text: `\`${spare}\` is in production for ${showRun(run)}: mail is now signed with it. \`${facts.old}\` keeps its key until ${atTime(graceEndsAt)}, then it is retired and given a fresh key.`,
      },
    ],
  };
}

function grace(run: Run, facts: Facts, ctx: StepContext): StepOutcome {
  if (ctx.now < facts.graceEndsAt!) {
    return { state: run.state, facts, next: 'wait', wakeAt: facts.graceEndsAt };
  }
  // The wait for OVH starts now: WAIT_DEADLINE_HOURS counts from the end of the grace period, not from the approval.
  return {
    ...proceed('retiring', facts, [
      { type: 'reply', text: `The grace period is over: retiring \`${facts.old}\` and giving it a fresh key.` },
    ]),
    freshDeadline: true,
  };
}

/** `POST …/dkim/A/disable` once, then until A is `ready` again. */
async function retire(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const api = keyed(run, ctx);
  const old = facts.old!;
  const key = await api.dkimOrNone(old);
  // A disable whose answer was lost (a crash, a timeout) shows as OVH at work or done: said once, never sent again.
  const lost = facts.disableAttemptAt !== undefined && facts.disablePostedAt === undefined;
  const lostDisable: Notice[] = lost
    ? [{ type: 'reply', text: `Disabling \`${old}\`: \`POST ${api.disablePath(old)}\` went through.` }]
    : [];
  const seenDisable = lost ? { ...facts, disablePostedAt: facts.disableAttemptAt } : facts;
  if (!key) return proceed('rekeying', facts);
  switch (key.status) {
    case 'inProduction':
    case 'enabling': {
      // Still signing: a first call, or one that never reached OVH (no task pending), or one OVH dropped long ago.
      const recent = facts.disablePostedAt !== undefined && ctx.now - facts.disablePostedAt < REPEAT_AFTER_MS;
      if (key.taskPendingId || recent) {
        return waitFor(run, facts, `Disable of \`${old}\` requested; OVH has not started it yet.`);
      }
      // Never the last key signing: the spare must still sign before the old one is turned off.
      const spare = await api.dkimOrNone(facts.spare!);
      if (spare?.status !== 'inProduction') {
        const status = spare ? `status ${spare.status}` : 'its key is gone';
        return failed(
          facts,
          run.state,
          `\`${facts.spare}\` no longer signs at OVH (${status}), so \`${old}\` was left signing and nothing was disabled.`,
          { hint: `Turn \`${facts.spare}\` on again at OVH, then \`/dkim retry\` resumes from this step.` },
        );
      }
      const attempted = { ...facts, disableAttemptAt: ctx.now };
      ctx.checkpoint?.(run.state, attempted);
      const result = await api.disable(old);
      return {
        state: run.state,
        facts: { ...attempted, disablePostedAt: ctx.now },
        next: 'wait',
        events: [{ type: 'dkim_disable', detail: { selector: old, result } }],
        notices: [{ type: 'reply', text: `Disabling \`${old}\`: \`POST ${api.disablePath(old)}\` sent.` }],
      };
    }
    case 'disabling':
      return waitFor(run, seenDisable, `OVH is disabling \`${old}\`.`, lostDisable);
    case 'ready':
    case 'waitingRecord':
    case 'todo':
      return proceed('deleting', seenDisable, [...lostDisable, { type: 'reply', text: `\`${old}\` no longer signs.` }]);
    default:
      return proceed('deleting', facts);
  }
}

/** `DELETE …/dkim/A` once (read first: a key already `deleting` or gone is never deleted again), then until gone. */
async function deleteOld(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const api = keyed(run, ctx);
  const old = facts.old!;
  const key = await api.dkimOrNone(old);
  const lost = facts.deleteAttemptAt !== undefined && facts.deletePostedAt === undefined;
  const lostDelete: Notice[] = lost
    ? [{ type: 'reply', text: `Deleting the old key: \`DELETE ${api.keyPath(old)}\` went through.` }]
    : [];
  const seen = lost ? { ...facts, deletePostedAt: facts.deleteAttemptAt } : facts;
  if (!key) {
    return proceed('rekeying', seen, [...lostDelete, { type: 'reply', text: `The old key of \`${old}\` is deleted.` }]);
  }
  if (key.status === 'deleting') return waitFor(run, seen, `OVH is deleting the key of \`${old}\`.`, lostDelete);
  if (key.status === 'inProduction' || key.status === 'enabling') return proceed('retiring', facts);
  const recent = facts.deletePostedAt !== undefined && ctx.now - facts.deletePostedAt < REPEAT_AFTER_MS;
  if (key.taskPendingId || recent) {
    return waitFor(run, facts, `Delete of \`${old}\` requested; OVH has not started it yet.`);
  }
  const attempted = { ...facts, deleteAttemptAt: ctx.now };
  ctx.checkpoint?.(run.state, attempted);
  const result = await api.remove(old);
  return {
    state: run.state,
    facts: { ...attempted, deletePostedAt: ctx.now },
    next: 'wait',
    events: [{ type: 'dkim_delete', detail: { selector: old, result } }],
    notices: [{ type: 'reply', text: `Deleting the old key: \`DELETE ${api.keyPath(old)}\` sent.` }],
  };
}

/** A fresh key for A; its CNAME pointed to the new target only if the bot wrote it (else the change is handed over). */
async function rekey(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const api = keyed(run, ctx);
  const old = facts.old!;
  const key = await api.dkimOrNone(old);
  if (!key) {
    const result = await createKey(api, old);
    return {
      state: run.state,
      facts: { ...facts, rekeyed: true },
      next: 'now',
      events: [{ type: 'dkim_key', detail: { selector: old, result } }],
    };
  }
  if (!key.customerRecord || !key.targetRecord) {
    return waitFor(run, facts, `OVH is generating the fresh key of \`${old}\` (status ${key.status}).`);
  }
  const fresh = { name: stripDot(key.customerRecord), target: stripDot(key.targetRecord) };
  const before = facts.records![old]!;
  const next = { ...facts, freshTarget: fresh.target, records: { ...facts.records, [old]: fresh } };
  if (fresh.target === before.target) {
    if (facts.zone) await zonesOf(ctx).refresh(facts.zone);
    return proceed('rekey_waiting', { ...next, cnameChanged: 'unchanged' });
  }
  return repoint(run, next, ctx, old, before, fresh);
}

async function repoint(
  run: Run,
  facts: Facts,
  ctx: StepContext,
  selector: string,
  before: KeyRecord,
  fresh: KeyRecord,
): Promise<StepOutcome> {
  const handOver = (why: string): StepOutcome =>
    proceed('rekey_waiting', { ...facts, cnameChanged: 'handed over' }, [
      {
        type: 'records',
        text: `The fresh key of \`${selector}\` has a new target. ${why} Change the record to this (both names absolute):`,
        records: recordsToAdd([fresh], run.domain),
      },
    ]);
  if (!facts.zone) return handOver('The zone is not at OVH.');
  if (!facts.written?.includes(selector)) return handOver('The bot did not write that record, so it does not edit it.');
  const zones = zonesOf(ctx);
  const subDomain = relativeName(before.name, facts.zone)!;
  const existing = await zones.records(facts.zone, 'CNAME', subDomain);
  const ours = existing.find((r) => stripDot(r.target).toLowerCase() === before.target);
  // Already at the fresh target: this step's own update, whose refresh or commit did not happen (a crash, a 500).
  if (existing.some((r) => stripDot(r.target).toLowerCase() === fresh.target.toLowerCase())) {
    await zones.refresh(facts.zone);
    return proceed('rekey_waiting', { ...facts, cnameChanged: 'updated' });
  }
  if (existing.length > 0 && !ours)
    return handOver('The record there was changed by someone else, so the bot leaves it.');
  if (ours) await zones.updateRecord(facts.zone, ours.id, absolute(fresh.target));
  else
    await zones.createRecord(facts.zone, {
      fieldType: 'CNAME',
      subDomain,
      target: absolute(fresh.target),
      ttl: RECORD_TTL,
    });
  await zones.refresh(facts.zone);
  return proceed('rekey_waiting', { ...facts, cnameChanged: ours ? 'updated' : 'created' }, [
    {
      type: 'reply',
      text: `The CNAME of \`${selector}\` ${ours ? 'now points' : 'was written again, pointing'} to \`${absolute(fresh.target)}\` in zone *${facts.zone}*, and the zone refreshed.`,
    },
  ]);
}

/** A's fresh key served by DNS and `ready` at OVH: done, B signs and A is the spare. */
async function rekeyWaiting(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const old = facts.old!;
  const record = facts.records![old]!;
  const dns = await checkCname(ctx.dns, record.name, record.target, { zone: facts.zone, expectDkimKey: true });
  if (!dns.ok) return waitFor(run, facts, `The fresh key: ${dns.observation}`);
  const key = await keyed(run, ctx).dkim(old);
  if (key.status !== 'ready')
    return waitFor(run, { ...facts, lastStatusAt: ctx.now }, `The fresh key is ${key.status} at OVH.`);
  const notices: Notice[] = [
    {
      type: 'reply',
      level: 'success',
      mention: true,
      text: `Rotation done for ${showRun(run)}: signing with \`${facts.spare}\`; \`${old}\` has a fresh key and is the spare.`,
    },
  ];
  return { state: 'done', facts: { ...facts, lastObservation: `Signing with ${facts.spare}.` }, next: 'none', notices };
}

function notOffered(run: Run, facts: Facts): StepOutcome {
  return failed(facts, run.state, rotationNotOffered(run.domain), {
    hint: '`/dkim disable` and `/dkim setup` work on MX Plan.',
  });
}

export function rotationNotOffered(domain: string): string {
  return `Not rotated: OVH does not offer rotation for MX Plan or Zimbra (one switch per domain, no selector to switch to), so nothing was started for ${domain}.`;
}

function hours(ms: number): string {
  const h = ms / 3_600_000;
  if (h >= 1) return `${Number(h.toFixed(2))} h`;
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}
