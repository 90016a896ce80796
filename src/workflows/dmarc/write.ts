import { readPolicy } from '../../domain/dmarc-record.ts';
import { showRun } from '../../domain/names.ts';
import type { Run } from '../../domain/runs.ts';
import { grantHolds } from '../../engine/approvals/grants.ts';
import { need } from '../../engine/invariant.ts';
import { failed, proceed, waitFor } from '../../engine/outcomes.ts';
import type { StepContext, StepOutcome } from '../../engine/types.ts';
import { servedMismatches } from '../common/dns-check.ts';
import { recordsToAdd } from '../common/publish.ts';
import { zonesOf } from '../setup/facts.ts';
import { type DmarcFacts, paramsOf } from './facts.ts';
import { writeChange } from './records.ts';

/**
 * After the approval: each change made once in the OVH zone (read first, so a write whose answer was lost is found
 * done), the zone refreshed, then DNS checked; a zone elsewhere gets the zone-file lines, and DNS is awaited.
 */

type Facts = DmarcFacts;

export async function writeRecords(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const changes = need(facts.changes, 'the approved changes');
  const zone = facts.zone ?? null;
  if (!zone) {
    if (facts.handedOver) return proceed('verifying', facts);
    return proceed('verifying', { ...facts, handedOver: true }, [
      {
        type: 'records',
        text: `The DNS zone of ${showRun(run)} is not at OVH. Set these records at your DNS host (a record shown replaces the one at its name); the bot watches DNS and carries on by itself.`,
        records: recordsToAdd(
          changes.map((c) => ({ name: c.name, target: c.after, type: 'TXT' as const })),
          run.domain,
        ),
      },
    ]);
  }
  if (!grantHolds(run, ctx.view, ctx.now)) {
    return failed(facts, run.state, 'No valid approval covers these records now.', {
      hint: '`/dkim retry` reads the records again and posts a fresh card.',
    });
  }
  const zones = zonesOf(ctx);
  const written = [...(facts.written ?? [])];
  for (const change of changes) {
    if (written.includes(change.name)) continue;
    const result = await writeChange(change, zone, zones, ctx, run.domain);
    if (typeof result === 'object') {
      return failed(
        { ...facts, written },
        run.state,
        `\`${change.name}\` changed since the card was posted: it is now \`${result.changed}\`. The bot did not write over it.`,
        {
          hint: '`/dkim retry` reads the records again and posts a fresh card.',
        },
      );
    }
    written.push(change.name);
    if (result === 'written') {
      return {
        state: run.state,
        facts: { ...facts, written },
        next: 'now',
        events: [
          { type: 'record_written', detail: { zone, name: change.name, before: change.before, after: change.after } },
        ],
      };
    }
  }
  // One refresh, always: a write whose answer was lost is applied too.
  await zones.refresh(zone);
  return proceed('verifying', { ...facts, written }, [
    {
      type: 'reply',
      text: `Wrote ${changes.map((c) => `\`${c.name}\``).join(' and ')} in zone *${zone}* and refreshed it.`,
    },
  ]);
}

export async function verifyRecords(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const expected = need(facts.expected, 'the records DNS must serve');
  const looks = (facts.looks ?? 0) + 1;
  const { spf, dmarc } = await servedMismatches(ctx.dns, run.domain, expected);
  const problems: string[] = [];
  if (spf)
    problems.push(
      `${run.domain} serves ${describe(spf.kind === 'one' ? spf.record : spf.kind === 'none' ? undefined : 'several SPF records')} as SPF, not \`${expected.spf}\`.`,
    );
  if (dmarc)
    problems.push(
      `_dmarc.${run.domain} serves ${describe(dmarc.kind === 'one' ? dmarc.record : dmarc.kind === 'none' ? undefined : 'several DMARC records')}, not \`${expected.dmarc}\`.`,
    );
  if (problems.length > 0) {
    const observation = problems.join(' ');
    const diagnose = looks > 1 && observation !== facts.postedDns;
    return waitFor(
      run,
      { ...facts, looks, ...(diagnose ? { postedDns: observation } : {}) },
      observation,
      diagnose ? [{ type: 'reply', level: 'info', text: `Waiting for DNS: ${observation}` }] : [],
    );
  }
  return done(run, { ...facts, looks, lastObservation: 'DNS serves the records.' }, ctx);
}

function describe(record: string | undefined): string {
  return record === undefined ? 'nothing' : `\`${record}\``;
}

function done(run: Run, facts: Facts, ctx: StepContext): StepOutcome {
  const params = paramsOf(run);
  const expected = need(facts.expected, 'the records DNS must serve');
  const policy = readPolicy(expected.dmarc).p;
  const steppedUpFrom = params.action === 'step-up' ? previousPolicy(facts) : undefined;
  const reports = ctx.dmarcRua
    ? `Receivers send their daily reports to ${ctx.dmarcRua}; the bot reads them and says here when they confirm that mail signed with your DKIM key passes.`
    : '';
  const text =
    params.action === 'setup'
      ? `SPF and DMARC of ${showRun(run)} are in DNS (p=${policy}). ${reports}`
      : `The DMARC policy of ${showRun(run)} is p=${policy} in DNS.`;
  return {
    state: 'done',
    facts,
    next: 'none',
    notices: [{ type: 'reply', level: 'success', mention: true, text }],
    dmarc: { spf: expected.spf, dmarc: expected.dmarc, policy, ...(steppedUpFrom ? { steppedUpFrom } : {}) },
  };
}

/** The policy the step-up changed from: the `before` of its DMARC change. */
function previousPolicy(facts: Facts) {
  const before = facts.changes?.find((c) => c.what === 'dmarc')?.before;
  return before ? readPolicy(before).p : undefined;
}
