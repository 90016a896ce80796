import { isIP } from 'node:net';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import type { DmarcPolicy } from './dmarc-record.ts';
import { MAX_XML_BYTES, reportXmlBytes } from './report-archive.ts';
import { ReportRejected } from './report-rejected.ts';

/**
 * DMARC aggregate reports (RFC 7489 appendix C, and the DMARCbis schema) from an attachment's bytes: `.xml`, `.xml.gz`
 * or `.zip`, within the limits of report-archive.ts, parsed with no DTD and no entity expansion.
 */

export { MAX_MESSAGE_BYTES, MAX_XML_BYTES } from './report-archive.ts';
export { type RejectReason, ReportRejected } from './report-rejected.ts';

export type Pass = 'pass' | 'fail';
export type Disposition = 'none' | 'quarantine' | 'reject' | 'pass';

export interface AggregateReport {
  orgName: string;
  email?: string;
  reportId: string;
  /** The reported period, epoch ms. */
  begin: number;
  end: number;
  policyPublished: PolicyPublished;
  records: ReportRecord[];
}

export interface PolicyPublished {
  domain: string;
  p: DmarcPolicy;
  sp?: DmarcPolicy;
  pct?: number;
  adkim?: 'r' | 's';
  aspf?: 'r' | 's';
  np?: DmarcPolicy;
  /** DMARCbis test mode (`testing` y/n in the report). */
  t?: boolean;
}

export interface ReportRecord {
  sourceIp: string;
  count: number;
  disposition: Disposition;
  dkimEvaluated: Pass;
  spfEvaluated: Pass;
  headerFrom: string;
  envelopeFrom?: string;
  dkim: { domain: string; selector?: string; result: string }[];
  spf: { domain: string; scope?: string; result: string }[];
}

/** The report in an attachment, or a ReportRejected saying why not. */
export function parseAggregateReport(bytes: Buffer, limit = MAX_XML_BYTES): AggregateReport {
  return parseReportXml(decodeXml(reportXmlBytes(bytes, limit)));
}

function decodeXml(bytes: Buffer): string {
  return bytes.toString('utf8').replace(/^\uFEFF/, '');
}

const ARRAYS = new Set(['feedback.record', 'feedback.record.auth_results.dkim', 'feedback.record.auth_results.spf']);

const parser = new XMLParser({
  // No entity is ever expanded: the five of XML itself and character references are decoded below, one by one.
  processEntities: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (_name, path) => typeof path === 'string' && ARRAYS.has(path),
  tagValueProcessor: (_name, value) => decodeEntities(value),
});

export function parseReportXml(xml: string): AggregateReport {
  if (/<!(DOCTYPE|ENTITY)/i.test(xml)) throw new ReportRejected('dtd', 'a DOCTYPE or an entity declaration');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new ReportRejected('malformed-xml', `${valid.err.msg} (line ${valid.err.line})`);
  let tree: unknown;
  try {
    tree = parser.parse(xml);
  } catch (error) {
    throw new ReportRejected('malformed-xml', (error as Error).message);
  }
  const parsed = reportSchema.safeParse(tree);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    const where = issue?.path.join('.') || 'the document';
    throw new ReportRejected('invalid-report', `${where}: ${issue?.message ?? 'not a report'}`);
  }
  return toReport(parsed.data.feedback);
}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(value: string): string {
  return value.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g, (whole, name: string) => {
    if (!name.startsWith('#')) return PREDEFINED[name] ?? whole;
    const code = name[1] === 'x' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

const blankToUndefined = (value: unknown) => (value === '' ? undefined : value);
const lowerCase = (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : value);
const text = (max = 1024) => z.string().min(1).max(max);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankToUndefined, schema.optional());
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.preprocess(lowerCase, z.enum(values));
/** Auth results may name no domain (a null sender's SPF): kept as ''. */
const domain = z
  .string()
  .max(255)
  .transform((d) => d.toLowerCase().replace(/\.$/, ''));
const requiredDomain = text(255).transform((d) => d.toLowerCase().replace(/\.$/, ''));
const epochSeconds = z
  .string()
  .regex(/^\d{1,11}$/, 'not epoch seconds')
  .transform(Number);
const integer = z
  .string()
  .regex(/^\d{1,10}$/, 'not a count')
  .transform(Number);
const policy = oneOf(['none', 'quarantine', 'reject']);
const pass = oneOf(['pass', 'fail']);
const alignment = oneOf(['r', 's']);
const list = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === undefined || value === '' ? [] : value), z.array(schema));

const dkimResult = z.object({
  domain,
  selector: optional(text(255)),
  result: oneOf(['none', 'pass', 'fail', 'policy', 'neutral', 'temperror', 'permerror']),
});

const spfResult = z.object({
  domain,
  scope: optional(oneOf(['helo', 'mfrom'])),
  result: oneOf(['none', 'neutral', 'pass', 'fail', 'softfail', 'temperror', 'permerror']),
});

const record = z.object({
  row: z.object({
    source_ip: z.string().refine((ip) => isIP(ip) !== 0, 'not an IP address'),
    count: integer,
    policy_evaluated: z.object({
      disposition: oneOf(['none', 'quarantine', 'reject', 'pass']),
      dkim: pass,
      spf: pass,
    }),
  }),
  identifiers: z.object({ header_from: requiredDomain, envelope_from: optional(requiredDomain) }),
  auth_results: z.preprocess(
    (value) => (value === '' ? {} : value),
    z.object({ dkim: list(dkimResult), spf: list(spfResult) }),
  ),
});

const reportSchema = z.object({
  feedback: z.object({
    report_metadata: z.object({
      org_name: text(),
      email: optional(text(320)),
      report_id: text(),
      date_range: z
        .object({ begin: epochSeconds, end: epochSeconds })
        .refine((range) => range.begin <= range.end, 'the range ends before it begins'),
    }),
    policy_published: z.object({
      domain: requiredDomain,
      p: policy,
      sp: optional(policy),
      np: optional(policy),
      pct: optional(integer.refine((n) => n <= 100, 'pct over 100')),
      adkim: optional(alignment),
      aspf: optional(alignment),
      testing: optional(oneOf(['y', 'n'])),
    }),
    record: z.array(record).min(1),
  }),
});

type Feedback = z.infer<typeof reportSchema>['feedback'];

function toReport(feedback: Feedback): AggregateReport {
  const { report_metadata: meta, policy_published: published } = feedback;
  const { testing, ...policyTags } = published;
  return {
    orgName: meta.org_name,
    ...(meta.email ? { email: meta.email } : {}),
    reportId: meta.report_id,
    begin: meta.date_range.begin * 1000,
    end: meta.date_range.end * 1000,
    policyPublished: withoutUndefined({ ...policyTags, t: testing === undefined ? undefined : testing === 'y' }),
    records: feedback.record.map(toRecord),
  };
}

function toRecord(entry: z.infer<typeof record>): ReportRecord {
  const { row, identifiers, auth_results: auth } = entry;
  return {
    sourceIp: row.source_ip,
    count: row.count,
    disposition: row.policy_evaluated.disposition,
    dkimEvaluated: row.policy_evaluated.dkim,
    spfEvaluated: row.policy_evaluated.spf,
    headerFrom: identifiers.header_from,
    ...(identifiers.envelope_from ? { envelopeFrom: identifiers.envelope_from } : {}),
    dkim: auth.dkim.map((d) => withoutUndefined(d)),
    spf: auth.spf.map((s) => withoutUndefined(s)),
  };
}

function withoutUndefined<T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as never;
}
