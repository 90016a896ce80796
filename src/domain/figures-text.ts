import { printable } from './names.ts';

/** Figures as the bot says them in /dkim report, on App Home, on cards and in threads: counts, shares, names. */

/** Reporters named; the rest counted. */
const MAX_REPORTERS = 10;

/** "97.9% (1,234 of 1,260)". */
export function share(part: number, whole: number): string {
  return `${percent(part, whole)} (${count(part)} of ${count(whole)})`;
}

/**
 * A share in percent, one decimal, rounded down: 99.96% of the mail is not "100%", which only all of it is. None of
 * nothing is "—".
 */
export function percent(part: number, whole: number): string {
  if (whole <= 0) return '—';
  if (part >= whole) return '100%';
  if (part <= 0) return '0%';
  return `${(Math.floor((part / whole) * 1000) / 10).toFixed(1)}%`;
}

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

/** `n` and the word, in the plural unless one: "1 message", "1,204 messages". */
export function counted(n: number, word: string): string {
  return `${count(n)} ${plural(n, word)}`;
}

export function days(n: number): string {
  return counted(n, 'day');
}

export function messages(n: number): string {
  return counted(n, 'message');
}

/** A period as it follows "the last": "day", "30 days". */
export function lastDays(n: number): string {
  return n === 1 ? 'day' : days(n);
}

/** Reporters' names as they wrote them (control characters shown, long ones cut), the first ten. */
export function names(list: string[]): string {
  if (list.length === 0) return 'nobody named';
  const shown = list.slice(0, MAX_REPORTERS).map(printable).join(', ');
  return list.length > MAX_REPORTERS ? `${shown} and ${list.length - MAX_REPORTERS} more` : shown;
}
