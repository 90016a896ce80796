import type { KnownBlock } from '@slack/types';
import type { Notice } from '../../domain/notices.ts';
import { joinText, person, type Text, userGroup, when, words } from '../../domain/text.ts';
import {
  BUTTON_MAX,
  context,
  fallback,
  fit,
  plain,
  preformatted,
  type SlackMessage,
  section,
  sections,
} from './text.ts';

/**
 * Cards with buttons: an approval (Approve, Reject), a question (one button per answer), and how each reads once
 * answered. A card reads in five seconds: its first line says what will happen, to which domain, for whom; the
 * details (selector, record, the exact calls) follow in smaller type.
 */

export const APPROVE_ACTION = 'dkim_approve';
export const REJECT_ACTION = 'dkim_reject';
export const CHOOSE_ACTION = 'dkim_choose';

type ApprovalNotice = Extract<Notice, { type: 'approval_request' }>;

/**
 * The approval card: what will happen, to which domain, for whom (the requester named: the card is their news, and a
 * new message notifies them); then the details, who may approve and until when, Approve and Reject.
 */
export function approvalCard(notice: ApprovalNotice, requester: string): SlackMessage {
  const value = String(notice.approvalId);
  const head = words`:raised_hand: *${notice.title}* — for ${person(requester)}`;
  const blocks: KnownBlock[] = [
    ...sections(head),
    ...context(joinText(notice.lines)),
    ...(notice.preview ? [preformatted(notice.preview)] : []),
    ...context(words`Who may approve: ${approversOf(notice, requester)} · the card expires ${when(notice.expiresAt)}`),
    {
      type: 'actions',
      block_id: `approval-${value}`,
      elements: [
        {
          type: 'button',
          action_id: APPROVE_ACTION,
          text: plain('Approve', BUTTON_MAX),
          style: 'primary',
          value,
          confirm: {
            title: plain('Approve?', 100),
            text: { type: 'plain_text', text: plain(fallback(notice.title), 290).text },
            confirm: plain('Approve', 30),
            deny: plain('Cancel', 30),
          },
        },
        { type: 'button', action_id: REJECT_ACTION, text: plain('Reject', BUTTON_MAX), style: 'danger', value },
      ],
    },
  ];
  return { text: fallback(notice.title), blocks: fit(blocks) };
}

/**
 * Who may approve, as the card says it: the requester is never named when self-approval is off (they may not); a
 * user group is named as such (the click checks its members).
 */
function approversOf(notice: ApprovalNotice, requester: string): Text {
  const ids = notice.approvers.filter((id) => notice.selfApproval || id !== requester);
  if (ids.length === 0) return notice.approvers.length === 0 ? 'nobody (no approvers are configured)' : 'nobody else';
  return joinText(
    ids.map((id) => words`${id.startsWith('S') ? userGroup(id) : person(id)}`),
    ', ',
  );
}

/** A question with one button per answer. A button's value is the question's key and the answer: `key|value`. */
export function choiceCard(notice: Extract<Notice, { type: 'choice' }>, requester: string): SlackMessage {
  const head = words`${notice.mention ? words`${person(requester)} ` : ''}:question: *${notice.title}*`;
  const blocks: KnownBlock[] = [
    ...sections(joinText([head, ...notice.lines])),
    {
      type: 'actions',
      block_id: `choice-${notice.key}`.slice(0, 255),
      elements: notice.options.slice(0, 25).map((option, i) => ({
        type: 'button',
        action_id: `${CHOOSE_ACTION}_${i}`,
        text: plain(option.label, BUTTON_MAX),
        value: `${notice.key}|${option.value}`.slice(0, 2000),
      })),
    },
  ];
  return { text: fallback(notice.title), blocks: fit(blocks) };
}

export function answeredChoice(
  card: Extract<Notice, { type: 'choice' }>,
  answer: Extract<Notice, { type: 'choice_made' }>,
): SlackMessage {
  const outcome = words`:white_check_mark: ${person(answer.by)} chose \`${answer.chosen}\` at ${when(answer.at)}`;
  return {
    text: fallback(words`${card.title} ${outcome}`),
    blocks: fit([...sections(joinText([words`*${card.title}*`, ...card.lines])), section(outcome)]),
  };
}

/** The card once decided: the same facts, the buttons replaced by who decided and when. */
export function decidedCard(
  card: ApprovalNotice,
  decision: Extract<Notice, { type: 'approval_decided' }>,
): SlackMessage {
  const by = person(decision.by ?? '?');
  const outcome =
    decision.decision === 'approved'
      ? words`:white_check_mark: Approved by ${by} at ${when(decision.at)}`
      : decision.decision === 'rejected'
        ? words`:no_entry_sign: Rejected by ${by} at ${when(decision.at)}`
        : ':hourglass: Expired. `/dkim retry` posts a fresh card.';
  return {
    text: fallback(words`${card.title} ${outcome}`),
    blocks: fit([
      section(words`*${card.title}*`),
      ...context(joinText(card.lines)),
      ...(card.preview ? [preformatted(card.preview)] : []),
      section(outcome),
    ]),
  };
}
