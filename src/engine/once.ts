import type { RunState } from '../domain/runs.ts';
import type { StepContext } from './types.ts';

/**
 * The at-most-once call (DESIGN §3), for every mutating call that must not happen twice (an enable, a disable, a
 * delete, an order's mail): the attempt is written durably before the call, the answer after it; a step that finds an
 * attempt without its answer (a crash, a timeout) reads the provider to learn whether it was taken; a call the provider
 * answered but shows no effect of is repeated after REPEAT_AFTER_MS. Every workflow uses this, and only this.
 */

/** A call answered by the provider, whose effect it still does not show after this long, was dropped: sent again. */
export const REPEAT_AFTER_MS = 15 * 60_000;

/** One call as the run's facts keep it, under its key (`enable:<selector>`, `delete:<selector>`, `send`). */
export interface CallRecord {
  /** Written (durably) just before the call. */
  attemptAt: number;
  /** When the provider answered. Absent after an attempt: the answer was lost, and the provider must be read. */
  answeredAt?: number;
  /** How many times it was sent under the run's approval. */
  sent: number;
}

export interface CallFacts {
  calls?: Record<string, CallRecord>;
  [key: string]: unknown;
}

/**
 * What the provider shows of the call's effect, read by the step: `taken` (the effect is there), `under_way` (a task
 * pending, a transient status), `not_taken` (as before the call); `unknowable` when it cannot be read (a mail sent).
 */
export type Seen = 'taken' | 'under_way' | 'not_taken' | 'unknowable';

export type Verdict =
  /** Never sent, sent but it never reached the provider, or dropped by it long ago: send (again). */
  | { act: 'send' }
  /** Under way, or answered a moment ago and not acted on yet: look again later. */
  | { act: 'wait' }
  /** The provider shows it taken: go on. */
  | { act: 'taken' }
  /** Its answer was lost and the provider cannot say whether it was taken: a person must look. */
  | { act: 'uncertain' };

export interface Judgement {
  verdict: Verdict;
  /** An attempt whose answer was lost, now seen taken or under way: say once that it went through. */
  wentThrough: boolean;
  /** The facts with the record brought up to date (a lost answer recognised is written as answered). */
  facts: CallFacts;
}

export function callRecord(facts: CallFacts, key: string): CallRecord | undefined {
  return facts.calls?.[key];
}

/** The one rule: what to do about the call `key`, given what the provider shows now. */
export function judge<F extends CallFacts>(facts: F, key: string, seen: Seen, now: number): Judgement & { facts: F } {
  const record = callRecord(facts, key);
  const lost = record !== undefined && record.answeredAt === undefined;
  const verdict = decide(record, seen, now);
  const wentThrough = lost && (verdict.act === 'taken' || verdict.act === 'wait');
  const answered = wentThrough ? withRecord(facts, key, { ...record, answeredAt: record.attemptAt }) : facts;
  return { verdict, wentThrough, facts: answered };
}

function decide(record: CallRecord | undefined, seen: Seen, now: number): Verdict {
  if (seen === 'taken') return { act: 'taken' };
  if (seen === 'under_way') return { act: 'wait' };
  if (seen === 'unknowable') return record === undefined ? { act: 'send' } : { act: 'uncertain' };
  if (record === undefined || record.answeredAt === undefined) return { act: 'send' };
  return now - record.answeredAt >= REPEAT_AFTER_MS ? { act: 'send' } : { act: 'wait' };
}

/**
 * Sends the call once: the attempt is checkpointed durably (in `during`, the run's state while it may be under way,
 * by default its state now), then the call, then its answer recorded in the returned facts. An error propagates with
 * the attempt left unanswered, so the next step reads the provider before anything is sent again.
 */
export async function sendOnce<F extends CallFacts, T>(
  ctx: StepContext,
  state: RunState,
  facts: F,
  key: string,
  call: () => Promise<T>,
  during: RunState = state,
): Promise<{ result: T; facts: F }> {
  const sent = (callRecord(facts, key)?.sent ?? 0) + 1;
  const attempted = withRecord(facts, key, { attemptAt: ctx.now, sent });
  ctx.checkpoint(during, attempted);
  const result = await call();
  return { result, facts: withRecord(attempted, key, { attemptAt: ctx.now, sent, answeredAt: ctx.now }) };
}

function withRecord<F extends CallFacts>(facts: F, key: string, record: CallRecord): F {
  return { ...facts, calls: { ...facts.calls, [key]: record } };
}

/** The facts without the records of these calls (a fresh approval starts them over). */
export function forgetCalls<F extends CallFacts>(facts: F, keys?: (key: string) => boolean): F {
  if (!facts.calls) return facts;
  const kept = Object.fromEntries(Object.entries(facts.calls).filter(([key]) => keys && !keys(key)));
  return { ...facts, calls: Object.keys(kept).length > 0 ? kept : undefined };
}
