import { mention } from './actors.ts';

/**
 * What the bot says, for any face. Words are plain strings, shown as they are: whatever they hold (a provider's
 * message, a DNS answer, a name someone typed), a face never reads them as markup beyond the bot's `*bold*` and
 * `` `code` `` (Slack's renderer escapes them: slack/render/escape.ts). What must become markup — a person named, a
 * group, a moment shown in each reader's time zone — is a token, which only the bot's code can make.
 */

export type Token = { user: string } | { group: string } | { date: number } | { link: string; label: string };
export type Part = string | Token;
/** Words alone, or words with tokens among them. */
export type Text = string | readonly Part[];

/** A person the bot names: a Slack user id, or the CLI's `cli:<os user> [as <id>]`. */
export function person(actor: string): Token {
  return { user: actor };
}

/** A Slack user group (`S…`). */
export function userGroup(id: string): Token {
  return { group: id };
}

/** A moment, shown in each reader's time zone where the face can. */
export function when(ms: number): Token {
  return { date: ms };
}

/** A link the bot makes (to a run's thread), its label in words. */
export function link(url: string, label: string): Token {
  return { link: url, label };
}

export function isToken(part: unknown): part is Token {
  return (
    typeof part === 'object' && part !== null && ('user' in part || 'group' in part || 'date' in part || 'link' in part)
  );
}

/** The bot's words with tokens among them: words`approved by ${person(id)}`. Any other value is words. */
export function words(strings: TemplateStringsArray, ...values: (string | number | Token | Text)[]): Text {
  const parts: Part[] = [];
  const add = (part: Part) => {
    const last = parts.at(-1);
    if (typeof part === 'string' && typeof last === 'string') parts[parts.length - 1] = last + part;
    else if (part !== '') parts.push(part);
  };
  strings.forEach((literal, i) => {
    add(literal);
    if (i >= values.length) return;
    const value = values[i];
    if (isToken(value)) add(value);
    else if (Array.isArray(value)) for (const part of value as Part[]) add(part);
    else add(String(value));
  });
  return parts.length === 1 && typeof parts[0] === 'string' ? parts[0] : parts;
}

/** Texts one after the other, `separator` between them. */
export function joinText(texts: readonly Text[], separator = '\n'): Text {
  const parts: Part[] = [];
  texts.forEach((text, i) => {
    if (i > 0) parts.push(separator);
    if (typeof text === 'string') parts.push(text);
    else parts.push(...text);
  });
  return words`${parts}`;
}

/** The text as plain words (the CLI, logs, tests): a person as `<@U…>`, a moment in UTC. */
export function plainText(text: Text): string {
  if (typeof text === 'string') return text;
  return text.map((part) => (typeof part === 'string' ? part : plainToken(part))).join('');
}

function plainToken(token: Token): string {
  if ('user' in token) return mention(token.user);
  if ('group' in token) return `<!subteam^${token.group}>`;
  if ('link' in token) return `${token.label} (${token.link})`;
  return utcMinute(token.date);
}

/** The text's lines, each a text: tokens never span a line. */
export function textLines(text: Text): Text[] {
  if (typeof text === 'string') return text.split('\n');
  const lines: Part[][] = [[]];
  for (const part of text) {
    if (typeof part !== 'string') {
      lines[lines.length - 1]?.push(part);
      continue;
    }
    part.split('\n').forEach((piece, i) => {
      if (i > 0) lines.push([]);
      if (piece !== '') lines[lines.length - 1]?.push(piece);
    });
  }
  return lines.map((line) => words`${line}`);
}

/** "2026-12-08 14:25 UTC": what a face without time zones shows, and Slack's fallback for a date. */
export function utcMinute(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
