import { isLoopback } from '../domain/names.ts';

/** DMARC_IMAP_URL, read once for the config's check and for the mailbox itself: one rule, one message. */

export const DEFAULT_DONE_FOLDER = 'dmarc-done';

export interface ImapTarget {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  password: string;
  folder: string;
}

/** `imaps://user:pass@host[:port]/INBOX`; `imap://` only to a loopback address. Throws without the password. */
export function parseImapUrl(url: string): ImapTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('the IMAP URL is not a URL');
  }
  const secure = parsed.protocol === 'imaps:';
  if (!secure && parsed.protocol !== 'imap:') throw new Error('the IMAP URL must start with imaps:// (or imap://)');
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!secure && !isLoopback(host))
    throw new Error(`imap:// (no TLS) is allowed to a loopback address only, not ${host}`);
  if (!parsed.username || !parsed.password) throw new Error('the IMAP URL needs a user and a password');
  return {
    host,
    port: parsed.port ? Number(parsed.port) : secure ? 993 : 143,
    secure,
    user: decoded(parsed.username, 'user'),
    password: decoded(parsed.password, 'password'),
    folder: decoded(parsed.pathname.replace(/^\//, ''), 'folder') || 'INBOX',
  };
}

/** A URL-encoded part; its name (never its value) in the error. */
function decoded(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new Error(`the IMAP URL's ${what} is not URL-encoded properly`);
  }
}
