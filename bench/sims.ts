/**
 * The simulators of the ack benchmark, in a process of their own so that they share no event loop with the app
 * measured nor with the load: the OVH simulator answering every call in 200 ms, with `ack-<i>.fr` (i < N) and
 * `ack-warmup.fr` as Exchange domains, and a FakeSlack. Prints one JSON line (`SimsReady`) on stdout, then stays up
 * until stdin closes or SIGTERM/SIGINT. Import only its types: importing it starts the simulators.
 *
 *   node --import tsx bench/sims.ts [N=100]
 */
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { OvhSim } from '../test/sim/ovh.ts';
import { FakeSlack } from '../test/sim/slack.ts';

export interface SimsReady {
  /** OVH_ENDPOINT, `https://127.0.0.1:PORT/1.0`. */
  endpoint: string;
  appKey: string;
  appSecret: string;
  consumerKey: string;
  /** DNS_SERVERS. */
  dnsServer: string;
  /** NODE_EXTRA_CA_CERTS: the simulator's self-signed certificate. */
  caFile: string;
  /** SLACK_API_URL. */
  apiUrl: string;
  /** The only bot token FakeSlack accepts (SLACK_BOT_TOKEN). */
  botToken: string;
  /** Append an id to get a response_url FakeSlack records. */
  responseUrlBase: string;
  /** The Exchange domains added: `ack-0.fr` … `ack-<N-1>.fr`, then the warm-up domain. */
  domains: number;
  warmupDomain: string;
}

const BENCH_BOT_TOKEN = 'xoxb-bench-token';
const WARMUP_DOMAIN = 'ack-warmup.fr';

async function main(): Promise<void> {
  const domains = Number(process.argv[2] ?? 100);
  const sim = await OvhSim.start({ faults: { slowMs: 200, slowRate: 1, seed: 1 } });
  const slack = await FakeSlack.start({ botToken: BENCH_BOT_TOKEN });
  for (const domain of [...Array.from({ length: domains }, (_, i) => `ack-${i}.fr`), WARMUP_DOMAIN])
    sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });

  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    sim.faults = {};
    await Promise.allSettled([slack.close(), sim.close()]);
    // The certificate's temporary directory (makeTestCertificate leaves it behind).
    rmSync(dirname(sim.caFile), { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGTERM', () => void close());
  process.once('SIGINT', () => void close());
  process.stdin.on('end', () => void close());
  process.stdin.on('close', () => void close());
  process.stdin.resume();

  const ready: SimsReady = {
    endpoint: sim.endpoint,
    appKey: sim.credentials.appKey,
    appSecret: sim.credentials.appSecret,
    consumerKey: sim.credentials.consumerKey,
    dnsServer: sim.dnsServer,
    caFile: sim.caFile,
    apiUrl: slack.apiUrl,
    botToken: BENCH_BOT_TOKEN,
    responseUrlBase: slack.responseUrl(''),
    domains,
    warmupDomain: WARMUP_DOMAIN,
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
