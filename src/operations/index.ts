import type { Core } from '../core.ts';
import { actorId } from '../domain/actors.ts';
import { type BatchOrder, type NameServer, orderProblems, orderSchema, parseNameServer } from '../domain/batch.ts';
import { type DomainName, domainFromAscii, parseDomain, parseSender, printable, showDomain } from '../domain/names.ts';
import { type Run, type RunKind, stateLabel } from '../domain/runs.ts';
import { joinText, words } from '../domain/text.ts';
import { busyText, limitText } from '../engine/starts.ts';
import { parseServiceSpec } from '../providers/ovh-mail.ts';
import { rotationNotOffered } from '../workflows/rotate/index.ts';
import { FleetOperations } from './fleet.ts';
import { BATCH_USAGE, SERVICE_USAGE } from './help.ts';
import { asReply, type BatchFormRequest, type Reply } from './reply.ts';
import { ReportOperations } from './report.ts';
import { choose, describeRun, parseTarget, targetRuns } from './targets.ts';

export { BATCH_USAGE, HELP, SERVICE_USAGE } from './help.ts';
export type { BatchFormRequest, Reply } from './reply.ts';

/**
 * What a person can ask of the bot, whatever the face (Slack or the CLI). Input is validated before anything is
 * written or called; every answer is a short text for that person alone.
 */

export class Operations {
  /** The scan and Set up all. */
  readonly fleet: FleetOperations;
  /** What the receivers' DMARC reports say. */
  readonly report: ReportOperations;

  constructor(private readonly core: Core) {
    this.fleet = new FleetOperations(core);
    this.report = new ReportOperations(core);
  }

  /** `service`: where the domain's mail is, when the bot should not look (`exchange/org/service`, `pro/service`, `mxplan`). */
  async setup(input: { domain: string; user: string; channel: string | null; service?: string }): Promise<Reply> {
    const parsed = parseDomain(input.domain);
    if (!parsed.ok) return { ok: false, text: `Not started: ${parsed.error}.` };
    const given = input.service === undefined ? undefined : parseServiceSpec(input.service);
    if (input.service !== undefined && !given) {
      return { ok: false, text: `Not started: ${printable(input.service)} is not a service. ${SERVICE_USAGE}` };
    }
    if (!this.core.config.ovh) return { ok: false, text: `Not started: ${this.core.config.ovhDisabledReason}` };
    const params = given ?? {};
    return this.startRun('setup', parsed.domain, params, input.user, input.channel, {
      what: 'A setup',
      started: (run) => `Started DKIM setup for ${showDomain(parsed.domain)} (run #${run.id}).`,
    });
  }

  /**
   * `/dkim rotate`: Exchange and Email Pro only. What the bot knows of the domain (its watch, the records it wrote)
   * goes into the run, so that MX Plan is refused here and only records the bot wrote are ever pointed elsewhere.
   */
  async rotate(input: { domain: string; user: string; channel: string | null; service?: string }): Promise<Reply> {
    const target = this.changeTarget(input);
    if (!target.ok) return target;
    const { domain, at } = target;
    if (at?.offer === 'mxplan') return { ok: false, text: rotationNotOffered(showDomain(domain)) };
    const written = this.writtenRecords(domain.ascii);
    return this.startRun('rotate', domain, { ...(at ?? {}), written }, input.user, input.channel, {
      what: 'A rotation',
      started: (run) => `Started the rotation of the DKIM key of ${showDomain(domain)} (run #${run.id}).`,
    });
  }

  /** `/dkim disable`: every offer; an approval, then OVH's disable call. Keys and records stay. */
  async disable(input: { domain: string; user: string; channel: string | null; service?: string }): Promise<Reply> {
    const target = this.changeTarget(input);
    if (!target.ok) return target;
    return this.startRun('disable', target.domain, { ...(target.at ?? {}) }, input.user, input.channel, {
      what: 'Turning DKIM off',
      started: (run) => `Checking DKIM of ${showDomain(target.domain)} before turning it off (run #${run.id}).`,
    });
  }

  /**
   * `/dkim dmarc`: SPF and DMARC for a domain that signs, on one card. Needs DMARC_RUA (where the reports go) and OVH
   * (to see that the domain signs).
   */
  async dmarc(input: { domain: string; user: string; channel: string | null; service?: string }): Promise<Reply> {
    const target = this.changeTarget(input);
    if (!target.ok) return target;
    if (!this.core.config.dmarc.rua) {
      return {
        ok: false,
        text: 'Not started: DMARC_RUA is not set: it says where receivers send their DMARC reports.',
      };
    }
    const params = { ...(target.at ?? {}), action: 'setup' };
    return this.startRun('dmarc', target.domain, params, input.user, input.channel, {
      what: 'SPF and DMARC work',
      started: (run) => `Reading the SPF and DMARC records of ${showDomain(target.domain)} (run #${run.id}).`,
    });
  }

  /** The domain and, when known (`--service`, or the watch of a finished setup), where its mail is. */
  private changeTarget(input: { domain: string; service?: string }) {
    const parsed = parseDomain(input.domain);
    if (!parsed.ok) return { ok: false as const, text: `Not started: ${parsed.error}.` };
    const given = input.service === undefined ? undefined : parseServiceSpec(input.service);
    if (input.service !== undefined && !given) {
      return {
        ok: false as const,
        text: `Not started: ${printable(input.service)} is not a service. ${SERVICE_USAGE}`,
      };
    }
    if (!this.core.config.ovh)
      return { ok: false as const, text: `Not started: ${this.core.config.ovhDisabledReason}` };
    const watch = this.core.store.watches.get(parsed.domain.ascii);
    const known = watch && {
      offer: watch.offer,
      ...(watch.org ? { org: watch.org } : {}),
      ...(watch.service ? { service: watch.service } : {}),
    };
    return { ok: true as const, domain: parsed.domain, at: given ?? known };
  }

  /** The selectors whose CNAME the bot wrote, as the domain's setups and rotations recorded them. */
  private writtenRecords(domain: string): string[] {
    const written = new Set<string>();
    for (const run of this.core.store.runs.latestPerKind(domain)) {
      if (run.kind !== 'setup' && run.kind !== 'rotate') continue;
      for (const selector of (run.facts.written as string[] | undefined) ?? []) written.add(selector);
    }
    return [...written];
  }

  async vtex(input: { domain: string; sender: string; user: string; channel: string | null }): Promise<Reply> {
    const parsed = parseDomain(input.domain);
    if (!parsed.ok) return { ok: false, text: `Not started: ${parsed.error}.` };
    const sender = parseSender(input.sender, parsed.domain);
    if (!sender.ok) return { ok: false, text: `Not started: ${sender.error}.` };
    if (!this.core.config.vtex) return { ok: false, text: `Not started: ${this.core.config.vtexDisabledReason}` };
    return this.startRun('vtex', parsed.domain, { sender: sender.sender }, input.user, input.channel, {
      what: 'VTEX DKIM',
      started: (run) =>
        `Started VTEX DKIM for ${showDomain(parsed.domain)} with sender ${sender.sender} (run #${run.id}).`,
    });
  }

  /**
   * `/dkim batch …`, arguments split on white space. Create and transfer need an owner and contacts: from the
   * configured defaults, or else a form (the answer then carries `form`).
   */
  async batch(args: string[], user: string, channel: string | null): Promise<Reply & { form?: BatchFormRequest }> {
    const [command, domainText, ...rest] = args;
    if (!command || !['renew', 'create', 'transfer', 'dns'].includes(command)) return { ok: false, text: BATCH_USAGE };
    const parsed = parseDomain(domainText);
    if (!parsed.ok) return { ok: false, text: `Not started: ${parsed.error}.` };
    const settings = this.core.config.batch;
    if (!settings) return { ok: false, text: `Not started: ${this.core.config.batchDisabledReason}` };
    const domain = parsed.domain.ascii;
    const refusal = await this.core.access.startRefusal(actorId(user), 'batch');
    if (refusal) return { ok: false, text: words`Not started: ${refusal}` };
    if (command === 'renew') {
      if (rest.length > 0) return { ok: false, text: BATCH_USAGE };
      return this.startBatch({ command, domain }, user, channel);
    }
    if (command === 'dns') {
      if (rest.length === 0 || rest.length > 4) return { ok: false, text: `Not started: ${BATCH_USAGE}` };
      const servers = rest.map(parseNameServer);
      const bad = servers.find((s): s is string => typeof s === 'string');
      if (bad) return { ok: false, text: `Not started: ${bad}.` };
      return this.startBatch({ command, domain, nameServers: servers as NameServer[] }, user, channel);
    }
    if (command === 'transfer' && rest.length !== 1) return { ok: false, text: `Not started: ${BATCH_USAGE}` };
    if (command === 'create' && rest.length !== 0) return { ok: false, text: `Not started: ${BATCH_USAGE}` };
    const authinfo = command === 'transfer' ? rest[0] : undefined;
    const { owner, tech, admin, billing } = settings.contacts;
    const needsIdentification = domain.endsWith('.fr');
    if (owner && tech && admin && billing && !needsIdentification) {
      const order = { command, domain, authinfo, owner: { id: owner }, tech, admin, billing };
      return this.startBatch(order as BatchOrder, user, channel);
    }
    return {
      ok: true,
      text: `The ${command} order for ${showDomain(parsed.domain)} needs the owner and contacts: fill in the form.`,
      form: {
        command: command as 'create' | 'transfer',
        domain,
        authinfo,
        defaults: settings.contacts,
        needsIdentification,
      },
    };
  }

  /** Validates a whole order (also the form's) and starts its run; nothing is written when a field is wrong. */
  async startBatch(input: unknown, user: string, channel: string | null): Promise<Reply & { problems?: string }> {
    const order = orderSchema.safeParse(input);
    if (!order.success) {
      const problems = orderProblems(order.error);
      return { ok: false, text: `Not started: ${problems}.`, problems };
    }
    if (!this.core.config.batch) return { ok: false, text: `Not started: ${this.core.config.batchDisabledReason}` };
    const domain = domainFromAscii(order.data.domain);
    return this.startRun('batch', domain, { order: order.data }, user, channel, {
      what: 'A batch order',
      started: (run) =>
        `Composed a ${order.data.command} order for ${showDomain(domain)} (run #${run.id}); it waits for an approval.`,
    });
  }

  /**
   * Starts a run, if `user` may start one of this kind and has not reached MAX_ACTIVE_RUNS_PER_USER; when one of the
   * same kind is active for the domain, says so and starts nothing.
   */
  private async startRun(
    kind: RunKind,
    domain: DomainName,
    params: Record<string, unknown>,
    user: string,
    channel: string | null,
    phrasing: { what: string; started: (run: Run) => string },
  ): Promise<Reply> {
    const refusal = await this.core.access.startRefusal(actorId(user), kind);
    if (refusal) return { ok: false, text: words`Not started: ${refusal}` };
    const result = await this.core.engine.start({
      kind,
      domain: domain.ascii,
      params,
      requestedBy: user,
      channelId: channel,
    });
    if (result.ok) return { ok: true, text: phrasing.started(result.run), run: result.run };
    if ('limit' in result) return { ok: false, text: `Not started: ${limitText(result.limit)}` };
    const { existing } = result;
    const state = stateLabel(existing.state).toLowerCase();
    if (existing.kind !== kind) return { ok: false, text: `Not started: ${busyText(existing)}`, run: existing };
    return {
      ok: false,
      text: `${phrasing.what} for ${showDomain(domain)} is already running (run #${existing.id}, ${state}). Follow it in its thread; nothing new was started.`,
      run: existing,
    };
  }

  /** `[kind] [domain]`: every active run; the runs of a domain; or the latest of a kind for it. */
  status(args: string[] = []): Reply {
    if (args.length === 0) {
      const active = this.core.store.runs.listActive(200, { shown: true });
      if (active.length === 0) return { ok: true, text: 'No active runs.' };
      return { ok: true, text: joinText(active.map(describeRun)) };
    }
    const target = parseTarget(args);
    if (!target.ok) return target;
    const runs = targetRuns(this.core.store.runs, target);
    if (runs.length === 0)
      return {
        ok: true,
        text: `No ${target.kind ? `${target.kind} ` : ''}run for ${showDomain(target.domain)} yet.`,
      };
    return { ok: true, text: joinText(runs.map(describeRun)), run: runs[0] };
  }

  list(): Reply {
    const active = this.core.store.runs.listActive(200, { shown: true });
    const finished = this.core.store.runs.listFinished(10);
    const lines = [
      `*Active runs* (${active.length})`,
      ...(active.length ? active.map(describeRun) : ['none']),
      '*Latest finished runs*',
      ...(finished.length ? finished.map(describeRun) : ['none']),
    ];
    return { ok: true, text: joinText(lines) };
  }

  /** `[kind] domain`: stops the active run of the domain (of that kind); asks which when two are active. */
  async cancel(args: string[], user: string): Promise<Reply> {
    const target = parseTarget(args);
    if (!target.ok) return target;
    const active = targetRuns(this.core.store.runs, target).filter((r) => this.core.engine.cancellable(r));
    const chosen = choose(active, 'cancel', target, 'active run');
    if (!chosen.ok) return chosen;
    return asReply(await this.core.engine.actions.cancel(chosen.run, user));
  }

  /** `[kind] domain`: tries the latest run of the domain (of that kind) again; asks which when two could be. */
  async retry(args: string[], user: string): Promise<Reply> {
    const target = parseTarget(args);
    if (!target.ok) return target;
    const retryable = targetRuns(this.core.store.runs, target).filter(
      (r) => !['done', 'cancelled', 'rejected'].includes(r.state),
    );
    if (retryable.length === 0) {
      const latest = this.core.store.runs.latestForDomain(target.domain.ascii, target.kind);
      if (!latest)
        return { ok: false, text: `There is no run for ${showDomain(target.domain)}. Start one with \`/dkim setup\`.` };
      return {
        ok: false,
        text: `The last run for ${showDomain(target.domain)} is ${latest.state}; start a new one instead.`,
        run: latest,
      };
    }
    const chosen = choose(retryable, 'retry', target, 'run to retry');
    if (!chosen.ok) return chosen;
    return asReply(await this.core.engine.actions.retry(chosen.run, user));
  }

  /** Answers a question a run asked (the Slack buttons carry its key; the CLI names the run). */
  async answer(runId: number, key: string | undefined, value: string, user: string): Promise<Reply> {
    const run = this.core.store.runs.get(runId);
    if (!run) return { ok: false, text: `There is no run #${runId}.` };
    return asReply(await this.core.engine.actions.answer(run, key ?? `service:${run.id}`, value, user));
  }

  /** Decides on the pending approval of a run (the CLI names runs; Slack buttons carry the approval id). */
  async decideRun(runId: number, user: string, decision: 'approved' | 'rejected'): Promise<Reply> {
    const approval = this.core.store.approvals.latestForRun(runId);
    if (!approval) return { ok: false, text: `Run #${runId} has no approval request.` };
    return this.decide(approval.id, user, decision);
  }

  async decide(approvalId: number, user: string, decision: 'approved' | 'rejected'): Promise<Reply> {
    const result = await this.core.engine.approvals.decide(approvalId, user, decision);
    return { ok: result.ok, text: result.message, run: result.run };
  }
}
