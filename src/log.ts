/** Structured logs (one JSON object per line on stderr) with every known secret value masked. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Masks what is secret in `text`; `json` when the text is serialised JSON (masking must keep it JSON). */
export type Redactor = (text: string, form?: 'text' | 'json') => string;

const MASK = '[redacted]';
/**
 * What is private without being configured: a transfer code, as typed (`batch transfer x.fr <code>`, in a slash
 * command that Slack's libraries log at debug level) or as a field (`authinfo`). The code as written ends at the next
 * space (quotes and backslashes are part of it); inside JSON, at the end of its string.
 */
const CODE = { text: String.raw`\S+`, json: String.raw`(?:\\.|[^\s"\\])+` };

function privatePatterns(code: string): [RegExp, string][] {
  return [
    [new RegExp(String.raw`(\bbatch\s+transfer\s+\S+\s+)${code}`, 'gi'), `$1${MASK}`],
    [/("authinfo"\s*:\s*")(?:[^"\\]|\\.)*"/gi, `$1${MASK}"`],
    [new RegExp(String.raw`(option\.domain\.authinfo:[ \t]*)${code}`, 'gi'), `$1${MASK}`],
  ];
}

const PRIVATE_PATTERNS = { text: privatePatterns(CODE.text), json: privatePatterns(CODE.json) };

/**
 * Masks every configured secret (as written, and as JSON would escape it: a secret with `"` or `\` changes once
 * serialised) and the private patterns above.
 */
export function makeRedactor(secrets: string[]): Redactor {
  const forms = secrets.filter((s) => s.length >= 4).flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]);
  const sorted = [...new Set(forms)].sort((a, b) => b.length - a.length);
  return (text, form = 'text') =>
    PRIVATE_PATTERNS[form].reduce(
      (out, [pattern, replacement]) => out.replace(pattern, replacement),
      sorted.reduce((out, secret) => out.split(secret).join(MASK), text),
    );
}

export function createLogger(options: {
  level: LogLevel;
  redact: Redactor;
  write?: (line: string) => void;
  now?: () => number;
}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? Date.now;
  // Masked before serialising (every string, at any depth), and the line once more after: nothing slips through.
  const masked = (value: unknown, seen = new WeakSet<object>()): unknown => {
    if (typeof value === 'string') return options.redact(value);
    if (value instanceof Error) return { name: value.name, message: options.redact(value.message) };
    if (!value || typeof value !== 'object') return value;
    if (seen.has(value)) return '[circular]';
    seen.add(value);
    if (Array.isArray(value)) return value.map((inner) => masked(inner, seen));
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, masked(inner, seen)]));
  };
  const log = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[options.level]) return;
    const entry = { at: new Date(now()).toISOString(), level, msg: options.redact(msg), ...(masked(fields) as object) };
    write(options.redact(JSON.stringify(entry), 'json'));
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
