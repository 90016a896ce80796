import { benchAck } from './ack.ts';
import { benchMemory } from './memory.ts';
import { benchProvisioning } from './provisioning.ts';
import { benchScan } from './scan.ts';

/** `npm run bench`: prints the performance figures of DESIGN §7. A benchmark, not a test: nothing here fails. */
const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  const domains = Number(process.env.BENCH_DOMAINS ?? 1000);
  console.log(`dkim-bot benchmark (node ${process.version}, ${new Date().toISOString()})\n`);

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
    if (setups) console.log(`   setups done meanwhile:     ${s.setupsDone} / ${s.setups} (${s.setupCalls} OVH calls)`);
    console.log(`   429s caused by the bot:    ${s.rateLimited429s}`);
    console.log(`   most calls in any 60 s:    ${s.maxInAnyWindow} (limit ${s.ratePerMinute})`);
    console.log(`   wall time:                 ${fmt(s.wallSeconds)} s\n`);
  }

  console.log(
    '2. Slash-command ack latency, 100 concurrent /dkim setup commands (OVH answering in 200 ms; bot, floor and simulators in their own processes)',
  );
  const a = await benchAck(100);
  const statuses = [...a.botRuns, ...a.floorRuns].map((run) => JSON.stringify(run.statuses));
  const p99s = (runs: { p99Ms: number }[]) => runs.map((run) => fmt(run.p99Ms)).join(', ');
  console.log(`   bot:                       ${a.botCommand} (each run on a fresh database)`);
  console.log(
    `   statuses:                  ${[...new Set(statuses)].join(' ')} (runs started: ${a.bot.started} / ${a.commands})`,
  );
  console.log(
    `   bot ack p50 / p99 / max:   ${fmt(a.bot.p50Ms)} / ${fmt(a.bot.p99Ms)} / ${fmt(a.bot.maxMs)} ms, the median of ${a.botRuns.length} runs (p99 ${p99s(a.botRuns)})`,
  );
  console.log(
    `   floor p50 / p99 / max:     ${fmt(a.floor.p50Ms)} / ${fmt(a.floor.p99Ms)} / ${fmt(a.floor.maxMs)} ms, a bare Bolt app that only acks, the median of ${a.floorRuns.length} runs alternated with the bot's (p99 ${p99s(a.floorRuns)})`,
  );
  console.log(
    `   bot p99 ÷ floor p99:       ${fmt(a.p99Ratio, 2)} (target ≤ ${a.targetRatio}; Slack's deadline is 3000 ms)`,
  );
  console.log(
    `   start-up, spawn→listening: bot ${fmt(a.bot.startupMs)} ms, floor ${fmt(a.floor.startupMs)} ms; bot log lines during the load: ${a.bot.logLines}\n`,
  );

  console.log('3. Memory and start-up with 10,000 runs stored');
  const m = benchMemory(10_000);
  console.log(`   runs stored / active:      ${m.runs} / ${m.activeRuns}`);
  console.log(`   RSS after one poll cycle:  ${fmt(m.rssMiB)} MiB (heap used ${fmt(m.heapMiB)} MiB)`);
  console.log(`   start-up (config→engine):  ${fmt(m.startupMs)} ms; one poll cycle + list: ${fmt(m.tickMs)} ms`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
