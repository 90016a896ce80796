/** TXT records as zone files and OVH's zone API write them: quoted strings of at most 255 characters. */

/** A TXT text as a zone file writes it: quoted, in strings of at most 255 characters, quotes and backslashes escaped. */
export function quotedTxt(text: string): string {
  const parts: string[] = [];
  for (let at = 0; at < text.length || parts.length === 0; at += 255) parts.push(text.slice(at, at + 255));
  return parts.map((part) => `"${part.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(' ');
}

/**
 * The text of a TXT target as OVH returns it: `"a" "b"` is `ab` (strings joined with nothing between, as DNS
 * resolvers join them), escapes undone; a target without quotes is the text itself.
 */
export function txtText(target: string): string {
  const trimmed = target.trim();
  if (!trimmed.startsWith('"')) return trimmed;
  let text = '';
  for (const match of trimmed.matchAll(/"((?:[^"\\]|\\.)*)"/g)) text += (match[1] ?? '').replace(/\\(.)/g, '$1');
  return text;
}
