import { benchAck, type LatencyFigures } from './ack.ts';
import { benchDmarcImport, CAPPED_HEAP_MIB } from './dmarc-import.ts';
import { benchDmarcReport } from './dmarc-summary.ts';
import { benchMemory, benchRetention } from './memory.ts';
import { benchProvisioning } from './provisioning.ts';
import { benchScan } from './scan.ts';

/** `npm run bench`: prints the performance figures of DESIGN §7. A benchmark, not a test: nothing here fails. */
const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  const domains = Number(process.env.BENCH_DOMAINS ?? 1000);
  // `npm run bench -- 5 6`: only the sections named.
  const only = new Set(process.argv.slice(2));
  const wanted = (section: string) => only.size === 0 || only.has(section);
  const count = (n: number) => n.toLocaleString('en');
  console.log(`dkim-bot benchmark (node ${process.version}, ${new Date().toISOString()})\n`);

  if (wanted('1')) {
    for (const [n, offer, label] of [
      ['1a', 'exchange', 'Exchange'],
      ['1b', 'pro', 'Email Pro'],
      ['1c', 'mxplan', 'MX Plan'],
    ] as const) {
      console.log(
        `${n}. ${domains} domains of one ${label} service set up and approved at once, 60 req/min (simulated clock)`,
      );
      const p = await benchProvisioning(domains, 60, offer);
      console.log(`   runs done:                 ${p.done} / ${p.domains}`);
      console.log(
        `   OVH calls per domain:      ${fmt(p.callsPerDomain, 2)} (floor ${p.floorCallsPerDomain} + discovery; ${p.discoveryCalls} discovery calls in all)`,
      );
      console.log(
        `   OVH calls in all:          ${p.totalCalls} (floor ${p.floorTotalCalls}; ratio ${fmt(p.totalCalls / p.floorTotalCalls, 3)}, target ≤ 1.1)`,
      );
      console.log(
        `   total time:                ${fmt(p.simulatedMinutes)} min simulated (floor ${fmt(p.floorMinutes)} min = ${p.floorTotalCalls} calls ÷ ${p.ratePerMinute}/min; ratio ${fmt(p.simulatedMinutes / p.floorMinutes, 3)}, target ≤ 1.1)`,
      );
      console.log(`   429s caused by the bot:    ${p.rateLimited429s}`);
      console.log(`   most calls in any 60 s:    ${p.maxInAnyWindow} (limit ${p.ratePerMinute})`);
      console.log(`   wall time:                 ${fmt(p.wallSeconds)} s\n`);
    }

    for (const [n, setups] of [
      ['1d', 0],
      ['1e', 50],
    ] as const) {
      const with_ = setups
        ? ` + the ${setups} domains of ${setups} setup runs started at the same moment, on the same rate limit`
        : '';
      console.log(
        `${n}. /dkim scan of ${domains} domains (Exchange, Email Pro, MX Plan), 60 req/min${with_} (simulated clock)`,
      );
      const s = await benchScan(domains, 60, setups);
      console.log(
        `   scan's OVH calls:          ${s.scanCalls} (floor ${s.floorCalls}: each discovery list once, the dkim list and one read per key; ratio ${fmt(s.scanCalls / s.floorCalls, 3)}, target ≤ 1.1)`,
      );
      console.log(
        `   OVH calls per domain:      ${fmt(s.scanCalls / s.domains, 2)} (floor ${fmt(s.floorCalls / s.domains, 2)})`,
      );
      // Alone, the scan's floor is its own calls at the rate; sharing the limit, every call made until it was done.
      const timeFloorCalls = setups ? s.callsUntilScanDone : s.floorCalls;
      const what = setups ? 'calls of the scan and the setups until the scan was done' : 'calls';
      console.log(
        `   scan time:                 ${fmt(s.scanMinutes)} min simulated (floor ${fmt(timeFloorCalls / s.ratePerMinute)} min = ${timeFloorCalls} ${what} ÷ ${s.ratePerMinute}/min; ratio ${fmt((s.scanMinutes * s.ratePerMinute) / timeFloorCalls, 3)}, target ≤ 1.1)`,
      );
      if (setups)
        console.log(`   setups done meanwhile:     ${s.setupsDone} / ${s.setups} (${s.setupCalls} OVH calls)`);
      console.log(`   429s caused by the bot:    ${s.rateLimited429s}`);
      console.log(`   most calls in any 60 s:    ${s.maxInAnyWindow} (limit ${s.ratePerMinute})`);
      console.log(`   wall time:                 ${fmt(s.wallSeconds)} s\n`);
    }
  }
  if (wanted('2')) {
    console.log(
      '2. Slash-command ack latency, 100 concurrent /dkim setup commands (OVH answering in 200 ms; the bot polling every second; bot, floor and simulators in their own processes)',
    );
    const a = await benchAck(100);
    const all = [...a.floors, ...a.rounds.flatMap((r) => [r.bot, r.scraped])];
    const figures = (f: LatencyFigures) => `${fmt(f.p50Ms)} / ${fmt(f.p99Ms)} / ${fmt(f.maxMs)}`;
    const gc = (f: LatencyFigures) =>
      `[CPU ${fmt(f.cpuMs)} ms, GC ${f.gc.count}× ${fmt(f.gc.ms)} ms${f.gc.majorMs > 0 ? `, major ${fmt(f.gc.majorMs)} ms` : ''}]`;
    const botFigures = a.rounds.flatMap((r) => [r.bot, r.scraped]);
    const startedAll = botFigures.reduce((sum, f) => sum + f.started, 0);
    console.log(`   bot:                       ${a.botCommand}, one process all along, as the floor`);
    console.log(
      `   statuses:                  ${[...new Set(all.map((f) => JSON.stringify(f.statuses)))].join(' ')} (runs started: ${startedAll} / ${a.commands * botFigures.length})`,
    );
    console.log(
      "   every burst in order, p50 / p99 / max in ms; ×: p99 ÷ the floor's median p99, then ÷ the mean p99 of the floor bursts either side (the floor: a bare Bolt app that only acks); [the app's CPU time, every thread, and its garbage collections during the burst]",
    );
    const times = (f: LatencyFigures, neighbours: number) =>
      `×${fmt(f.p99Ms / a.floor.p99Ms, 2)} / ${fmt(neighbours, 2)}`;
    console.log(`     floor ${figures(a.floors[0]!)} ${gc(a.floors[0]!)}`);
    for (const [i, r] of a.rounds.entries()) {
      console.log(
        `     round ${i + 1}: bot ${figures(r.bot)} ${times(r.bot, r.botRatio)} ${gc(r.bot)} · floor ${figures(r.floorBetween)} ${gc(r.floorBetween)} · bot scraped ${figures(r.scraped)} ${times(r.scraped, r.scrapedRatio)} ${gc(r.scraped)} (${r.scraped.scrapes} scrapes of /metrics, slowest ${fmt(r.scraped.scrapeMaxMs)} ms) · floor ${figures(r.floorAfter)} ${gc(r.floorAfter)}`,
      );
    }
    console.log(`   bot p50 / p99 / max:       ${figures(a.bot)} ms, the median of ${a.rounds.length} bursts`);
    console.log(`   floor p50 / p99 / max:     ${figures(a.floor)} ms, the median of ${a.floors.length} bursts`);
    const floorP99s = a.floors.map((f) => f.p99Ms);
    console.log(
      `   bot p99 ÷ floor p99:       ${fmt(a.p99Ratio, 2)} (medians; target ≤ ${a.targetRatio}; Slack's deadline is 3000 ms); every burst within ${fmt(a.worstBurstRatio, 2)}× the floor's median p99 (within ${fmt(a.worstNeighboursRatio, 2)}× the floor bursts either side)`,
    );
    console.log(
      `   CPU per burst:             bot ${fmt(a.cpuMs.bot)} ms, floor ${fmt(a.cpuMs.floor)} ms, every thread (medians; ratio ${fmt(a.cpuMs.bot / a.cpuMs.floor, 2)})`,
    );
    console.log(
      `   the floor's own spread:    its slowest burst's p99 ÷ its fastest: ${fmt(Math.max(...floorP99s) / Math.min(...floorP99s), 2)}; ÷ its median: ${fmt(Math.max(...floorP99s) / a.floor.p99Ms, 2)}, the bot's test applied to the floor (the noise of this machine)`,
    );
    console.log(
      `   /metrics under the load:   bot scraped p99 ${fmt(a.scraped.p99Ms)} ms against ${fmt(a.bot.p99Ms)} ms unscraped (ratio ${fmt(a.scraped.p99Ms / a.bot.p99Ms, 2)}), medians`,
    );
    const logLines = botFigures.reduce((sum, f) => sum + f.logLines, 0);
    console.log(
      `   start-up, spawn→listening: bot ${fmt(a.startupMs.bot)} ms, floor ${fmt(a.startupMs.floor)} ms; bot log lines during the bursts: ${logLines}`,
    );
    console.log(`   RSS after the bursts:      bot ${fmt(a.rssMiB.bot)} MiB, floor ${fmt(a.rssMiB.floor)} MiB\n`);
  }
  if (wanted('3')) {
    console.log('3. Memory and start-up with 10,000 runs stored');
    const m = benchMemory(10_000);
    console.log(`   runs stored / active:      ${m.runs} / ${m.activeRuns}`);
    console.log(`   RSS after one poll cycle:  ${fmt(m.rssMiB)} MiB (heap used ${fmt(m.heapMiB)} MiB)`);
    console.log(`   start-up (config→engine):  ${fmt(m.startupMs)} ms; one poll cycle + list: ${fmt(m.tickMs)} ms\n`);
  }
  if (wanted('4')) {
    console.log('4. A retention pass over 100,000 events of runs finished two years ago (RETENTION_DAYS=400)');
    const r = benchRetention(100_000);
    console.log(
      `   pruned:                    ${r.pruned.events} events, ${r.pruned.deliveredMessages} delivered messages, ${r.pruned.runs} runs`,
    );
    console.log(
      `   RSS after the pass:        ${fmt(r.rssAfterMiB)} MiB (floor: the same core before it, ${fmt(r.rssBeforeMiB)} MiB; ratio ${fmt(r.rssAfterMiB / r.rssBeforeMiB, 2)})`,
    );
    console.log(
      `   pass time:                 ${fmt(r.passMs)} ms in batches of 500; the event loop held at most ${fmt(r.maxLoopDelayMs)} ms at once\n`,
    );
  }
  if (wanted('5')) {
    console.log(
      '5. DMARC reports: 1,000 aggregate reports (half gzip, half zip; 100,000 records) in a real Dovecot on loopback, read once',
    );
    const d = await benchDmarcImport(1_000, 100);
    for (const [i, round] of d.rounds.entries()) {
      console.log(
        `   round ${i + 1} (${i === 0 ? 'floor first' : 'bot first'}): bot ${fmt(round.bot.ms, 0)} ms (${count(round.bot.imported)} reports, ${count(round.bot.rowsAdded)} records stored, peak RSS ${fmt(round.bot.peakRssMiB)} MiB) · floor ${fmt(round.floor.ms, 0)} ms (peak RSS ${fmt(round.floor.peakRssMiB)} MiB) · ratio ${fmt(round.bot.ms / round.floor.ms, 2)}`,
      );
    }
    const ratios = d.rounds.map((round) => round.bot.ms / round.floor.ms);
    console.log(
      `   bot ÷ floor:               ${ratios.map((x) => fmt(x, 2)).join(', ')} (target ≤ 1.5; the floor fetches the same messages with imapflow and parses them with the same parser, storing and moving nothing)`,
    );
    console.log(
      `   peak RSS while importing:  ${fmt(Math.max(...d.rounds.map((round) => round.bot.peakRssMiB)))} MiB (target ≤ 200 MiB; the floor's ${fmt(Math.max(...d.rounds.map((round) => round.floor.peakRssMiB)))} MiB)`,
    );
    console.log(
      `   what the peak is made of:  V8 grows its heap from ${fmt(d.rounds[0]?.bot.heapBeforeMiB ?? 0)} to ${fmt(Math.max(...d.rounds.map((round) => round.bot.heapAfterMiB ?? 0)))} MiB while importing; the same import with the old space capped at ${CAPPED_HEAP_MIB} MiB peaks at ${fmt(d.capped.peakRssMiB)} MiB in ${fmt(d.capped.ms, 0)} ms (heap ${fmt(d.capped.heapAfterMiB)} MiB after): the live set is small, the rest is V8's lazy collection`,
    );
    console.log(
      `   the same reports again:    ${count(d.again.rowsAdded)} rows added; ${count(d.again.duplicates)} counted as already read, ${count(d.again.imported)} imported (${fmt(d.again.ms, 0)} ms)\n`,
    );
  }
  if (wanted('6')) {
    console.log('6. /dkim report over 1,000,000 stored records of one domain (all in the period asked), 100 answers');
    const q = await benchDmarcReport(1_000_000);
    console.log(
      `   filled in:                 ${fmt(q.fillMs / 1000)} s (${count(q.messages)} messages in the report)`,
    );
    for (const plan of q.plans) console.log(`   plan ${plan}`);
    console.log(
      `   report p50 / p99:          ${fmt(q.bot.p50)} / ${fmt(q.bot.p99)} ms (target p99 ≤ 300 ms; the four queries and the failing sources' reverse names)`,
    );
    console.log(
      `   floor p50 / p99:           ${fmt(q.floor.p50)} / ${fmt(q.floor.p99)} ms (the totals query alone); p99 ratio ${fmt(q.bot.p99 / q.floor.p99, 2)}`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
