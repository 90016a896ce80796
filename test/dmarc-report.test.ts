import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_MESSAGE_BYTES,
  MAX_XML_BYTES,
  parseAggregateReport,
  parseReportXml,
  type RejectReason,
  ReportRejected,
} from '../src/domain/dmarc-report.ts';
import {
  DAY_S,
  ENTITY_XML,
  gzipBomb,
  gzipped,
  HOSTILE_ORG,
  lyingZipBomb,
  MALFORMED_XML,
  REPORT_DAY,
  reportXml,
  zipBomb,
  zipped,
} from './sim/dmarc-reports.ts';

function refused(reason: RejectReason) {
  return (error: unknown) => error instanceof ReportRejected && error.reason === reason;
}

const twoRecords = [
  {
    sourceIp: '192.0.2.1',
    count: 12,
    dkim: 'pass' as const,
    spf: 'fail' as const,
    headerFrom: 'Example.FR',
    envelopeFrom: 'bounces.example.fr',
    dkimResults: [
      { domain: 'EXAMPLE.fr.', selector: 'ovhex123456-selector1', result: 'pass' },
      { domain: 'sendgrid.net', selector: 's1', result: 'pass' },
    ],
    spfResults: [{ domain: 'bounces.example.fr', scope: 'mfrom', result: 'softfail' }],
  },
  {
    sourceIp: '2001:db8::25',
    count: 3,
    disposition: 'quarantine',
    dkim: 'fail' as const,
    spf: 'fail' as const,
    dkimResults: [],
    spfResults: [{ domain: '', result: 'none' }],
  },
];

test('an RFC 7489 report: every field typed, domains lower-case, the reporter’s words kept as they are', () => {
  const xml = reportXml({ orgName: HOSTILE_ORG, reportId: 'r-1', domain: 'Example.FR', records: twoRecords });
  const report = parseAggregateReport(Buffer.from(xml));
  assert.deepEqual(report, {
    orgName: HOSTILE_ORG,
    email: 'noreply-dmarc-support@google.com',
    reportId: 'r-1',
    begin: REPORT_DAY * 1000,
    end: (REPORT_DAY + DAY_S - 1) * 1000,
    policyPublished: { domain: 'example.fr', p: 'none', sp: 'none', pct: 100, adkim: 'r', aspf: 'r' },
    records: [
      {
        sourceIp: '192.0.2.1',
        count: 12,
        disposition: 'none',
        dkimEvaluated: 'pass',
        spfEvaluated: 'fail',
        headerFrom: 'example.fr',
        envelopeFrom: 'bounces.example.fr',
        dkim: [
          { domain: 'example.fr', selector: 'ovhex123456-selector1', result: 'pass' },
          { domain: 'sendgrid.net', selector: 's1', result: 'pass' },
        ],
        spf: [{ domain: 'bounces.example.fr', scope: 'mfrom', result: 'softfail' }],
      },
      {
        sourceIp: '2001:db8::25',
        count: 3,
        disposition: 'quarantine',
        dkimEvaluated: 'fail',
        spfEvaluated: 'fail',
        headerFrom: 'example.fr',
        dkim: [],
        spf: [{ domain: '', result: 'none' }],
      },
    ],
  });
});

test('a From domain is whatever the spoofed mail said: kept as written (lower-case), escaped only where it is shown', () => {
  const hostile = '<https://Evil.example|x>.<!channel>';
  const xml = reportXml({
    records: [{ sourceIp: '192.0.2.9', count: 1, dkim: 'fail', spf: 'fail', headerFrom: hostile }],
  });
  assert.match(xml, /<header_from>&lt;https:\/\/Evil\.example\|x&gt;\.&lt;!channel&gt;<\/header_from>/);
  const [record] = parseReportXml(xml).records;
  assert.equal(record?.headerFrom, hostile.toLowerCase());
  assert.equal(record?.dkim[0]?.domain, hostile.toLowerCase());
});

test('a DMARCbis report, prefixed or in a default namespace, gives np and the test mode', () => {
  const prefixed = reportXml({ flavour: 'dmarcbis', orgName: 'Yahoo & co', p: 'quarantine' });
  assert.match(prefixed, /<dmarc:feedback xmlns:dmarc=/);
  const bare = prefixed
    .replace(/dmarc:/g, '')
    .replace('xmlns:dmarc=', 'xmlns=')
    .replace('xmlns=', 'xmlns:ignored="x" xmlns=');
  for (const xml of [prefixed, bare]) {
    const report = parseReportXml(xml);
    assert.equal(report.orgName, 'Yahoo & co');
    assert.deepEqual(report.policyPublished, {
      domain: 'example.fr',
      p: 'quarantine',
      sp: 'quarantine',
      np: 'none',
      adkim: 'r',
      aspf: 'r',
      t: false,
    });
    assert.equal(report.records.length, 1);
  }
});

test('character references and the five XML entities are decoded; nothing else is expanded', () => {
  const xml = reportXml({ orgName: 'x' }).replace(
    '<org_name>x</org_name>',
    '<org_name>Cr&#233;dit &#x26; &quot;Co&quot; &foo;</org_name>',
  );
  assert.equal(parseReportXml(xml).orgName, 'Crédit & "Co" &foo;');
});

test('the same report as .xml, .xml.gz and .zip', () => {
  const xml = reportXml({ records: twoRecords });
  const plain = parseAggregateReport(Buffer.from(xml));
  assert.deepEqual(parseAggregateReport(gzipped(xml)), plain);
  assert.deepEqual(parseAggregateReport(zipped({ 'google.com!example.fr!1793491200!1793577599.xml': xml })), plain);
  assert.deepEqual(parseAggregateReport(zipped({ 'notes/': '', 'report.XML': xml, 'readme.txt': 'hi' })), plain);
});

test('one report per zip: none or several XML members are refused', () => {
  const xml = reportXml();
  assert.throws(() => parseAggregateReport(zipped({ 'a.xml': xml, 'b.xml': xml })), refused('archive'));
  assert.throws(() => parseAggregateReport(zipped({ 'a.txt': xml })), refused('archive'));
  assert.throws(() => parseAggregateReport(zipped({})), refused('archive'));
  assert.throws(() => parseAggregateReport(zipped({ 'a.xml': xml }).subarray(0, 100)), refused('archive'));
});

test('zip and gzip bombs are refused while inflating, whatever the zip headers say', () => {
  for (const bomb of [gzipBomb(), zipBomb(), lyingZipBomb()]) {
    assert.ok(bomb.length < MAX_MESSAGE_BYTES / 100, `a small attachment (${bomb.length} bytes)`);
    assert.throws(() => parseAggregateReport(bomb), refused('too-large'));
  }
  assert.equal(MAX_XML_BYTES, 50 * 1024 * 1024);
  assert.equal(MAX_MESSAGE_BYTES, 10 * 1024 * 1024);
});

test('the XML limit holds for plain, gzipped and zipped reports alike', () => {
  const xml = reportXml({ records: twoRecords });
  const limit = xml.length - 1;
  assert.throws(() => parseAggregateReport(Buffer.from(xml), limit), refused('too-large'));
  assert.throws(() => parseAggregateReport(gzipped(xml), limit), refused('too-large'));
  assert.throws(() => parseAggregateReport(zipped({ 'r.xml': xml }), limit), refused('too-large'));
  assert.ok(parseAggregateReport(gzipped(xml), xml.length));
});

test('a DTD or an entity declaration is refused, never expanded; malformed XML and other bytes are refused', () => {
  assert.throws(() => parseAggregateReport(Buffer.from(ENTITY_XML)), refused('dtd'));
  assert.throws(() => parseAggregateReport(gzipped(ENTITY_XML)), refused('dtd'));
  assert.throws(() => parseAggregateReport(Buffer.from(MALFORMED_XML)), refused('malformed-xml'));
  assert.throws(() => parseAggregateReport(Buffer.from('\x89PNG\r\n\x1a\n')), refused('unknown-format'));
  assert.throws(() => parseAggregateReport(Buffer.from([0x1f, 0x8b, 1, 2, 3])), refused('archive'));
});

test('a report that breaks the schema is a clear typed error naming the field', () => {
  const base = reportXml({ records: twoRecords });
  const broken: [string, string, RegExp][] = [
    ['<report_id>1234567890</report_id>', '', /report_metadata\.report_id/],
    ['<source_ip>192.0.2.1</source_ip>', '<source_ip>192.0.2.999</source_ip>', /record\.0\.row\.source_ip: not an IP/],
    ['<count>12</count>', '<count>-12</count>', /record\.0\.row\.count: not a count/],
    ['<disposition>quarantine</disposition>', '<disposition>burn</disposition>', /disposition/],
    ['<p>none</p>', '<p>maybe</p>', /policy_published\.p/],
    [`<end>${REPORT_DAY + DAY_S - 1}</end>`, '<end>1</end>', /date_range: the range ends before it begins/],
  ];
  for (const [from, to, message] of broken) {
    assert.throws(
      () => parseReportXml(base.replace(from, to)),
      (error) => error instanceof ReportRejected && message.test(error.message),
      `${from} → ${to}`,
    );
  }
  assert.throws(() => parseReportXml(base.replace(/feedback>/g, 'report>')), /feedback: Invalid input/);
  const noRecords = base.replace(/<record>[\s\S]*<\/record>/, '');
  assert.throws(() => parseReportXml(noRecords), refused('invalid-report'));
});
