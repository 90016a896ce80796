import type { KnownBlock } from '@slack/types';
import type { Run } from '../../domain/runs.ts';
import { link, type Text, type Token, textLines } from '../../domain/text.ts';
import { cutMrkdwn, mrkdwn } from './escape.ts';

/**
 * The pieces every message is built from. Each takes a Text and renders it through the one escape boundary
 * (escape.ts): no builder here takes markup, so none can let a word become a mention, a ping or a link. Within
 * Slack's limits: 3,000 characters a section, 50 blocks a message, 75 characters a button.
 */

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** Slack takes 3,000 characters in a section's text; a little is kept for what a caller puts before it. */
export const SECTION_MAX = 2900;
export const MAX_BLOCKS = 50;
export const BUTTON_MAX = 75;

export function section(text: Text): KnownBlock {
  return { type: 'section', text: words(cutMrkdwn(mrkdwn(text), SECTION_MAX)) };
}

/**
 * Text of many lines as as many sections as it needs, whole lines in each: Slack takes 3,000 characters a section,
 * and a card's last lines must not be the ones cut. Only a single line longer than that is shortened.
 */
export function sections(text: Text): KnownBlock[] {
  return chunks(text).map((chunk) => ({ type: 'section', text: words(chunk) }) as KnownBlock);
}

/** Smaller, grey text under what matters: the details a person reads second. */
export function context(text: Text): KnownBlock[] {
  return chunks(text).map((chunk) => ({ type: 'context', elements: [words(chunk)] }) as KnownBlock);
}

/**
 * Rendered mrkdwn as a text object marked `verbatim`: Slack then makes no link of a bare URL or domain (a reporter
 * named `https://evil.example`) and no mention of a bare `@here` or `#channel`. Escaping (escape.ts) keeps `<…>` markup
 * out; the bot's `*bold*`, `` `code` `` and its tokens still work.
 */
function words(rendered: string) {
  return { type: 'mrkdwn' as const, text: rendered, verbatim: true };
}

function chunks(text: Text): string[] {
  const out: string[] = [];
  for (const line of textLines(text).map((l) => cutMrkdwn(mrkdwn(l), SECTION_MAX))) {
    const last = out.at(-1);
    if (last !== undefined && last.length + 1 + line.length <= SECTION_MAX) out[out.length - 1] = `${last}\n${line}`;
    else out.push(line);
  }
  return out;
}

/** Plain text (a button, a header, a dialog's title): Slack shows it as it is, cut to `max`. */
export function plain(text: string, max: number): { type: 'plain_text'; text: string } {
  return { type: 'plain_text', text: truncate(text, max) };
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

/** The fallback text of a notification (no markup is read there by Slack's clients, but it is escaped all the same). */
export function fallback(text: Text): string {
  return cutMrkdwn(mrkdwn(text), 3000);
}

/** A link to a run's thread, built without a call to Slack. */
export function threadLink(run: Run): Token | '' {
  if (!run.channelId || !run.threadTs) return '';
  return link(`https://slack.com/archives/${run.channelId}/p${run.threadTs.replace('.', '')}`, 'Open its thread');
}

/**
 * At most 50 blocks, as Slack takes: what does not fit is said in one line, and the buttons at the end are kept. The
 * builders make fewer than that; this is the renderer's guarantee, whatever a message holds.
 */
export function fit(blocks: KnownBlock[]): KnownBlock[] {
  if (blocks.length <= MAX_BLOCKS) return blocks;
  const last = blocks.at(-1);
  const tail = last?.type === 'actions' ? [last] : [];
  const kept = blocks.slice(0, MAX_BLOCKS - 1 - tail.length);
  const left = blocks.length - kept.length - tail.length;
  return [...kept, ...context(`…and ${left} more not shown here.`), ...tail];
}
