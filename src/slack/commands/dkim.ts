import type { App } from '@slack/bolt';
import { parseDomain } from '../../domain/names.ts';
import type { Run } from '../../domain/runs.ts';
import { HELP, type Operations, type Reply } from '../../operations.ts';
import { batchForm } from '../views/batch-form.ts';

/** `/dkim <subcommand>`: ack first, with the answer when it is local; anything slower comes after the ack. */
export function register(app: App, ops: Operations): void {
  app.command('/dkim', async ({ command, ack, client, respond }) => {
    const [sub = 'help', ...args] = command.text.trim().split(/\s+/).filter(Boolean);
    const user = command.user_id;
    switch (sub.toLowerCase()) {
      case 'setup': {
        const checked = parseDomain(args[0]);
        if (!checked.ok || args.length > 1) {
          const why = checked.ok ? 'setup takes one domain, e.g. `/dkim setup example.fr`' : checked.error;
          return ack(ephemeral(`Not started: ${why}.`));
        }
        return ack(started(ops.setup({ domain: args[0]!, user, channel: command.channel_id })));
      }
      case 'vtex': {
        if (args.length !== 2) return ack(ephemeral('Usage: `/dkim vtex example.fr sender@example.fr`.'));
        return ack(started(ops.vtex({ domain: args[0]!, sender: args[1]!, user, channel: command.channel_id })));
      }
      case 'batch': {
        const reply = ops.batch(args, user, command.channel_id);
        if (!reply.form) return ack(started(reply));
        await ack(ephemeral(reply.text));
        try {
          await client.views.open({ trigger_id: command.trigger_id, view: batchForm(reply.form, command.channel_id) });
        } catch (error) {
          await respond(ephemeral(`Could not open the form: ${(error as Error).message}`));
        }
        return;
      }
      case 'status':
        return ack(ephemeral(ops.status(args[0]).text));
      case 'list':
        return ack(ephemeral(ops.list().text));
      case 'cancel':
        return ack(ephemeral(ops.cancel(args[0], user).text));
      case 'retry':
        return ack(ephemeral(ops.retry(args[0], user).text));
      case 'help':
        return ack(ephemeral(HELP));
      default:
        return ack(ephemeral(`Unknown command \`${sub.slice(0, 30)}\`.\n${HELP}`));
    }
  });
}

/** The answer to a command that starts a run: where to follow it, or a link to the run already going. */
function started(reply: Reply) {
  if (reply.ok) return ephemeral(`${reply.text} Follow it in the thread below.`);
  return ephemeral(reply.run ? `${reply.text} ${threadLink(reply.run)}` : reply.text);
}

function ephemeral(text: string) {
  return { response_type: 'ephemeral' as const, text };
}

/** A link to a run's thread, built without a call to Slack. */
export function threadLink(run: Run): string {
  if (!run.channelId || !run.threadTs) return '';
  return `<https://slack.com/archives/${run.channelId}/p${run.threadTs.replace('.', '')}|Open its thread>`;
}
