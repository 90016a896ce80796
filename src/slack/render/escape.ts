import { actorParts } from '../../domain/actors.ts';
import { isToken, type Text, type Token, utcMinute } from '../../domain/text.ts';

/**
 * The one escape boundary (DESIGN §3, §5.1): every word the bot shows in Slack passes here. Words — the bot's and
 * the ones it did not write (provider errors, DNS answers, user input, names) alike — have `&`, `<` and `>` escaped,
 * inside code spans and preformatted text too, so that none can mention anyone, ping a channel or make a link; the
 * bot's `*bold*` and `` `code` `` survive, since escaping does not touch them. Only tokens (a person, a user group, a
 * date), which only the bot's code makes, become Slack markup.
 */

export function escapeMrkdwn(words: string): string {
  return words.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A text as Slack mrkdwn: words escaped, tokens as markup. */
export function mrkdwn(text: Text): string {
  if (typeof text === 'string') return escapeMrkdwn(text);
  return text.map((part) => (isToken(part) ? markup(part) : escapeMrkdwn(part))).join('');
}

function markup(token: Token): string {
  if ('date' in token) return slackDate(token.date);
  if ('link' in token) return `<${token.link}|${escapeMrkdwn(token.label).replace(/\|/g, '/')}>`;
  if ('group' in token) return `<!subteam^${token.group}>`;
  const { user, cli } = actorParts(token.user);
  const via = cli ? ` (through the CLI, by ${escapeMrkdwn(cli)})` : '';
  return user ? `<@${user}>${via}` : `\`${escapeMrkdwn(cli ?? token.user)}\``;
}

/** Slack's date formatting: every reader sees their own time zone; "2026-12-08 14:25 UTC" where it cannot. */
export function slackDate(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${utcMinute(ms)}>`;
}

/**
 * Rendered mrkdwn cut to `max` characters: never inside an escape (`&amp;`) or a token (`<@U…>`), which would show
 * broken or, worse, open markup the bot did not write.
 */
export function cutMrkdwn(rendered: string, max: number): string {
  if (rendered.length <= max) return rendered;
  let cut = rendered.slice(0, max - 1);
  if (cut.lastIndexOf('<') > cut.lastIndexOf('>')) cut = cut.slice(0, cut.lastIndexOf('<'));
  if (cut.lastIndexOf('&') > cut.lastIndexOf(';')) cut = cut.slice(0, cut.lastIndexOf('&'));
  return `${cut}…`;
}
