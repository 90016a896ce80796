import type { Bot } from '../src/slack/app.ts';
import type { MemoryMailbox } from '../test/sim/memory-mailbox.ts';
import { type FakeSlack, messageLines } from '../test/sim/slack.ts';

/** The evidence period of the demo's journey (DMARC_STEP_UP_DAYS is 14 days in production). */
export const DMARC_EVIDENCE_SECONDS = 10;

interface DemoDmarc {
  bot: Bot;
  slack: FakeSlack;
  mailbox: MemoryMailbox;
  domain: string;
  say: (text: string) => void;
  /** A user types `/dkim <text>`; the ack is printed. */
  type: (text: string) => Promise<string>;
  runToTheEnd: (text: string) => Promise<void>;
  approveCard: (threadIndex: number) => Promise<void>;
  until: <T>(probe: () => T | undefined | false | null, timeoutMs: number) => Promise<T>;
}

/**
 * `-- --dmarc`: `/dkim dmarc` on the signing domain (its card, approved), then receivers' reports arriving in the
 * reports mailbox as the bot reads it on DMARC_CRON: the proof in the setup's thread, `/dkim report`, and once the
 * evidence period has passed with enough passing mail, the step-up card to p=quarantine, approved.
 */
export async function dmarcToTheEnd(demo: DemoDmarc): Promise<void> {
  const { bot, slack, mailbox, domain, say, until } = demo;
  await demo.runToTheEnd(`dmarc ${domain}`);
  say(`SPF and DMARC are in DNS: ${txt(bot, domain)}`);

  const selector = bot.core.store.watches.get(domain)?.selector ?? '';
  const day = (count: number, ip: string, result: 'pass' | 'fail') => ({
    sourceIp: ip,
    count,
    dkim: result,
    spf: result,
    headerFrom: domain,
    dkimResults: [{ domain, selector, result }],
  });
  mailbox.deliver('google.com', domain, [day(1_180, '198.51.100.7', 'pass'), day(12, '203.0.113.9', 'fail')], 1);
  mailbox.deliver('Outlook.com', domain, [day(420, '198.51.100.7', 'pass')], 1);
  say('two aggregate reports arrive in the reports mailbox (Google and Outlook, zipped XML)');
  const setupThread = slack.messages('CDEMO')[0]?.ts ?? '';
  const proof = await until(
    () => slack.thread('CDEMO', setupThread).find((m) => messageLines(m).join(' ').includes('Receivers confirm')),
    30_000,
  );
  say(`the bot read them on DMARC_CRON; in the setup's thread: ${messageLines(proof).join(' ')}`);

  const asked = await demo.type(`report ${domain}`);
  const [report] = await until(() => slack.responses(asked).length > 0 && slack.responses(asked), 10_000);
  say(`what <@UALICE> alone sees:\n\n${messageLines(report?.body as { blocks?: unknown[] }).join('\n')}\n`);

  // After the evidence period, a fresh day of reports: enough passing mail for the journey to propose quarantine.
  const written = bot.core.store.dmarcDomains.get(domain)?.policySince ?? Date.now();
  await until(() => Date.now() - written > (DMARC_EVIDENCE_SECONDS - 2) * 1000, 30_000);
  const proposals = slack.messages('CDEMO').length;
  mailbox.deliver('google.com', domain, [day(2_400, '198.51.100.7', 'pass'), day(9, '203.0.113.9', 'fail')], 1);
  say(`${DMARC_EVIDENCE_SECONDS} s of evidence later, another report: 2,400 of 2,409 messages pass`);
  await demo.approveCard(proposals);
  say(`the policy is stepped up: ${txt(bot, domain)}`);
}

function txt(bot: Bot, domain: string): string {
  const row = bot.core.store.dmarcDomains.get(domain);
  return row ? `SPF \`${row.spf}\` · DMARC \`${row.dmarc}\`` : 'nothing recorded';
}
