import type { Core } from '../core.ts';
import { actorId } from '../domain/actors.ts';
import { groupDomain, showRun, WHOLE_ACCOUNT } from '../domain/names.ts';
import { stateLabel } from '../domain/runs.ts';
import { words } from '../domain/text.ts';
import { limitText } from '../engine/starts.ts';
import { parseServiceSpec } from '../providers/ovh-mail.ts';
import type { Reply } from './reply.ts';

/**
 * What a person asks of the whole account (DESIGN §2.7): a scan, and **Set up all** for the domains it found needing
 * a setup. Checked before anything is written, like every other request.
 */
export class FleetOperations {
  constructor(private readonly core: Core) {}

  async scan(input: { user: string; channel: string | null }): Promise<Reply> {
    if (!this.core.config.ovh) return { ok: false, text: `Not started: ${this.core.config.ovhDisabledReason}` };
    const refusal = await this.core.access.startRefusal(actorId(input.user), 'scan');
    if (refusal) return { ok: false, text: words`Not started: ${refusal}` };
    const result = await this.core.engine.start({
      kind: 'scan',
      domain: WHOLE_ACCOUNT,
      params: {},
      requestedBy: input.user,
      channelId: input.channel,
    });
    if (result.ok) {
      return {
        ok: true,
        text: `Scanning every domain of the account's Exchange, Email Pro and MX Plan services (run #${result.run.id}).`,
        run: result.run,
      };
    }
    if ('limit' in result) return { ok: false, text: `Not started: ${limitText(result.limit)}` };
    const { existing } = result;
    const where = typeof existing.facts.lastObservation === 'string' ? `: ${existing.facts.lastObservation}` : '';
    return {
      ok: false,
      text: `A scan is already running (run #${existing.id}${where}). Follow it in its thread; nothing new was started.`,
      run: existing,
    };
  }

  /**
   * One setup per domain the scan found needing one, started as a group with one approval card (the group's thread
   * says what needs people). A domain with a run already going, or found on two services, is left out and said.
   */
  async setupAll(scanRunId: number, user: string, channel: string | null): Promise<Reply> {
    const { store, engine, config, access } = this.core;
    const scan = store.runs.get(scanRunId);
    if (scan?.kind !== 'scan') return { ok: false, text: `There is no scan #${scanRunId}.` };
    if (scan.state !== 'done')
      return {
        ok: false,
        text: `Scan #${scanRunId} is ${stateLabel(scan.state).toLowerCase()}: wait until it is done.`,
      };
    if (!config.ovh) return { ok: false, text: `Not started: ${config.ovhDisabledReason}` };
    const refusal = await access.startRefusal(actorId(user), 'setup');
    if (refusal) return { ok: false, text: words`Not started: ${refusal}` };
    const needing = store.scans.results(scanRunId).filter((r) => r.needsSetup);
    if (needing.length === 0) return { ok: false, text: `Scan #${scanRunId} found no domain that needs a setup.` };
    const seen = new Map<string, number>();
    for (const r of needing) seen.set(r.domain, (seen.get(r.domain) ?? 0) + 1);
    const twice = [...seen].filter(([, n]) => n > 1).map(([domain]) => domain);
    const members = needing
      .filter((r) => !twice.includes(r.domain))
      .map((r) => ({
        kind: 'setup' as const,
        domain: r.domain,
        params: { ...parseServiceSpec(r.service) },
        requestedBy: user,
        channelId: null,
      }));
    const twiceNote = twice.length
      ? `Left out, on two services (set each up alone with \`--service\`): ${twice.join(', ')}.`
      : '';
    if (members.length === 0) return { ok: false, text: `Nothing started. ${twiceNote}` };
    const result = engine.startGroup(
      {
        kind: 'group',
        domain: groupDomain(scanRunId),
        params: { scan: scanRunId },
        requestedBy: user,
        channelId: channel,
      },
      members,
    );
    if (!result.ok) {
      if ('limit' in result) return { ok: false, text: `Not started: ${limitText(result.limit)}` };
      if ('allRunning' in result) {
        const going = result.allRunning.map((r) => `${showRun(r)} (run #${r.id})`).join(', ');
        return {
          ok: false,
          text: `Nothing started: every domain already has a run going: ${going}. ${twiceNote}`.trim(),
        };
      }
      return {
        ok: false,
        text: `The domains of scan #${scanRunId} are already being set up as a group (run #${result.existing.id}). Follow it in its thread; nothing new was started.`,
        run: result.existing,
      };
    }
    const notes = [
      ...(result.skipped.length
        ? [`Left out, a run already going: ${result.skipped.map((r) => `${showRun(r)} (run #${r.id})`).join(', ')}.`]
        : []),
      ...(twiceNote ? [twiceNote] : []),
    ];
    return {
      ok: true,
      text: [
        `Started ${result.members.length} setups as one group (run #${result.run.id}): one approval card will cover the domains whose keys are ready.`,
        ...notes,
      ].join(' '),
      run: result.run,
    };
  }
}
