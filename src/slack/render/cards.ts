import type { KnownBlock } from '@slack/types';
import { mention } from '../../domain/actors.ts';
import type { Notice } from '../../domain/notices.ts';
import { describeApprovers } from '../../engine/access.ts';
import { context, preformatted, type SlackMessage, section, sections, slackDate, truncate } from './text.ts';

/** Cards with buttons: an approval (Approve, Reject), a question (one button per answer), and how each reads once answered. */

export const APPROVE_ACTION = 'dkim_approve';
export const REJECT_ACTION = 'dkim_reject';
export const CHOOSE_ACTION = 'dkim_choose';

/** The approval card: what will happen, who may approve, Approve (with a confirm dialog) and Reject. */
export function approvalCard(notice: Extract<Notice, { type: 'approval_request' }>): SlackMessage {
  const value = String(notice.approvalId);
  const blocks: KnownBlock[] = [
    ...sections(`:raised_hand: *${notice.title}*\n${notice.lines.join('\n')}`),
    ...(notice.preview ? [preformatted(notice.preview)] : []),
    context(
      `Who may approve: ${describeApprovers(notice.approvers)} · the card expires ${slackDate(notice.expiresAt)}`,
    ),
    {
      type: 'actions',
      block_id: `approval-${value}`,
      elements: [
        {
          type: 'button',
          action_id: APPROVE_ACTION,
          text: { type: 'plain_text', text: 'Approve' },
          style: 'primary',
          value,
          confirm: {
            title: { type: 'plain_text', text: 'Approve?' },
            text: { type: 'mrkdwn', text: truncate(notice.title, 290) },
            confirm: { type: 'plain_text', text: 'Approve' },
            deny: { type: 'plain_text', text: 'Cancel' },
          },
        },
        {
          type: 'button',
          action_id: REJECT_ACTION,
          text: { type: 'plain_text', text: 'Reject' },
          style: 'danger',
          value,
        },
      ],
    },
  ];
  return { text: notice.title, blocks };
}

/** A question with one button per answer. A button's value is the question's key and the answer: `key|value`. */
export function choiceCard(notice: Extract<Notice, { type: 'choice' }>, requester: string): SlackMessage {
  const text = `${notice.mention ? `<@${requester}> ` : ''}:question: *${notice.title}*`;
  const blocks: KnownBlock[] = [
    ...sections(`${text}\n${notice.lines.join('\n')}`),
    {
      type: 'actions',
      block_id: `choice-${notice.key}`.slice(0, 255),
      elements: notice.options.slice(0, 25).map((option, i) => ({
        type: 'button',
        action_id: `${CHOOSE_ACTION}_${i}`,
        text: { type: 'plain_text', text: truncate(option.label, 75) },
        value: `${notice.key}|${option.value}`.slice(0, 2000),
      })),
    },
  ];
  return { text: `${notice.title}`, blocks };
}

export function answeredChoice(
  card: Extract<Notice, { type: 'choice' }>,
  answer: Extract<Notice, { type: 'choice_made' }>,
): SlackMessage {
  const outcome = `:white_check_mark: ${mention(answer.by)} chose \`${answer.chosen}\` at ${slackDate(answer.at)}`;
  return {
    text: `${card.title} ${outcome}`,
    blocks: [...sections(`*${card.title}*\n${card.lines.join('\n')}`), section(outcome)],
  };
}

/** The card once decided: the same facts, the buttons replaced by who decided and when. */
export function decidedCard(
  card: Extract<Notice, { type: 'approval_request' }>,
  decision: Extract<Notice, { type: 'approval_decided' }>,
): SlackMessage {
  const outcome =
    decision.decision === 'approved'
      ? `:white_check_mark: Approved by ${mention(decision.by ?? '?')} at ${slackDate(decision.at)}`
      : decision.decision === 'rejected'
        ? `:no_entry_sign: Rejected by ${mention(decision.by ?? '?')} at ${slackDate(decision.at)}`
        : ':hourglass: Expired. `/dkim retry` posts a fresh card.';
  return {
    text: `${card.title} ${outcome}`,
    blocks: [
      ...sections(`*${card.title}*\n${card.lines.join('\n')}`),
      ...(card.preview ? [preformatted(card.preview)] : []),
      section(outcome),
    ],
  };
}
