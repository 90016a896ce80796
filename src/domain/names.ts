import { isIP } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';

/** One normaliser for every entry point: lower case, trailing dot dropped, IDN to punycode, labels checked. */

export interface DomainName {
  /** The ASCII (punycode) form every API call uses. */
  ascii: string;
  /** The Unicode form shown to people. */
  unicode: string;
}

export type DomainResult = { ok: true; domain: DomainName } | { ok: false; error: string };

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_INPUT = 300;

export function parseDomain(input: unknown): DomainResult {
  if (typeof input !== 'string') return fail('a domain name is required, e.g. example.fr');
  if (input.length > MAX_INPUT) return fail('that is far too long for a domain name (253 characters at most)');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(input))
    return fail('a domain name cannot contain control characters or line breaks');
  const raw = input.trim();
  if (raw === '') return fail('a domain name is required, e.g. example.fr');
  if (/\s/.test(raw)) return fail('a domain name cannot contain spaces');
  if (/[<>"'`&|;$\\/(){}[\]*?!#%^=+,@:~]/.test(raw)) {
    return fail(`"${printable(raw)}" is not a domain name: only letters, digits, hyphens and dots are allowed`);
  }
  const withoutDot = (raw.endsWith('.') ? raw.slice(0, -1) : raw).toLowerCase();
  // Plain ASCII without an IDN label is its own ASCII form: the (slow) IDN conversion is for the rest.
  const ascii = PLAIN.test(withoutDot) ? withoutDot : domainToASCII(withoutDot);
  if (ascii === '') return fail(`"${printable(raw)}" is not a valid domain name`);
  const problem = labelProblem(ascii);
  if (problem) return fail(`"${printable(raw)}" is not a valid domain name: ${problem}`);
  return { ok: true, domain: domainFromAscii(ascii) };
}

const PLAIN = /^(?!.*(?:^|\.)xn--)[a-z0-9.-]+$/;

function labelProblem(ascii: string): string | undefined {
  if (ascii.length > 253) return 'longer than 253 characters';
  const labels = ascii.split('.');
  if (labels.length < 2) return 'it needs at least two labels, e.g. example.fr';
  for (const label of labels) {
    if (label === '') return 'it has an empty label (two dots in a row, or a leading dot)';
    if (label.length > 63) return `the label "${label.slice(0, 20)}…" is longer than 63 characters`;
    if (!LABEL.test(label)) return `the label "${label}" must be letters, digits or inner hyphens`;
  }
  if (/^\d+$/.test(labels.at(-1) ?? '')) return 'the top-level label cannot be all digits';
  return undefined;
}

/** "café.fr (xn--caf-dma.fr)" for IDNs, the plain name otherwise; the words for a run about the whole account. */
export function showDomain(domain: DomainName): string {
  const wide = accountWide(domain.ascii);
  if (wide) return wide;
  return domain.unicode === domain.ascii ? domain.ascii : `${domain.unicode} (${domain.ascii})`;
}

/** The domain of a run about the whole account (a scan): no domain of its own. */
export const WHOLE_ACCOUNT = '*';

/** The domain of the group of setups started from scan `scanRunId` (one group per scan). */
export function groupDomain(scanRunId: number): string {
  return `${WHOLE_ACCOUNT}:${scanRunId}`;
}

/** How an account-wide run's domain reads: the whole account (a scan), the domains of a scan (a group). */
function accountWide(domain: string): string | undefined {
  if (domain === WHOLE_ACCOUNT) return 'the whole account';
  const scan = /^\*:(\d+)$/.exec(domain)?.[1];
  return scan ? `the domains of scan #${scan}` : undefined;
}

export function domainFromAscii(ascii: string): DomainName {
  return { ascii, unicode: ascii.includes('xn--') ? domainToUnicode(ascii) : ascii };
}

/** Quotes user input back safely: control characters shown escaped, long input cut. */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
  const escaped = text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > 60 ? `${escaped.slice(0, 57)}…` : escaped;
}

/**
 * A sender address for `domain`: a plain local part and a domain that is `domain` or one of its subdomains.
 * The result is lower-cased, with the domain in punycode.
 */
export function parseSender(
  input: unknown,
  domain: DomainName,
): { ok: true; sender: string } | { ok: false; error: string } {
  if (typeof input !== 'string' || input.trim() === '') {
    return { ok: false, error: `a sender address is required, e.g. no-reply@${domain.unicode}` };
  }
  const raw = input.trim();
  const at = raw.lastIndexOf('@');
  const local = raw.slice(0, at);
  if (
    at <= 0 ||
    !/^[A-Za-z0-9!#$%&*+/=?^_{|}~.-]{1,64}$/.test(local) ||
    local.startsWith('.') ||
    local.endsWith('.') ||
    local.includes('..')
  ) {
    return { ok: false, error: `"${printable(raw)}" is not a sender address (name@${domain.unicode})` };
  }
  const host = parseDomain(raw.slice(at + 1));
  if (!host.ok) return { ok: false, error: `the sender's domain: ${host.error}` };
  const owned = host.domain.ascii === domain.ascii || host.domain.ascii.endsWith(`.${domain.ascii}`);
  if (!owned) {
    return {
      ok: false,
      error: `the sender ${printable(raw)} is not an address of ${domain.unicode} or of one of its subdomains`,
    };
  }
  return { ok: true, sender: `${local.toLowerCase()}@${host.domain.ascii}` };
}

function fail(error: string): DomainResult {
  return { ok: false, error };
}

/** The name relative to a zone: "sel._domainkey" for "sel._domainkey.x.fr" in zone "x.fr"; "" for the apex. */
export function relativeName(fqdn: string, zone: string): string | undefined {
  const name = stripDot(fqdn).toLowerCase();
  const z = stripDot(zone).toLowerCase();
  if (name === z) return '';
  return name.endsWith(`.${z}`) ? name.slice(0, -(z.length + 1)) : undefined;
}

export function stripDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

export function absolute(name: string): string {
  return name.endsWith('.') ? name : `${name}.`;
}

/** This machine: where plain HTTP or SMTP without TLS is acceptable (tests, a local relay). */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare.endsWith('.localhost')) return true;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

/** A run's (or a watch's) domain as people read it: Unicode, with the punycode beside an IDN. */
export function showRun(run: { domain: string }): string {
  return showDomain(domainFromAscii(run.domain));
}
