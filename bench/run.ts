import { benchAck } from './ack.ts';
import { benchMemory } from './memory.ts';
import { benchProvisioning } from './provisioning.ts';

/** `npm run bench`: prints the performance figures of DESIGN §7. A benchmark, not a test: nothing here fails. */
const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  const domains = Number(process.env.BENCH_DOMAINS ?? 1000);
  console.log(`dkim-bot benchmark (node ${process.version}, ${new Date().toISOString()})\n`);

  console.log(`1. ${domains} domains set up at once against the OVH simulator (simulated clock)`);
  const p = await benchProvisioning(domains, 60);
  console.log(`   runs done:                 ${p.done} / ${p.domains}`);
  console.log(
    `   OVH calls per domain:      ${fmt(p.callsPerDomain, 2)} (minimum the flow needs: ${p.minCallsPerDomain}; ratio ${fmt(p.callsPerDomain / p.minCallsPerDomain, 2)})`,
  );
  console.log(
    `   total time:                ${fmt(p.simulatedMinutes)} min simulated (lower bound ${fmt(p.lowerBoundMinutes)} min = ${p.minCallsPerDomain * p.domains} calls ÷ ${p.ratePerMinute}/min; ratio ${fmt(p.simulatedMinutes / p.lowerBoundMinutes, 2)})`,
  );
  console.log(`   429s caused by the bot:    ${p.rateLimited429s}`);
  console.log(`   most calls in any 60 s:    ${p.maxInAnyWindow} (limit ${p.ratePerMinute})`);
  console.log(`   wall time:                 ${fmt(p.wallSeconds)} s\n`);

  console.log('2. Slash-command ack latency, 100 concurrent /dkim setup commands (OVH answering in 200 ms)');
  const a = await benchAck(100);
  console.log(`   statuses:                  ${JSON.stringify(a.statuses)}`);
  console.log(
    `   ack p50 / p99 / max:       ${fmt(a.p50Ms)} / ${fmt(a.p99Ms)} / ${fmt(a.maxMs)} ms (Slack's deadline 3000 ms; p99 uses ${fmt((a.p99Ms / 3000) * 100)}% of it)`,
  );
  console.log(`   bot start-up (HTTP mode):  ${fmt(a.startupMs)} ms\n`);

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
