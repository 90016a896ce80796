import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { ConfigError, loadDotEnv, parseConfig } from './config/index.ts';
import { buildCore, type Core } from './core.ts';
import { cliActor } from './domain/actors.ts';
import { noticeText } from './domain/render-text.ts';
import { isFinished } from './domain/runs.ts';
import { countResults, countsLine, scanTableLine } from './domain/scan.ts';
import { plainText, words } from './domain/text.ts';
import { HELP, Operations, type Reply } from './operations/index.ts';
import type { ReportsRound } from './reports/index.ts';

/**
 * The operator CLI: the same engine and database as the bot, for operators with access to the host.
 *   npm run cli -- setup x.fr [--service org/service] [--as U123] | status [x.fr] | list
 *   npm run cli -- approve <run> --as <user> | reject <run> --as <user> | cancel x.fr | retry x.fr | tick [--all]
 */
const USAGE = `usage: npm run cli -- <command>
  setup <domain> [--service exchange/<org>/<service> | pro/<service> | mxplan] [--as <user>]
  choose <run> <service> [--as <user>]   answer a run found on two services
  rotate <domain> [--service …] [--as <user>]   sign with the spare, retire the old key (Exchange, Email Pro)
  disable <domain> [--service …] [--as <user>]  turn DKIM signing off (keys and records stay)
  dmarc <domain> [--service …] [--as <user>]    SPF with include:mx.ovh.com and a DMARC record sending reports to DMARC_RUA
  reports          read the DMARC reports mailbox now (as DMARC_CRON does)
  watch            check every watched domain in DNS now
  scan [--json]    every domain of the account: DKIM at OVH and in DNS, SPF, DMARC, what to do next (waits until done)
  setup-all <scan run> [--as <user>]   one setup per domain the scan found needing one, as one group
  vtex <domain> <sender> [--as <user>]
  batch renew|create|transfer|dns <domain> [authinfo | ns1 [ns2=ip …]] [--as <user>]
  report <domain> [days] [--json]   what receivers' DMARC reports say of the domain (the last 7 days unless said)
  status [kind] [domain] | list
  approve <run> --as <user> | reject <run> --as <user>
  cancel [kind] <domain> [--as <user>] | retry [kind] <domain> [--as <user>]   (kind: setup, rotate, disable, dmarc, vtex, batch)
  tick [--all]     look at due runs now (--all: every active run, due or not)`;

function roundReply(round: ReportsRound, mailbox: boolean): Reply {
  if (round.mailboxError)
    return { ok: false, text: words`The reports mailbox could not be read: ${round.mailboxError}` };
  const read = round.read;
  const lines = [
    read
      ? `Read the reports mailbox: ${read.imported} report(s) imported, ${read.duplicates} already counted, ${read.rejected} refused (moved to dmarc-rejected).`
      : mailbox
        ? 'The reports mailbox was not read.'
        : 'DMARC_IMAP_URL is not set: no mailbox to read.',
    `Said: ${round.said.proofs} proof(s), ${round.said.failures} failing selector(s); proposed ${round.journey.proposed.length} step-up(s), ${round.journey.rollbacks.length} roll-back(s).`,
  ];
  return { ok: true, text: lines.join('\n') };
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      as: { type: 'string' },
      service: { type: 'string' },
      all: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  const [command, arg] = positionals;
  if (!command || values.help) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  loadDotEnv();
  const core = buildCore(parseConfig(process.env));
  const ops = new Operations(core);
  // Recorded as who really acted: `cli:<os user>`, or `cli:<os user> as <id>` with the rights of that Slack user.
  const user = cliActor(osUser(), values.as);
  const lastSeen = core.store.outbox.lastId();
  let reply: Reply;
  switch (command) {
    case 'setup':
      reply = await ops.setup({ domain: arg ?? '', user, channel: null, service: values.service });
      break;
    case 'rotate':
      reply = await ops.rotate({ domain: arg ?? '', user, channel: null, service: values.service });
      break;
    case 'disable':
      reply = await ops.disable({ domain: arg ?? '', user, channel: null, service: values.service });
      break;
    case 'dmarc':
      reply = await ops.dmarc({ domain: arg ?? '', user, channel: null, service: values.service });
      break;
    case 'reports':
      reply = roundReply(await core.reports.round(), core.config.dmarc.imapUrl !== undefined);
      break;
    case 'choose': {
      const runId = Number(arg);
      if (!Number.isInteger(runId) || runId <= 0 || !positionals[2])
        return fail('choose takes a run number and a service');
      reply = await ops.answer(runId, undefined, positionals[2], user);
      break;
    }
    case 'vtex':
      reply = await ops.vtex({ domain: arg ?? '', sender: positionals[2] ?? '', user, channel: null });
      break;
    case 'batch': {
      const answer = await ops.batch(positionals.slice(1), user, null);
      reply = answer.form
        ? {
            ok: false,
            text: words`${answer.text} The CLI takes the contacts from OVH_BATCH_*_ID; a .fr order needs Slack's form.`,
          }
        : answer;
      break;
    }
    case 'report': {
      if (positionals.length > 3) return fail(`report takes a domain and a number of days\n${USAGE}`);
      const answer = await ops.report.report({ domain: arg ?? '', days: positionals[2] });
      if (values.json && answer.report) {
        console.log(JSON.stringify(answer.report, null, 2));
        core.close();
        return 0;
      }
      reply = answer;
      break;
    }
    case 'status':
      reply = ops.status(positionals.slice(1));
      break;
    case 'list':
      reply = ops.list();
      break;
    case 'approve':
    case 'reject': {
      if (!values.as) return fail('--as <user> is required: approvals are recorded under a name');
      const runId = Number(arg);
      if (!Number.isInteger(runId) || runId <= 0) return fail('approve/reject take a run number');
      reply = await ops.decideRun(runId, user, command === 'approve' ? 'approved' : 'rejected');
      break;
    }
    case 'cancel':
      reply = await ops.cancel(positionals.slice(1), user);
      break;
    case 'retry':
      reply = await ops.retry(positionals.slice(1), user);
      break;
    case 'tick': {
      const looked = await core.engine.tick({ all: values.all ?? false });
      reply = { ok: true, text: `Looked at ${looked} run(s).` };
      break;
    }
    case 'scan': {
      const started = await ops.fleet.scan({ user, channel: null });
      if (!started.ok || !started.run) {
        reply = started;
        break;
      }
      const code = await followScan(core, started.run.id, values.json ?? false);
      core.close();
      return code;
    }
    case 'setup-all': {
      const scanRunId = Number(arg);
      if (!Number.isInteger(scanRunId) || scanRunId <= 0) return fail('setup-all takes the run number of a scan');
      reply = await ops.fleet.setupAll(scanRunId, user, null);
      break;
    }
    case 'watch': {
      const report = await core.watcher.checkAll();
      reply = {
        ok: true,
        text: `Checked ${report.checked} watched domain(s): ${report.broken} newly broken, ${report.repaired} repaired, ${report.reminded} reminded.`,
      };
      break;
    }
    case 'help':
      reply = { ok: true, text: HELP };
      break;
    default:
      return fail(`unknown command "${command}"\n${USAGE}`);
  }
  await core.engine.idle();
  for (const message of core.store.outbox.since(lastSeen)) {
    console.log(`  | ${noticeText(message.notice).replace(/\n/g, '\n  | ')}`);
  }
  console.log(plainText(reply.text));
  core.close();
  return reply.ok ? 0 : 1;
}

/**
 * Steps the scan in this process until it is done (the bot, if it runs on the same database, may step it too: the
 * lease keeps them apart), with its progress on stderr, then prints the table or, with --json, every result.
 */
async function followScan(core: Core, runId: number, json: boolean): Promise<number> {
  let said = '';
  for (;;) {
    await core.engine.idle();
    const run = core.store.runs.get(runId);
    if (!run) return fail(`scan #${runId} is gone from the database`);
    const observation = typeof run.facts.lastObservation === 'string' ? run.facts.lastObservation : run.state;
    if (observation !== said) console.error(`  scan #${runId}: ${observation}`);
    said = observation;
    if (isFinished(run.state)) break;
    const wait = Math.max(0, (run.nextCheckAt ?? core.clock.now()) - core.clock.now());
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 5_000)));
    await core.engine.advance(runId);
  }
  const run = core.store.runs.get(runId);
  const results = core.store.scans.results(runId);
  if (json) console.log(JSON.stringify(results, null, 2));
  else {
    for (const r of results) console.log(scanTableLine(r));
    console.log(countsLine(countResults(results)));
  }
  if (run?.state !== 'done') console.error(`scan #${runId} ended ${run?.state}: ${run?.lastError ?? ''}`);
  return run?.state === 'done' ? 0 : 1;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'operator';
  }
}

function fail(message: string): number {
  console.error(message);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof ConfigError ? error.message : `error: ${(error as Error).message}`);
    process.exitCode = 1;
  },
);
