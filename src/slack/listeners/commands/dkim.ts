import type { SlackCommandMiddlewareArgs } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { type Text, words } from '../../../domain/text.ts';
import { type BatchFormRequest, HELP, type Operations, type Reply, SERVICE_USAGE } from '../../../operations/index.ts';
import type { ReportRequest } from '../../../operations/report.ts';
import { errorMessage } from '../../../providers/errors.ts';
import { batchForm } from '../../render/batch-form.ts';
import { mrkdwn } from '../../render/escape.ts';
import { reportMessage, reportRefusal } from '../../render/report.ts';
import { threadLink } from '../../render/text.ts';
import type { ListenerDeps } from '../index.ts';

type CommandArgs = Pick<SlackCommandMiddlewareArgs, 'command' | 'ack' | 'respond'> & { client: WebClient };

interface CommandInput {
  text: string;
  user: string;
  channel: string;
}

/** The answer in the ack, and a form to open or a report to read after it. */
interface Answer {
  /** Nothing to say in the ack: the answer follows. */
  ack: { response_type: 'ephemeral'; text: string } | undefined;
  form?: BatchFormRequest;
  report?: ReportRequest;
}

/**
 * `/dkim <subcommand>`: ack first, with the answer when it is local; anything slower comes after the ack. A command
 * delivered twice (its ack was lost) gets the first answer again and starts nothing twice.
 */
export function dkimCommand({ ops, deliveries, drafts, log }: ListenerDeps) {
  return async ({ command, ack, client, respond }: CommandArgs): Promise<void> => {
    const input = { text: command.text, user: command.user_id, channel: command.channel_id };
    const { value, first } = await deliveries.once(`command:${command.trigger_id}`, () => answer(ops, input));
    await ack(value.ack);
    if (value.report && first) {
      // DNS (the failing sources' reverse names) is not local: the report follows the ack, for the asker alone.
      try {
        const report = await ops.report.read(value.report);
        await respond(reportMessage(ops.report.sections(report, value.report.domain)));
      } catch (error) {
        log.warn('could not answer /dkim report', { error: errorMessage(error) });
        await respond(reportRefusal(words`Could not read the reports: ${errorMessage(error)}`)).catch(() => {});
      }
      return;
    }
    if (!value.form || !first) return;
    const { authinfo } = value.form;
    const draft = authinfo ? drafts.keep({ authinfo }) : undefined;
    try {
      await client.views.open({
        trigger_id: command.trigger_id,
        view: batchForm(value.form, command.channel_id, draft),
      });
    } catch (error) {
      await respond(ephemeral(`Could not open the form: ${errorMessage(error)}`));
    }
  };
}

async function answer(ops: Operations, { text, user, channel }: CommandInput): Promise<Answer> {
  const [sub = 'help', ...args] = text.trim().split(/\s+/).filter(Boolean);
  switch (sub.toLowerCase()) {
    case 'setup': {
      const { rest, service } = serviceOption(args);
      if (rest.length > 1 || service === '') {
        return {
          ack: ephemeral(`Not started: setup takes one domain, e.g. \`/dkim setup example.fr\`. ${SERVICE_USAGE}`),
        };
      }
      return { ack: started(await ops.setup({ domain: rest[0] ?? '', user, channel, service })) };
    }
    case 'rotate':
    case 'disable':
    case 'dmarc': {
      const verb = sub.toLowerCase() as 'rotate' | 'disable' | 'dmarc';
      const { rest, service } = serviceOption(args);
      const [domain] = rest;
      if (domain === undefined || rest.length !== 1 || service === '') {
        return { ack: ephemeral(`Not started: ${verb} takes one domain, e.g. \`/dkim ${verb} example.fr\`.`) };
      }
      return { ack: started(await ops[verb]({ domain, user, channel, service })) };
    }
    case 'vtex': {
      const [domain, sender] = args;
      if (domain === undefined || sender === undefined || args.length !== 2) {
        return { ack: ephemeral('Usage: `/dkim vtex example.fr sender@example.fr`.') };
      }
      return { ack: started(await ops.vtex({ domain, sender, user, channel })) };
    }
    case 'batch': {
      const reply = await ops.batch(args, user, channel);
      return reply.form ? { ack: ephemeral(reply.text), form: reply.form } : { ack: started(reply) };
    }
    case 'scan':
      if (args.length > 0)
        return { ack: ephemeral('Not started: `/dkim scan` takes nothing: it looks at the whole account.') };
      return { ack: started(await ops.fleet.scan({ user, channel })) };
    case 'report': {
      const [domain, days] = args;
      if (domain === undefined || args.length > 2) return { ack: ephemeral(`No report: ${ops.report.usage()}`) };
      const checked = ops.report.parse(domain, days);
      return checked.ok ? { ack: undefined, report: checked.request } : { ack: ephemeral(checked.text) };
    }
    case 'status':
      return { ack: ephemeral(ops.status(args).text) };
    case 'list':
      return { ack: ephemeral(ops.list().text) };
    case 'cancel':
      return { ack: ephemeral((await ops.cancel(args, user)).text) };
    case 'retry':
      return { ack: ephemeral((await ops.retry(args, user)).text) };
    case 'help':
      return { ack: ephemeral(HELP) };
    default:
      return { ack: ephemeral(`Unknown command \`${sub.slice(0, 30)}\`.\n${HELP}`) };
  }
}

/** `--service x` or `--service=x` among the arguments; '' when the flag has no value. */
function serviceOption(args: string[]): { rest: string[]; service?: string } {
  const rest: string[] = [];
  let service: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--service') service = args[++i] ?? '';
    else if (arg.startsWith('--service=')) service = arg.slice('--service='.length);
    else rest.push(arg);
  }
  return { rest, service };
}

/** The answer to a command that starts a run: where to follow it, or a link to the run already going. */
function started(reply: Reply) {
  if (reply.ok) return ephemeral(words`${reply.text} Follow it in the thread below.`);
  return ephemeral(reply.run ? words`${reply.text} ${threadLink(reply.run)}` : reply.text);
}

/** An answer seen by the person who typed the command alone, through the one escape boundary. */
function ephemeral(text: Text) {
  return { response_type: 'ephemeral' as const, text: mrkdwn(text) };
}
