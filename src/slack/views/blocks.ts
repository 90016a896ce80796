import type { KnownBlock } from '@slack/types';
import { mention } from '../../domain/actors.ts';
import { type Notice, type RunSummary, zoneFileLine } from '../../domain/notices.ts';
import { type Run, type RunState, STATE_LABELS } from '../../domain/runs.ts';
import { countsLine, type ScanSummary } from '../../domain/scan.ts';
import type { Watch } from '../../store/watches.ts';
import { describeApprovers } from '../../workflows/approvers.ts';
import { placeOf } from '../../workflows/describe.ts';
import { showRun } from '../../workflows/outcomes.ts';
import { scanBlocks } from './scan.ts';

/** Block Kit, built by pure functions: what the bot shows in Slack. */

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

export const APPROVE_ACTION = 'dkim_approve';
export const REJECT_ACTION = 'dkim_reject';
export const CHOOSE_ACTION = 'dkim_choose';

const KIND_LABELS: Record<string, string> = {
  exchange: 'OVH mail DKIM',
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

/** Slack's date formatting: every reader sees their own time zone. */
export function slackDate(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${new Date(ms).toISOString()}>`;
}

/** Slack takes 3,000 characters in a section's text; a little is kept for the mention and the icon. */
const SECTION_MAX = 2900;

function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SECTION_MAX) } };
}

/**
 * Text of many lines as as many sections as it needs, whole lines in each: Slack takes 3,000 characters a section,
 * and a card's last lines (its OVH calls) must not be the ones cut. Only a single line longer than that is shortened.
 */
function sections(text: string): KnownBlock[] {
  const chunks: string[] = [];
  for (const line of text.split('\n')) {
    const last = chunks.at(-1);
    if (last !== undefined && last.length + 1 + line.length <= SECTION_MAX)
      chunks[chunks.length - 1] = `${last}\n${line}`;
    else chunks.push(line);
  }
  return chunks.map(section);
}

function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, 2900) }] };
}

/**
 * Text shown exactly as it is (an order's preview): a rich-text preformatted block, which Slack does not parse, so
 * no field can ping (`<!channel>`), link (`<url|label>`) or close the block (```) whatever it holds.
 */
export function preformatted(text: string): KnownBlock {
  return {
    type: 'rich_text',
    elements: [{ type: 'rich_text_preformatted', elements: [{ type: 'text', text: truncate(text, 3500) }] }],
  };
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The run's parent message: posted once, edited in place at every state change. */
export function parentMessage(summary: RunSummary): SlackMessage {
  const state = summary.state as RunState;
  const label = STATE_LABELS[state] ?? summary.state;
  const emoji = STATE_EMOJI[state] ?? ':hourglass_flowing_sand:';
  const label_ = KIND_LABELS[summary.kind] ?? summary.kind;
  const kind =
    summary.kind === 'exchange' && summary.offer
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
  const blocks: KnownBlock[] = [section(lines[0]!), context(facts.join(' · '))];
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

/** The App Home tab: what the watch found broken, every active run, then the latest finished ones. */
export function homeView(
  active: Run[],
  finished: Run[],
  now: number,
  { broken = [], lastScan }: { broken?: Watch[]; lastScan?: Run } = {},
): { type: 'home'; blocks: KnownBlock[] } {
  const line = (run: Run) => {
    const parts = [
      `*${showRun(run)}* · ${placeOf(run).where ?? KIND_LABELS[run.kind] ?? run.kind} · ${STATE_LABELS[run.state]}`,
      `age ${age(now - run.createdAt)}`,
    ];
    if (run.nextCheckAt) parts.push(`next check ${slackDate(run.nextCheckAt)}`);
    if (run.lastError) parts.push(`last error: ${run.lastError}`);
    return parts.join(' · ');
  };
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: 'DKIM runs' } },
    ...(broken.length
      ? [
          section(`:warning: *Watched domains with DKIM broken in DNS* (${broken.length})`),
          ...broken.slice(0, 20).map((w) => section(`*${w.domain}* · \`${w.selector}\` · ${w.observation ?? ''}`)),
          { type: 'divider' } as KnownBlock,
        ]
      : []),
    ...(lastScan ? [lastScanBlock(lastScan), { type: 'divider' } as KnownBlock] : []),
    section(`*Active runs* (${active.length})`),
    ...(active.length ? active.slice(0, 40).map((r) => section(line(r))) : [context('No active runs.')]),
    { type: 'divider' },
    section('*Latest finished runs*'),
    ...(finished.length ? finished.slice(0, 5).map((r) => context(line(r))) : [context('None yet.')]),
  ];
  return { type: 'home', blocks };
}

function age(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} d`;
}

/** The last scan on App Home: its counts once done, how far it is while it works. */
function lastScanBlock(scan: Run): KnownBlock {
  const summary = scan.facts.summary as ScanSummary | undefined;
  const when = slackDate(scan.updatedAt);
  const head = `*Last scan* (run #${scan.id}, ${STATE_LABELS[scan.state].toLowerCase()}, ${when})`;
  if (summary) {
    const setup = summary.counts.needsSetup
      ? `\n${summary.counts.needsSetup} need a setup: its thread has the buttons.`
      : '';
    return section(`${head}\n${countsLine(summary.counts)}${setup}`);
  }
  const detail = typeof scan.facts.lastObservation === 'string' ? `\n${scan.facts.lastObservation}` : '';
  return section(`${head}${detail}`);
}
