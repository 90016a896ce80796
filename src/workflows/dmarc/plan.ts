import { findDmarc, initialDmarc, readPolicy, withPolicy, withRua } from '../../domain/dmarc-record.ts';
import { count, counted, messages as messagesText, names, percent } from '../../domain/figures-text.ts';
import { showRun } from '../../domain/names.ts';
import type { Run } from '../../domain/runs.ts';
import { planSpf, SPF_LOOKUP_LIMIT } from '../../domain/spf.ts';
import type { Text } from '../../domain/text.ts';
import { DAY_MS, spanWords } from '../../domain/time.ts';
import { need } from '../../engine/invariant.ts';
import { failed, proceed } from '../../engine/outcomes.ts';
import type { ApprovalRequest, StepContext, StepOutcome } from '../../engine/types.ts';
import { isPrivateExchange } from '../../providers/ovh-api.ts';
import { RECORD_TTL } from '../common/publish.ts';
import { signingNow } from '../common/signing.ts';
import { findService } from '../setup/discover.ts';
import { ovhOf, serviceOf, zonesOf } from '../setup/facts.ts';
import { type DmarcFacts, type DmarcParams, paramsOf } from './facts.ts';
import { ownerName, type RecordChange, readTxt } from './records.ts';

/**
 * Before the card: the domain must sign (DKIM on at OVH), then its SPF and DMARC are read and the changes planned,
 * each *before → after*; what is left alone is said with its reason.
 */

type Facts = DmarcFacts;

export async function readRecords(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  if (!facts.signing) return findSigning(run, facts, ctx);
  const params = paramsOf(run);
  const zone = facts.zone ?? null;
  const zones = zone ? zonesOf(ctx) : undefined;
  const dmarcTxt = await readTxt(run.domain, 'dmarc', zone, zones, ctx);
  const apexTxt = params.action === 'setup' ? await readTxt(run.domain, 'spf', zone, zones, ctx) : [];
  const plan =
    params.action === 'setup' ? await setupPlan(run, facts, ctx, apexTxt, dmarcTxt) : policyPlan(run, params, dmarcTxt);
  if ('refusal' in plan) return failed(facts, run.state, plan.refusal);
  // What is left unchanged is the card's to say, not a fact to keep.
  const { unchanged, ...found } = plan;
  const next = { ...facts, ...found };
  if (plan.changes.length === 0) {
    const text = `Nothing to change for ${showRun(run)}: ${unchanged.join(' ') || 'SPF and DMARC are as they should be.'}`;
    return {
      state: 'done',
      facts: { ...next, lastObservation: 'Nothing to change.' },
      next: 'none',
      notices: [{ type: 'reply', level: 'success', text }],
      dmarc: adopted(plan.expected),
    };
  }
  return {
    state: 'awaiting_approval',
    facts: { ...next, written: [], lastObservation: 'The changes need an approval.' },
    next: 'none',
    approval: card(run, params, plan.changes, unchanged, zone),
  };
}

/** The records found right are the bot's to watch from now on, as if written. */
function adopted(expected: { spf: string | null; dmarc: string }) {
  return { spf: expected.spf, dmarc: expected.dmarc, policy: readPolicy(expected.dmarc).p };
}

async function findSigning(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const found = await findService(run, facts, ctx);
  if ('outcome' in found) return found.outcome;
  const located = { ...facts, ...found.at, zone: found.zone };
  const signing = await signingNow(run, located, ctx);
  if (signing.length === 0) {
    return failed(
      located,
      run.state,
      `${showRun(run)} does not sign with DKIM at OVH: receivers would fail its mail under a stricter DMARC policy. Run \`/dkim setup ${run.domain}\` first, then \`/dkim dmarc ${run.domain}\`.`,
    );
  }
  const at = need(serviceOf(located), 'the mail service');
  // Only a setup writes SPF: a step-up or a rollback needs no look at the offer.
  const privateExchange =
    paramsOf(run).action === 'setup' && at.offer === 'exchange' && at.org && at.service
      ? await isPrivateExchange(ovhOf(ctx), at.org, at.service)
      : false;
  return proceed(run.state, { ...located, signing, privateExchange });
}

type Plan =
  | { refusal: string }
  | { changes: RecordChange[]; unchanged: string[]; expected: { spf: string | null; dmarc: string } };

async function setupPlan(
  run: Run,
  facts: Facts,
  ctx: StepContext,
  apexTxt: { text: string; record?: RecordChange['record'] }[],
  dmarcTxt: { text: string; record?: RecordChange['record'] }[],
): Promise<Plan> {
  const rua = need(ctx.dmarcRua, 'DMARC_RUA, checked when the run started');
  const changes: RecordChange[] = [];
  const unchanged: string[] = [];
  let spf: string | null = null;
  if (facts.privateExchange) {
    unchanged.push(
      'SPF: a Private Exchange sends from its own IP ranges, which OVH gives you in the Control Panel: add them to the SPF record yourself (the bot does not guess them).',
    );
  } else {
    const resolveTxt = (name: string) => ctx.dns.txt(name);
    const spfPlan = await planSpf(
      run.domain,
      apexTxt.map((t) => t.text),
      resolveTxt,
    );
    const lookUps = (n: number) => `${counted(n, 'DNS look-up')} of ${SPF_LOOKUP_LIMIT}`;
    switch (spfPlan.kind) {
      case 'permerror':
        unchanged.push(
          `SPF: ${run.domain} has ${spfPlan.records.length} SPF records, which every receiver treats as an error (RFC 7208 permerror). The bot does not choose between them: merge them into one, then \`/dkim dmarc ${run.domain}\` again.`,
        );
        break;
      case 'present':
        spf = spfPlan.record;
        unchanged.push(`SPF already includes mx.ovh.com (${lookUps(spfPlan.lookups.count)}).`);
        break;
      case 'refused':
        unchanged.push(
          `SPF: adding include:mx.ovh.com would need ${lookUps(spfPlan.lookups.count)}, past the limit: receivers would fail every message (RFC 7208 §4.6.4). Remove an include first.`,
        );
        break;
      case 'change': {
        const found = apexTxt.find((t) => t.text === spfPlan.before);
        changes.push({
          what: 'spf',
          name: ownerName(run.domain, 'spf'),
          before: spfPlan.before,
          after: spfPlan.after,
          ...(found?.record ? { record: found.record } : {}),
        });
        spf = spfPlan.after;
        unchanged.push(`SPF after the change: ${lookUps(spfPlan.lookups.count)}.`);
        break;
      }
    }
  }
  const dmarc = findDmarc(dmarcTxt.map((t) => t.text));
  if (dmarc.kind === 'invalid') {
    return {
      refusal: `_dmarc.${run.domain} has ${dmarc.records.length} DMARC records, so receivers ignore them all (RFC 7489 §6.6.3). The bot does not choose between them: keep one, then \`/dkim dmarc ${run.domain}\` again.`,
    };
  }
  const before = dmarc.kind === 'one' ? dmarc.record : null;
  const edit = before === null ? { changed: true, record: initialDmarc(rua) } : withRua(before, rua);
  if (edit.changed) {
    const found = dmarcTxt.find((t) => t.text === before);
    changes.push({
      what: 'dmarc',
      name: ownerName(run.domain, 'dmarc'),
      before,
      after: edit.record,
      ...(found?.record ? { record: found.record } : {}),
    });
  } else {
    unchanged.push(`DMARC already sends reports to ${rua} (p=${readPolicy(edit.record).p}).`);
  }
  return { changes, unchanged, expected: { spf, dmarc: edit.record } };
}

/** A step-up or a rollback: the DMARC record's `p`, every other tag kept. */
function policyPlan(
  run: Run,
  params: DmarcParams,
  dmarcTxt: { text: string; record?: RecordChange['record'] }[],
): Plan {
  const policy = need(params.policy, 'the policy asked for');
  const dmarc = findDmarc(dmarcTxt.map((t) => t.text));
  if (dmarc.kind !== 'one') {
    return {
      refusal: `_dmarc.${run.domain} has ${dmarc.kind === 'none' ? 'no DMARC record' : 'several DMARC records'} now: nothing to ${params.action === 'step-up' ? 'step up' : 'roll back'}.`,
    };
  }
  const edit = withPolicy(dmarc.record, policy, params.action === 'step-up' ? 'step-up' : 'rollback');
  if (!edit.ok) return { refusal: `Not changed: ${edit.reason}.` };
  const found = dmarcTxt.find((t) => t.text === dmarc.record);
  return {
    changes: [
      {
        what: 'dmarc',
        name: ownerName(run.domain, 'dmarc'),
        before: dmarc.record,
        after: edit.record,
        ...(found?.record ? { record: found.record } : {}),
      },
    ],
    unchanged: [],
    expected: { spf: null, dmarc: edit.record },
  };
}

function card(
  run: Run,
  params: DmarcParams,
  changes: RecordChange[],
  unchanged: string[],
  zone: string | null,
): ApprovalRequest {
  const where = zone
    ? `Written in the OVH zone *${zone}* as TXT (an existing record keeps its type), the zone refreshed, then checked in DNS.`
    : 'The zone is not at OVH: once approved, the bot gives the zone-file lines to add at your DNS host and waits for DNS.';
  const lines: Text[] = [
    ...changes.map(
      (c) =>
        `${c.what === 'spf' ? 'SPF' : 'DMARC'} at \`${c.name}\`: ${c.before === null ? 'none' : `\`${c.before}\``} → \`${c.after}\``,
    ),
    ...unchanged,
    ...evidenceLines(params),
    `${where} TTL ${RECORD_TTL} s.`,
  ];
  return {
    action: `dmarc-${params.action}`,
    snapshot: { changes: changes.map((c) => ({ name: c.name, before: c.before, after: c.after })) },
    title: titleOf(run, params),
    lines,
  };
}

function titleOf(run: Run, params: DmarcParams): Text {
  if (params.action === 'step-up') return `Step up the DMARC policy of ${showRun(run)} to p=${params.policy}?`;
  if (params.action === 'rollback') return `Roll the DMARC policy of ${showRun(run)} back to p=${params.policy}?`;
  return `Write the SPF and DMARC records of ${showRun(run)}?`;
}

function evidenceLines(params: DmarcParams): Text[] {
  const evidence = params.evidence;
  if (!evidence) return [];
  const { dmarcPass, messages } = evidence;
  const head = `The receivers' reports over ${spanWords(evidence.days * DAY_MS)}: ${count(dmarcPass)} of ${messagesText(messages)} passed DMARC (${percent(dmarcPass, messages)}).`;
  if (evidence.failing.length === 0)
    return [head, 'No source failed DMARC: nothing would have been quarantined or rejected.'];
  const verb = params.policy === 'reject' ? 'rejected' : 'quarantined';
  const sources = evidence.failing.map(
    (f) => `${f.sourceIp} (${messagesText(f.messages)}, reported by ${names(f.reporters)})`,
  );
  return [head, `What p=${params.policy} would have ${verb}: ${sources.join('; ')}.`];
}
