import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';

/** DMARC aggregate reports as receivers send them, for tests: XML of both schemas, gzip, zip, bombs, whole mails. */

export const HOSTILE_ORG = '<!channel> <https://evil.example|x> &amp;';

export interface DkimSpec {
  domain: string;
  selector?: string;
  result: string;
}

export interface RecordSpec {
  sourceIp: string;
  count: number;
  disposition?: string;
  dkim: 'pass' | 'fail';
  spf: 'pass' | 'fail';
  headerFrom?: string;
  envelopeFrom?: string;
  dkimResults?: DkimSpec[];
  spfResults?: { domain: string; scope?: string; result: string }[];
}

export interface ReportSpec {
  /** RFC 7489 (no namespace) or DMARCbis (its namespace, prefixed, with `testing` and `np`). */
  flavour?: 'rfc7489' | 'dmarcbis';
  orgName?: string;
  email?: string;
  reportId?: string;
  /** Epoch seconds. */
  begin?: number;
  end?: number;
  domain?: string;
  p?: string;
  records?: RecordSpec[];
}

export const DAY_S = 86_400;
/** 2026-11-01T00:00:00Z */
export const REPORT_DAY = 1_793_491_200;

const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function element(name: string, content: string | undefined, prefix: string): string {
  if (content === undefined) return '';
  return `<${prefix}${name}>${content}</${prefix}${name}>`;
}

export function reportXml(spec: ReportSpec = {}): string {
  const bis = spec.flavour === 'dmarcbis';
  const ns = bis ? 'dmarc:' : '';
  const el = (name: string, content: string | undefined) => element(name, content, ns);
  const text = (name: string, value: string | number | undefined) =>
    value === undefined ? '' : el(name, xmlEscape(String(value)));
  const domain = spec.domain ?? 'example.fr';
  const begin = spec.begin ?? REPORT_DAY;
  const records = spec.records ?? [{ sourceIp: '192.0.2.1', count: 1, dkim: 'pass', spf: 'pass' }];
  const metadata = el(
    'report_metadata',
    text('org_name', spec.orgName ?? 'google.com') +
      text('email', spec.email ?? 'noreply-dmarc-support@google.com') +
      text('report_id', spec.reportId ?? '1234567890') +
      el('date_range', text('begin', begin) + text('end', spec.end ?? begin + DAY_S - 1)),
  );
  const policy = el(
    'policy_published',
    text('domain', domain) +
      text('adkim', 'r') +
      text('aspf', 'r') +
      text('p', spec.p ?? 'none') +
      text('sp', spec.p ?? 'none') +
      (bis ? text('np', 'none') + text('testing', 'n') : text('pct', 100)),
  );
  const body = records.map((r) => recordXml(r, domain, text, el)).join('\n');
  const open = bis ? `<${ns}feedback xmlns:dmarc="urn:ietf:params:xml:ns:dmarc-2.0">` : '<feedback>';
  const version = bis ? text('version', '1.0') : '';
  return `<?xml version="1.0" encoding="UTF-8" ?>\n${open}\n${version}${metadata}\n${policy}\n${body}\n</${ns}feedback>\n`;
}

type Text = (name: string, value: string | number | undefined) => string;
type El = (name: string, content: string | undefined) => string;

function recordXml(r: RecordSpec, domain: string, text: Text, el: El): string {
  const headerFrom = r.headerFrom ?? domain;
  const dkim = r.dkimResults ?? [{ domain: headerFrom, selector: 'selector1', result: r.dkim }];
  const spf = r.spfResults ?? [{ domain: r.envelopeFrom ?? headerFrom, scope: 'mfrom', result: r.spf }];
  const row = el(
    'row',
    text('source_ip', r.sourceIp) +
      text('count', r.count) +
      el('policy_evaluated', text('disposition', r.disposition ?? 'none') + text('dkim', r.dkim) + text('spf', r.spf)),
  );
  const identifiers = el('identifiers', text('envelope_from', r.envelopeFrom) + text('header_from', headerFrom));
  const auth = el(
    'auth_results',
    dkim
      .map((d) => el('dkim', text('domain', d.domain) + text('selector', d.selector) + text('result', d.result)))
      .join('') +
      spf.map((s) => el('spf', text('domain', s.domain) + text('scope', s.scope) + text('result', s.result))).join(''),
  );
  return el('record', row + identifiers + auth);
}

export const gzipped = (content: string | Buffer): Buffer => gzipSync(content);

/** A zip of the given members, written by fflate (a writer that is not ours). */
export function zipped(members: Record<string, string | Buffer>): Buffer {
  const files = Object.fromEntries(
    Object.entries(members).map(([name, content]) => [name, new Uint8Array(Buffer.from(content))]),
  );
  return Buffer.from(zipSync(files, { level: 9 }));
}

const MiB = 1024 * 1024;
/** XML that inflates past the 50 MiB limit: a report whose org_name is 60 MiB of spaces. */
function bombXml(): Buffer {
  const head = Buffer.from('<?xml version="1.0"?><feedback><report_metadata><org_name>');
  return Buffer.concat([head, Buffer.alloc(60 * MiB, 0x20), Buffer.from('</org_name></report_metadata></feedback>')]);
}

let bombs: { gzip: Buffer; zip: Buffer } | undefined;
function bombsOnce(): { gzip: Buffer; zip: Buffer } {
  if (!bombs) {
    const xml = bombXml();
    bombs = { gzip: gzipSync(xml, { level: 9 }), zip: zipped({ 'bomb.xml': xml }) };
  }
  return bombs;
}

/** A few tens of KiB that inflate to 60 MiB. */
export const gzipBomb = (): Buffer => bombsOnce().gzip;
export const zipBomb = (): Buffer => bombsOnce().zip;

/** The zip bomb with its headers saying the member is 1 KiB: the reader must not believe them. */
export function lyingZipBomb(): Buffer {
  const zip = Buffer.from(zipBomb());
  for (let at = 0; at + 4 <= zip.length; at++) {
    const signature = zip.readUInt32LE(at);
    if (signature === 0x04034b50) zip.writeUInt32LE(1024, at + 22);
    if (signature === 0x02014b50) zip.writeUInt32LE(1024, at + 24);
  }
  return zip;
}

export const MALFORMED_XML = '<?xml version="1.0"?><feedback><report_metadata><org_name>x</feedback>';

/** The billion laughs: never expanded, refused for its DOCTYPE. */
export const ENTITY_XML = `<?xml version="1.0"?>
<!DOCTYPE feedback [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<feedback><report_metadata><org_name>&lol2;</org_name></report_metadata></feedback>`;

export interface Attachment {
  filename: string;
  contentType: string;
  content: Buffer;
}

/** A whole message as a receiver sends it: a text part, then each attachment in base64. */
export function reportMail(subject: string, attachments: Attachment[], options: { bare?: boolean } = {}): Buffer {
  const headers = [
    'From: noreply-dmarc-support@google.com',
    'To: dmarc-reports@example.fr',
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W+/g, '.')}@google.com>`,
    'Date: Sun, 01 Nov 2026 08:00:00 +0000',
    'MIME-Version: 1.0',
  ];
  if (options.bare && attachments.length === 1) {
    // Some receivers send the archive as the whole body: a message with no multipart.
    return Buffer.from(`${headers.join('\r\n')}\r\n${attachmentPart(attachments[0]!)}`);
  }
  const boundary = '=_dmarc_report_boundary';
  const parts = [
    `Content-Type: text/plain; charset=UTF-8\r\n\r\nThis is an aggregate report from google.com.\r\n`,
    ...attachments.map(attachmentPart),
  ];
  const body = parts.map((part) => `--${boundary}\r\n${part}`).join('\r\n');
  return Buffer.from(
    `${headers.join('\r\n')}\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n${body}\r\n--${boundary}--\r\n`,
  );
}

function attachmentPart(attachment: Attachment): string {
  const base64 = attachment.content.toString('base64').replace(/.{76}/g, '$&\r\n');
  return [
    `Content-Type: ${attachment.contentType}; name="${attachment.filename}"`,
    `Content-Disposition: attachment; filename="${attachment.filename}"`,
    'Content-Transfer-Encoding: base64',
    '',
    base64,
    '',
  ].join('\r\n');
}

/** A report as each kind of attachment receivers send: zipped (Google), gzipped (Outlook), bare XML. */
export const zipAttachment = (xml: string, name = 'google.com!example.fr!1793491200!1793577599.zip'): Attachment => ({
  filename: name,
  contentType: 'application/zip',
  content: zipped({ [name.replace(/\.zip$/, '.xml')]: xml }),
});
export const gzAttachment = (xml: string): Attachment => ({
  filename: 'enterprise.protection.outlook.com!example.fr!1793491200!1793577600.xml.gz',
  contentType: 'application/gzip',
  content: gzipped(xml),
});
export const xmlAttachment = (xml: string): Attachment => ({
  filename: 'report.xml',
  contentType: 'text/xml',
  content: Buffer.from(xml),
});
