import { type DomainName, domainFromAscii, parseDomain, showDomain, showRun, WHOLE_ACCOUNT } from '../domain/names.ts';
import { asRunKind, isFinished, type Run, type RunKind, stateLabel } from '../domain/runs.ts';
import { joinText, type Text, when, words } from '../domain/text.ts';
import { placeOf } from '../engine/summary.ts';
import type { RunRepository } from '../store/runs.ts';
import type { Reply } from './reply.ts';

/** Which run a person means (`[kind] domain`), and how a run is described in a status line. */

/** Kinds about the whole account, named without a domain (`/dkim status scan`). */
const ACCOUNT_KINDS: readonly RunKind[] = ['scan', 'group'];

export type Target = { ok: true; domain: DomainName; kind?: RunKind };

/** `[kind] domain`, the kind as a person types it (`setup`, `vtex`, `batch`). */
export function parseTarget(args: string[]): Target | (Reply & { ok: false }) {
  const [first, second, ...rest] = args;
  const kind = first ? asRunKind(first.toLowerCase()) : undefined;
  const domainText = kind ? second : first;
  if (kind && ACCOUNT_KINDS.includes(kind) && second === undefined) {
    return { ok: true, domain: domainFromAscii(WHOLE_ACCOUNT), kind };
  }
  if (rest.length > 0 || (!kind && second !== undefined)) {
    return {
      ok: false,
      text: `Say \`[setup|rotate|disable|dmarc|vtex|batch] example.fr\`: one kind at most, then one domain.`,
    };
  }
  const parsed = parseDomain(domainText);
  if (!parsed.ok) return { ok: false, text: parsed.error };
  return { ok: true, domain: parsed.domain, ...(kind ? { kind } : {}) };
}

export function describeRun(run: Run): Text {
  const domain = showRun(run);
  const where = placeOf(run).where;
  const parts: Text[] = [`#${run.id} ${run.kind} ${domain}${where ? ` on ${where}` : ''}: ${stateLabel(run.state)}`];
  if (!isFinished(run.state) && run.nextCheckAt) {
    parts.push(
      words`${run.state === 'awaiting_approval' ? 'the card expires' : 'next check'} ${when(run.nextCheckAt)}`,
    );
  }
  const observation = run.facts.lastObservation;
  if ((typeof observation === 'string' || Array.isArray(observation)) && !isFinished(run.state)) {
    parts.push(observation as Text);
  }
  if (run.lastError) parts.push(`last error: ${run.lastError}`);
  return joinText(parts, ' — ');
}

/** The latest run of each kind for the domain (of the kind named); a scan or a group: the latest of its kind. */
export function targetRuns(runs: RunRepository, target: Target): Run[] {
  if (target.kind && ACCOUNT_KINDS.includes(target.kind) && target.domain.ascii === WHOLE_ACCOUNT) {
    const latest = runs.latestOfKind(target.kind);
    return latest ? [latest] : [];
  }
  return runs.latestPerKind(target.domain.ascii).filter((r) => !target.kind || r.kind === target.kind);
}

/** The one run meant, or a question naming the candidates. */
export function choose(
  runs: Run[],
  verb: string,
  target: Target,
  what: string,
): (Reply & { ok: false }) | { ok: true; run: Run } {
  const [run, ...others] = runs;
  if (!run) return { ok: false, text: `There is no ${what} for ${showDomain(target.domain)}.` };
  if (others.length === 0) return { ok: true, run };
  const options = runs.map(
    (r) => `\`/dkim ${verb} ${r.kind} ${target.domain.unicode}\` (run #${r.id}, ${stateLabel(r.state).toLowerCase()})`,
  );
  return {
    ok: false,
    text: `${showDomain(target.domain)} has ${runs.length} runs that could be meant. Say which: ${options.join(' or ')}.`,
  };
}
