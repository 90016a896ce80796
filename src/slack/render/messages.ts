import type { KnownBlock } from '@slack/types';
import { type Notice, type RunSummary, zoneFileLine } from '../../domain/notices.ts';
import { isFinished, type RunKind, type RunState, stateLabel } from '../../domain/runs.ts';
import { person, type Text, when, words } from '../../domain/text.ts';
import { approvalCard, choiceCard } from './cards.ts';
import { scanBlocks } from './scan.ts';
import { context, fallback, fit, type SlackMessage, section, sections } from './text.ts';

/** What the bot posts in a run's thread: the parent message and the replies. */

export const KIND_LABELS: Record<RunKind, string> = {
  setup: 'OVH mail DKIM',
  rotate: 'DKIM key rotation',
  disable: 'DKIM off',
  vtex: 'VTEX / Amazon SES DKIM',
  batch: 'OVH batch order',
  scan: 'DKIM scan',
  group: 'DKIM setup of a group',
  dmarc: 'SPF and DMARC',
};

const STATE_EMOJI: Partial<Record<RunState, string>> = {
  done: ':white_check_mark:',
  failed: ':x:',
  stalled: ':warning:',
  needs_attention: ':warning:',
  cancelled: ':no_entry_sign:',
  rejected: ':no_entry_sign:',
  expired: ':hourglass:',
  awaiting_approval: ':raised_hand:',
};

/** The run's parent message: posted once, edited in place at every state change. */
export function parentMessage(summary: RunSummary): SlackMessage {
  const state = summary.state as RunState;
  const label = stateLabel(state);
  const emoji = STATE_EMOJI[state] ?? ':hourglass_flowing_sand:';
  const kind = kindLabel(summary);
  const facts: Text[] = [words`Requested by ${person(summary.requestedBy)}`, `run #${summary.runId}`];
  if (summary.where) facts.push(`on ${summary.where}`);
  if (summary.nextCheckAt && !isFinished(state)) {
    facts.push(
      state === 'awaiting_approval'
        ? words`the card expires ${when(summary.nextCheckAt)}`
        : words`next check ${when(summary.nextCheckAt)}`,
    );
  }
  const blocks: KnownBlock[] = [
    section(`${emoji} *${kind}* for *${summary.domain}* — ${label}`),
    ...context(join(facts)),
  ];
  if (summary.detail && !['done', 'cancelled', 'rejected'].includes(state)) blocks.push(...context(summary.detail));
  if (summary.lastError) blocks.push(section(`:warning: ${summary.lastError}`));
  if (summary.scan) blocks.push(...scanBlocks(summary.runId, summary.scan));
  return { text: fallback(`${kind} for ${summary.domain}: ${label}`), blocks: fit(blocks) };
}

function kindLabel(summary: RunSummary): string {
  const label = KIND_LABELS[summary.kind];
  if (summary.kind === 'setup' && summary.offer) return `OVH ${summary.offer} DKIM`;
  return summary.offer ? `${label} (${summary.offer})` : label;
}

function join(texts: Text[]): Text {
  return texts.reduce<Text>((all, text, i) => (i === 0 ? text : words`${all} · ${text}`), '');
}

const ICONS = { info: '', success: ':white_check_mark: ', warning: ':warning: ', error: ':x: ' } as const;

/** A threaded reply. */
export function replyMessage(notice: Notice, requester: string): SlackMessage {
  switch (notice.type) {
    case 'reply': {
      const text = words`${notice.mention ? words`${person(requester)} ` : ''}${ICONS[notice.level ?? 'info']}${notice.text}`;
      return { text: fallback(text), blocks: fit(sections(text)) };
    }
    case 'records': {
      const lines = notice.records.map((r) => zoneFileLine(r)).join('\n');
      const forms = notice.records.map((r) => `• name \`${r.relative}\`, type ${r.type}, target \`${r.target}\``);
      return {
        text: fallback(words`${notice.text}\n${lines}`),
        blocks: fit([
          ...sections(notice.text),
          section(`\`\`\`${lines}\`\`\``),
          ...context(`In a web form:\n${forms.join('\n')}`),
        ]),
      };
    }
    case 'approval_request':
      return approvalCard(notice, requester);
    case 'choice':
      return choiceCard(notice, requester);
    default:
      return { text: '', blocks: [] };
  }
}
