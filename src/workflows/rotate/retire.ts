import { absolute, relativeName, showRun, stripDot } from '../../domain/names.ts';
import type { Notice } from '../../domain/notices.ts';
import type { Run } from '../../domain/runs.ts';
import { judge, type Seen, sendOnce } from '../../engine/once.ts';
import { failed, proceed, waitFor } from '../../engine/outcomes.ts';
import type { StepContext, StepOutcome } from '../../engine/types.ts';
import type { Dkim } from '../../providers/ovh-api.ts';
import type { KeyedDkimApi } from '../../providers/ovh-mail.ts';
import { checkCname } from '../common/dns-check.ts';
import { RECORD_TTL, recordsToAdd } from '../common/publish.ts';
import { createKey } from '../setup/exchange-pro.ts';
import { type KeyRecord, recordOf, zonesOf } from '../setup/facts.ts';
import { keyed, oldOf, type RotateFacts, spareOf } from './facts.ts';

/**
 * The rotation after its switch: the grace period, then the old selector A disabled, its key deleted, a fresh one
 * made and published. Each call at most once (engine/once.ts). Before each of those changes, and before saying it is
 * done, the spare B is read again: a rotation never leaves the domain unsigned behind its own back.
 */

type Facts = RotateFacts;

export function grace(run: Run, facts: Facts, ctx: StepContext): StepOutcome {
  const ends = facts.graceEndsAt ?? ctx.now;
  if (ctx.now < ends) return { state: run.state, facts, next: 'wait', wakeAt: ends };
  // The wait for OVH starts now: WAIT_DEADLINE_HOURS counts from the end of the grace period, not from the approval.
  return {
    ...proceed('retiring', facts, [
      { type: 'reply', text: `The grace period is over: retiring \`${facts.old}\` and giving it a fresh key.` },
    ]),
    freshDeadline: true,
  };
}

/** `POST …/dkim/A/disable` once, then until A is off. */
export async function retire(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const api = keyed(run, ctx);
  const old = oldOf(facts);
  const key = await api.dkimOrNone(old);
  if (!key) return proceed('rekeying', facts);
  if (key.status === 'deleting') return proceed('deleting', facts);
  const call = `disable:${old}`;
  const judged = judge(facts, call, disableSeen(key), ctx.now);
  const request = `Disabling \`${old}\`: \`POST ${api.disablePath(old)}\``;
  const notes: Notice[] = judged.wentThrough ? [{ type: 'reply', key: call, text: `${request} went through.` }] : [];
  switch (judged.verdict.act) {
    case 'taken':
      return proceed('deleting', judged.facts, [
        {
          type: 'reply',
          key: call,
          text: `${request} ${judged.wentThrough ? 'went through' : 'sent'}: \`${old}\` no longer signs.`,
        },
      ]);
    case 'send':
      return changeOnce(run, judged.facts, ctx, api, {
        call,
        leftUndone: `\`${old}\` was left signing and nothing was disabled`,
        send: () => api.disable(old),
        event: 'dkim_disable',
        said: `${request} sent.`,
      });
    default: {
      const observation =
        key.status === 'disabling'
          ? `OVH is disabling \`${old}\`.`
          : `Disable of \`${old}\` requested; OVH has not started it yet.`;
      return waitFor(run, judged.facts, observation, notes);
    }
  }
}

/** `DELETE …/dkim/A` once (a key already `deleting` or gone is never deleted again), then until it is gone. */
export async function deleteOld(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const api = keyed(run, ctx);
  const old = oldOf(facts);
  const key = await api.dkimOrNone(old);
  if (key?.status === 'inProduction' || key?.status === 'enabling') return proceed('retiring', facts);
  const call = `delete:${old}`;
  const judged = judge(facts, call, deleteSeen(key), ctx.now);
  const request = `Deleting the old key: \`DELETE ${api.keyPath(old)}\``;
  const notes: Notice[] = judged.wentThrough ? [{ type: 'reply', key: call, text: `${request} went through.` }] : [];
  switch (judged.verdict.act) {
    case 'taken':
      return proceed('rekeying', judged.facts, [
        {
          type: 'reply',
          key: call,
          text: `${request} ${judged.wentThrough ? 'went through' : 'sent'}: the old key of \`${old}\` is deleted.`,
        },
      ]);
    case 'send':
      return changeOnce(run, judged.facts, ctx, api, {
        call,
        leftUndone: `the old key of \`${old}\` was kept, not deleted`,
        send: () => api.remove(old),
        event: 'dkim_delete',
        said: `${request} sent.`,
      });
    default: {
      const observation =
        key?.status === 'deleting'
          ? `OVH is deleting the key of \`${old}\`.`
          : `Delete of \`${old}\` requested; OVH has not started it yet.`;
      return waitFor(run, judged.facts, observation, notes);
    }
  }
}

/** A fresh key for A; its CNAME pointed to the new target only if the bot wrote it (else the change is handed over). */
export async function rekey(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const api = keyed(run, ctx);
  const old = oldOf(facts);
  const key = await api.dkimOrNone(old);
  if (!key) {
    const stop = await unlessSpareSigns(run, facts, api, `no fresh key was made for \`${old}\``);
    if (stop) return stop;
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
  const before = recordOf(facts, old);
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
  const subDomain = facts.zone ? relativeName(before.name, facts.zone) : undefined;
  if (!facts.zone || subDomain === undefined) return handOver('The zone is not at OVH.');
  if (!facts.written?.includes(selector)) return handOver('The bot did not write that record, so it does not edit it.');
  const zones = zonesOf(ctx);
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

/** A's fresh key served by DNS and `ready` at OVH, B still signing: done, B signs and A is the spare. */
export async function rekeyWaiting(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const old = oldOf(facts);
  const record = recordOf(facts, old);
  const dns = await checkCname(ctx.dns, record.name, record.target, { zone: facts.zone, expectDkimKey: true });
  if (!dns.ok) return waitFor(run, facts, `The fresh key: ${dns.observation}`);
  const api = keyed(run, ctx);
  const key = await api.dkim(old);
  if (key.status !== 'ready')
    return waitFor(run, { ...facts, lastStatusAt: ctx.now }, `The fresh key is ${key.status} at OVH.`);
  const stop = await unlessSpareSigns(run, facts, api, `the rotation is not done: nothing signs for ${showRun(run)}`);
  if (stop) return stop;
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

/** One of the rotation's changes at OVH, at most once, and only while the spare still signs. */
async function changeOnce(
  run: Run,
  facts: Facts,
  ctx: StepContext,
  api: KeyedDkimApi,
  change: { call: string; leftUndone: string; send: () => Promise<unknown>; event: string; said: string },
): Promise<StepOutcome> {
  const stop = await unlessSpareSigns(run, facts, api, change.leftUndone);
  if (stop) return stop;
  const { result, facts: sent } = await sendOnce(ctx, run.state, facts, change.call, change.send);
  return {
    state: run.state,
    facts: sent,
    next: 'wait',
    events: [{ type: change.event, detail: { selector: oldOf(facts), result } }],
    notices: [{ type: 'reply', key: change.call, text: change.said }],
  };
}

/** B read again: still in production, nothing to say; otherwise the run stops, saying what was left undone. */
async function unlessSpareSigns(
  run: Run,
  facts: Facts,
  api: KeyedDkimApi,
  leftUndone: string,
): Promise<StepOutcome | undefined> {
  const spare = spareOf(facts);
  const key = await api.dkimOrNone(spare);
  if (key?.status === 'inProduction') return undefined;
  const status = key ? `status ${key.status}` : 'its key is gone';
  return failed(facts, run.state, `\`${spare}\` no longer signs at OVH (${status}), so ${leftUndone}.`, {
    hint: `Turn \`${spare}\` on again at OVH, then \`/dkim retry\` resumes from this step.`,
  });
}

/** What OVH shows of A's disable: off (taken), disabling or a task pending (under way), still on (not taken). */
function disableSeen(key: Dkim): Seen {
  if (key.status === 'disabling') return 'under_way';
  if (key.status === 'inProduction' || key.status === 'enabling') return key.taskPendingId ? 'under_way' : 'not_taken';
  return 'taken';
}

/** What OVH shows of A's delete: gone (taken), deleting or a task pending (under way), still there (not taken). */
function deleteSeen(key: Dkim | undefined): Seen {
  if (!key) return 'taken';
  if (key.status === 'deleting' || key.taskPendingId) return 'under_way';
  return 'not_taken';
}
