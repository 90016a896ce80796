import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { test } from 'node:test';
import { percent, share } from '../src/domain/figures-text.ts';
import { plainText } from '../src/domain/text.ts';
import { reportPeriod } from '../src/domain/time.ts';
import { createDnsChecker } from '../src/providers/dns.ts';
import { dkimCommand } from '../src/slack/listeners/commands/dkim.ts';
import { homeView } from '../src/slack/render/home.ts';
import { REPORTED_DOMAINS_QUERY } from '../src/store/dmarc.ts';
import { runCli } from './cli-process.ts';
import {
  dayStart,
  HOSTILE_PTR,
  HOSTILE_REPORTER,
  importSpec,
  RELAY_PTR,
  seedReports,
} from './dmarc-report-fixtures.ts';
import { type Harness, listenerDeps, startHarness, testEnv } from './harness.ts';
import { OvhSim } from './sim/ovh.ts';

/** `/dkim report`'s operation and the CLI's `report`: the figures with their counts, bad input, no report yet. */

const DAY = 86_400_000;

function rows(h: Harness): number {
  const count = (table: string) =>
    (h.core.store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  return count('dmarc_reports') + count('runs') + count('outbox') + count('events');
}

/** The look-ups made through the core's one resolver (the simulator's DNS), counted from now on. */
function countDns(h: Harness): { calls: number } {
  const counter = { calls: 0 };
  const dns = h.core.dns;
  const { cname, txt, reverse } = { ...dns };
  dns.cname = (name) => {
    counter.calls++;
    return cname(name);
  };
  dns.txt = (name) => {
    counter.calls++;
    return txt(name);
  };
  dns.reverse = (ip, withinMs) => {
    counter.calls++;
    return reverse(ip, withinMs);
  };
  return counter;
}

test('a report: messages, DMARC, aligned DKIM per selector and SPF with their counts, the failing sources named', async () => {
  const h = await startHarness();
  try {
    seedReports(h.core.store, h.sim, h.clock.now());
    const answer = await h.ops.report.report({ domain: 'Example.FR.' });
    assert.equal(answer.ok, true);
    const report = answer.report!;
    assert.equal(report.domain, 'example.fr');
    assert.equal(report.days, 7);
    assert.deepEqual(
      [report.messages, report.dmarcPass, report.alignedDkimPass, report.alignedSpfPass],
      [1260, 1234, 1234, 1200],
      'the report of three weeks ago and other.fr are not counted',
    );
    assert.deepEqual(
      report.failingSources.map((s) => [s.sourceIp, s.messages, s.reverse, s.reporters]),
      [
        ['198.51.100.7', 24, RELAY_PTR, [HOSTILE_REPORTER, 'google.com']],
        // As the resolver gives it: c-ares shows a special character of a label escaped.
        ['203.0.113.9', 2, HOSTILE_PTR.replace('@', '\\@'), [HOSTILE_REPORTER]],
      ],
    );
    assert.equal(report.covered?.days, 2);
    const text = plainText(answer.text);
    assert.match(text, /^\*DMARC reports for example\.fr\* · the last 7 days$/m);
    assert.match(text, /^\*1,260\* messages reported by 2 organisations$/m);
    assert.match(text, /^DMARC pass: \*97\.9% \(1,234 of 1,260\)\*$/m);
    assert.match(text, /^Aligned DKIM pass: 97\.9% \(1,234 of 1,260\)$/m);
    assert.match(text, /^ {4}· `selector1` of example\.fr: 98\.0% \(1,234 of 1,258\)$/m);
    assert.match(text, /^ {4}· `s1` of sendgrid\.net: 0% \(0 of 2\)$/m);
    assert.match(text, /^Aligned SPF pass: 95\.2% \(1,200 of 1,260\)$/m);
    assert.match(text, /^\*Failing DMARC\*: 26 messages, aligned neither by DKIM nor by SPF; the top sources:$/m);
    assert.match(text, /^1\. `198\.51\.100\.7` \(mail\.relay\.example\.net\) · 24 messages · reported by <!channel>/m);
    assert.match(text, /^2\. `203\.0\.113\.9` \(<!channel>\.<https:\/\/evil/m);
    assert.match(text, /^Covered: 2 days, from \d{4}-\d\d-\d\d 00:00 UTC to \d{4}-\d\d-\d\d 23:59 UTC\.$/m);
    assert.equal(h.sim.requests.length, 0, 'no OVH call');

    const month = (await h.ops.report.report({ domain: 'example.fr', days: '30' })).report!;
    assert.equal(month.messages, 1760, 'thirty days hold the old report too');
  } finally {
    await h.close();
  }
});

test('bad input gets a clear answer and changes nothing: no row, no DNS look-up, no OVH call', async () => {
  const h = await startHarness({ env: { DMARC_RETENTION_DAYS: '30' } });
  try {
    const dns = countDns(h);
    const ops = h.ops.report;
    const before = rows(h);
    const cases: [string, string | undefined, RegExp][] = [
      ['not a domain', undefined, /^No report: a domain name cannot contain spaces\. Usage: `\/dkim report/],
      ['<!channel>', undefined, /^No report: "<!channel>" is not a domain name/],
      ['', undefined, /^No report: a domain name is required/],
      ['example.fr', '0', /^No report: "0" is not a number of days: give a whole number from 1 to 30\.$/],
      ['example.fr', '-3', /"-3" is not a number of days/],
      ['example.fr', '1.5', /"1\.5" is not a number of days/],
      ['example.fr', 'week', /"week" is not a number of days/],
      ['example.fr', '31', /^No report: reports are kept 30 days \(DMARC_RETENTION_DAYS\); ask for 30 at most\.$/],
      ['example.fr', '99999999999999999999', /reports are kept 30 days/],
    ];
    for (const [domain, days, expected] of cases) {
      const answer = await ops.report({ domain, days });
      assert.equal(answer.ok, false, `${domain} ${days}`);
      assert.match(plainText(answer.text), expected);
      assert.equal(answer.report, undefined);
    }
    assert.equal(dns.calls, 0, 'no DNS look-up');
    assert.equal(h.sim.requests.length, 0, 'no OVH call');
    assert.equal(rows(h), before, 'no row');
    assert.equal((await ops.report({ domain: 'example.fr', days: '30' })).ok, true, 'the retention itself is fine');
  } finally {
    await h.close();
  }
});

test('no report yet: said, with when reports come; none lately: when the latest was, and the days that show it', async () => {
  const h = await startHarness({ env: { DMARC_IMAP_URL: 'imaps://reports:secret-password@imap.example.fr' } });
  try {
    const none = plainText((await h.ops.report.report({ domain: 'quiet.fr' })).text);
    assert.match(none, /^No DMARC report for quiet\.fr yet\.$/m);
    assert.match(none, /Receivers send aggregate reports once a day, for the day before, to the address in the `rua=`/);
    assert.match(none, /The bot reads its reports mailbox on DMARC_CRON/);
    assert.doesNotMatch(none, /secret-password/);

    const now = h.clock.now();
    importSpec(h.core.store, { domain: 'quiet.fr', reportId: 'q-1', begin: dayStart(now, 12) }, now);
    const later = plainText((await h.ops.report.report({ domain: 'quiet.fr' })).text);
    assert.match(later, /^No DMARC report for quiet\.fr began in the last 7 days\.$/m);
    assert.match(
      later,
      /The latest report stored covers up to \d{4}-\d\d-\d\d 23:59 UTC\. `\/dkim report quiet\.fr 12` shows it\./,
    );
    assert.equal((await h.ops.report.report({ domain: 'quiet.fr', days: '12' })).report?.messages, 1);
    assert.equal((await h.ops.report.report({ domain: 'quiet.fr', days: '11' })).report?.messages, 0);
  } finally {
    await h.close();
  }
  const unread = await startHarness();
  try {
    assert.match(
      plainText((await unread.ops.report.report({ domain: 'quiet.fr' })).text),
      /DMARC_IMAP_URL is not set: the bot reads no reports mailbox/,
    );
  } finally {
    await unread.close();
  }
});

test('App Home: one line per domain reported on in the last 7 days, most messages first, bounded', async () => {
  const h = await startHarness();
  try {
    const now = h.clock.now();
    seedReports(h.core.store, h.sim, now);
    const recent = h.ops.report.recent();
    assert.deepEqual(recent.lines.map(plainText), [
      '*example.fr* · DMARC pass 97.9% (1,234 of 1,260) · aligned DKIM 97.9% (1,234) · aligned SPF 95.2% (1,200) · 2 reporters',
      '*other.fr* · DMARC pass 100% (100 of 100) · aligned DKIM 100% (100) · aligned SPF 100% (100) · 1 reporter',
    ]);
    assert.equal(recent.more, 0);
    for (let i = 0; i < 14; i++) {
      importSpec(h.core.store, { domain: `d${i}.fr`, reportId: `d-${i}`, begin: dayStart(now, 3) }, now);
    }
    importSpec(h.core.store, { domain: '<!channel>.x', reportId: 'evil', begin: dayStart(now, 1) }, now);
    const many = h.ops.report.recent();
    assert.equal(many.lines.length, 10);
    assert.equal(many.more, 7, '17 domains, 10 shown');
    const plan = h.core.store.db.prepare(`EXPLAIN QUERY PLAN ${REPORTED_DOMAINS_QUERY}`).all(0, 0, 1, 10) as {
      detail: string;
    }[];
    assert.ok(
      plan.some((row) => /SEARCH dmarc_reports USING INDEX dmarc_reports_by_end \(end_at>\?\)/.test(row.detail)),
      JSON.stringify(plan),
    );
  } finally {
    await h.close();
  }
});

test('the /dkim callback: an empty ack, then the report through respond, once for an envelope delivered twice', async () => {
  const h = await startHarness();
  try {
    seedReports(h.core.store, h.sim, h.clock.now());
    const callback = dkimCommand(listenerDeps(h));
    const acks: unknown[] = [];
    const responses: { blocks?: unknown[]; response_type?: string }[] = [];
    const command = { text: 'report example.fr 3', user_id: 'U1', channel_id: 'C1', trigger_id: 'trigger-report' };
    const args = {
      command,
      ack: async (value?: unknown) => void acks.push(value),
      respond: async (value: unknown) => {
        responses.push(value as (typeof responses)[number]);
        return {};
      },
      client: {},
    } as unknown as Parameters<typeof callback>[0];
    await callback(args);
    await callback(args);
    assert.deepEqual(acks, [undefined, undefined], 'nothing to say in the ack, twice');
    assert.equal(responses.length, 1, 'one report for one command');
    assert.equal(responses[0]?.response_type, 'ephemeral');
    assert.match(JSON.stringify(responses[0]?.blocks), /DMARC reports for example\.fr\* · the last 3 days/);
  } finally {
    await h.close();
  }
});

test("App Home keeps its DMARC lines within Slack's 50 blocks, whatever else it shows", () => {
  const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.fr`;
  const reported = {
    days: 7,
    lines: Array.from({ length: 10 }, (_, i) => `*${i}${long}* · DMARC pass 97.9% (1,234 of 1,260) · 3 reporters`),
    more: 5,
  };
  const run = { id: 1, kind: 'setup', domain: 'x.fr', state: 'waiting_ready', facts: {}, createdAt: 0 } as never;
  const watch = { domain: 'w.fr', selector: 's1', observation: 'gone' } as never;
  const view = homeView(Array(20).fill(run), Array(5).fill(run), 1, {
    broken: Array(10).fill(watch),
    lastScan: { ...(run as object), kind: 'scan', state: 'done', updatedAt: 0 } as never,
    reported,
  });
  assert.ok(view.blocks.length <= 50, `${view.blocks.length} blocks`);
  const text = JSON.stringify(view.blocks);
  assert.match(text, /DMARC reports\* \(last 7 days\)/);
  assert.match(text, /9a{60}/, 'the last line is there');
  assert.match(text, /…and 5 more domains/);
});

test('percentages round down to one decimal and say the counts; the period is whole UTC days', () => {
  assert.equal(percent(2519, 2520), '99.9%', 'not all of it: never 100%');
  assert.equal(percent(2520, 2520), '100%');
  assert.equal(percent(1, 100_000), '0.0%', 'some of it: never 0%');
  assert.equal(percent(0, 10), '0%');
  assert.equal(percent(0, 0), '—');
  assert.equal(share(1234, 1260), '97.9% (1,234 of 1,260)');
  const now = Date.UTC(2026, 10, 22, 9, 30);
  assert.deepEqual(reportPeriod(now, 7), { since: Date.UTC(2026, 10, 15), until: Date.UTC(2026, 10, 23) });
});

test('a reverse look-up is bounded: a resolver that never answers gives no name, in time', async () => {
  const silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
  try {
    const dns = createDnsChecker([`127.0.0.1:${silent.address().port}`], 200);
    const started = performance.now();
    assert.equal(await dns.reverse('192.0.2.1'), undefined);
    assert.ok(performance.now() - started < 1_000, `${performance.now() - started} ms`);
    assert.equal(await dns.reverse('not an address'), undefined);
  } finally {
    silent.close();
  }
});

test('the CLI: `report x.fr [days] --json` prints every figure; bad days are refused with exit 1', async () => {
  const sim = await OvhSim.start();
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, ...testEnv(sim) };
    const { Store } = await import('../src/store/index.ts');
    const store = Store.open(env.DATABASE_PATH ?? '');
    seedReports(store, sim, Date.now());
    store.close();
    const cli = (...args: string[]) => runCli(args, env);
    const json = await cli('report', 'example.fr', '30', '--json');
    assert.equal(json.status, 0, json.stdout);
    const report = JSON.parse(json.stdout);
    assert.equal(report.domain, 'example.fr');
    assert.equal(report.days, 30);
    assert.equal(report.messages, 1760);
    assert.equal(report.failingSources[0].reverse, RELAY_PTR);
    assert.equal(report.failingSources[0].messages, 24);
    assert.deepEqual(report.selectors[0], {
      selector: 'selector1',
      signingDomain: 'example.fr',
      messages: 1758,
      alignedPass: 1734,
    });
    assert.ok(report.until - report.since === 31 * DAY);

    const plain = await cli('report', 'example.fr');
    assert.equal(plain.status, 0);
    assert.match(plain.stdout, /DMARC pass: \*97\.9% \(1,234 of 1,260\)\*/);
    const refused = await cli('report', 'example.fr', '401', '--json');
    assert.equal(refused.status, 1);
    assert.match(refused.stdout, /reports are kept 400 days/);
    assert.equal(sim.requests.length, 0, 'no OVH call');
  } finally {
    await sim.close();
  }
});
