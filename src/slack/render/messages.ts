import type { KnownBlock } from '@slack/types';
import { mention } from '../../domain/actors.ts';
import { type Notice, type RunSummary, zoneFileLine } from '../../domain/notices.ts';
import { type RunKind, type RunState, stateLabel } from '../../domain/runs.ts';
import { approvalCard, choiceCard } from './cards.ts';
import { scanBlocks } from './scan.ts';
import { context, type SlackMessage, section, sections, slackDate } from './text.ts';

/** What the bot posts in a run's thread: the parent message and the replies. */

export const KIND_LABELS: Record<RunKind, string> = {
  setup: 'OVH mail DKIM',
  rotate: 'DKIM key rotation',
  disable: 'DKIM off',
  vtex: 'VTEX / Amazon SES DKIM',
  batch: 'OVH batch order',
  scan: 'DKIM scan',
  group: 'DKIM setup of a group',
};

const STATE_EMOJI: Partial<Record<RunState, string>> = {
  done: ':white_check_mark:',
  failed: ':x:',
  stalled: ':warning:',
  needs_attention: ':warning:',
  cancelled: ':no_entry_sign:',
  rejected: ':no_entry_sign:',
  awaiting_approval: ':raised_hand:',
};

/** The run's parent message: posted once, edited in place at every state change. */
export function parentMessage(summary: RunSummary): SlackMessage {
  const state = summary.state as RunState;
  const label = stateLabel(state) ?? summary.state;
  const emoji = STATE_EMOJI[state] ?? ':hourglass_flowing_sand:';
  const label_ = KIND_LABELS[summary.kind] ?? summary.kind;
  const kind =
    summary.kind === 'setup' && summary.offer
      ? `OVH ${summary.offer} DKIM`
      : summary.offer
        ? `${label_} (${summary.offer})`
        : label_;
  const lines = [`${emoji} *${kind}* for *${summary.domain}* — ${label}`];
  const facts = [`Requested by ${mention(summary.requestedBy)}`, `run #${summary.runId}`];
  if (summary.where) facts.push(`on ${summary.where}`);
  if (summary.nextCheckAt && !['done', 'failed', 'cancelled', 'rejected'].includes(state)) {
    facts.push(`next check ${slackDate(summary.nextCheckAt)}`);
  }
  const blocks: KnownBlock[] = [section(lines.join('\n')), context(facts.join(' · '))];
  if (summary.detail && !['done', 'cancelled', 'rejected'].includes(state)) blocks.push(context(summary.detail));
  if (summary.lastError) blocks.push(section(`:warning: ${summary.lastError}`));
  if (summary.scan) blocks.push(...scanBlocks(summary.runId, summary.scan, section));
  return { text: `${kind} for ${summary.domain}: ${label}`, blocks };
}

/** A threaded reply. */
export function replyMessage(notice: Notice, requester: string): SlackMessage {
  switch (notice.type) {
    case 'reply': {
      const icon = { info: '', success: ':white_check_mark: ', warning: ':warning: ', error: ':x: ' }[
        notice.level ?? 'info'
      ];
      const text = `${notice.mention ? `<@${requester}> ` : ''}${icon}${notice.text}`;
      return { text, blocks: sections(text) };
    }
    case 'records': {
      const lines = notice.records.map((r) => zoneFileLine(r));
      const forms = notice.records.map((r) => `• name \`${r.relative}\`, type ${r.type}, target \`${r.target}\``);
      return {
        text: `${notice.text}\n${lines.join('\n')}`,
        blocks: [
          section(notice.text),
          section(`\`\`\`${lines.join('\n')}\`\`\``),
          context(`In a web form: \n${forms.join('\n')}`),
        ],
      };
    }
    case 'approval_request':
      return approvalCard(notice);
    case 'choice':
      return choiceCard(notice, requester);
    default:
      return { text: '', blocks: [] };
  }
}
