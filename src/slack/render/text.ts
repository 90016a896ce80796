import type { KnownBlock } from '@slack/types';
import type { Run } from '../../domain/runs.ts';

/** The pieces every message is built from: sections within Slack's limits, context lines, dates. */

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** Slack's date formatting: every reader sees their own time zone. */
export function slackDate(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${new Date(ms).toISOString()}>`;
}

/** Slack takes 3,000 characters in a section's text; a little is kept for the mention and the icon. */
const SECTION_MAX = 2900;

export function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, SECTION_MAX) } };
}

/**
 * Text of many lines as as many sections as it needs, whole lines in each: Slack takes 3,000 characters a section,
 * and a card's last lines (its OVH calls) must not be the ones cut. Only a single line longer than that is shortened.
 */
export function sections(text: string): KnownBlock[] {
  const chunks: string[] = [];
  for (const line of text.split('\n')) {
    const last = chunks.at(-1);
    if (last !== undefined && last.length + 1 + line.length <= SECTION_MAX)
      chunks[chunks.length - 1] = `${last}\n${line}`;
    else chunks.push(line);
  }
  return chunks.map(section);
}

export function context(text: string): KnownBlock {
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

export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A link to a run's thread, built without a call to Slack. */
export function threadLink(run: Run): string {
  if (!run.channelId || !run.threadTs) return '';
  return `<https://slack.com/archives/${run.channelId}/p${run.threadTs.replace('.', '')}|Open its thread>`;
}
