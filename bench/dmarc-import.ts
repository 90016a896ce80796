import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzAttachment, type RecordSpec, reportMail, reportXml, zipAttachment } from '../test/sim/dmarc-reports.ts';
import { DovecotSim } from '../test/sim/dovecot.ts';

/**
 * DESIGN §7's DMARC import: 1,000 aggregate reports (half gzip, half zip, 100 records each) appended to a real Dovecot
 * on loopback, imported by the bot's core (parsed, stored, each message moved) beside the floor of the same run (the
 * same messages fetched with imapflow and parsed with the same parser, nothing stored): each in a process of its own,
 * so that its peak RSS is its own. Two rounds in alternating order; then the first round's reports read again.
 */

export interface ImportSide {
  ms: number;
  peakRssMiB: number;
  /** V8's heap (heapTotal) before and after the import, the bot only. */
  heapBeforeMiB?: number;
  heapAfterMiB?: number;
}

export interface DmarcImportFigures {
  reports: number;
  records: number;
  rounds: { floor: ImportSide; bot: ImportSide & { imported: number; rowsAdded: number } }[];
  again: { imported: number; duplicates: number; rowsAdded: number; ms: number };
  capped: ImportSide & { heapBeforeMiB: number; heapAfterMiB: number };
}

export const CAPPED_HEAP_MIB = 64;

const REPORTERS = ['google.com', 'Outlook.com', 'Yahoo', 'Mail.Ru', 'comcast.net'];
const DAY_S = 86_400;

function messages(round: number, reports: number, recordsPerReport: number): Buffer[] {
  const begin = Math.floor(Date.UTC(2026, 10, 1) / 1000);
  return Array.from({ length: reports }, (_, n) => {
    const domain = `client${n % 50}.fr`;
    const records: RecordSpec[] = Array.from({ length: recordsPerReport }, (_, i) => {
      const failing = i % 50 === 0;
      return {
        sourceIp: failing ? `203.0.113.${i % 250}` : `198.51.${n % 200}.${i % 250}`,
        count: 1 + (i % 9),
        dkim: failing ? 'fail' : 'pass',
        spf: failing || i % 3 === 0 ? 'fail' : 'pass',
        headerFrom: domain,
        dkimResults: [{ domain, selector: `ovhex${n % 7}-selector1`, result: failing ? 'fail' : 'pass' }],
      };
    });
    const xml = reportXml({
      orgName: REPORTERS[n % REPORTERS.length],
      reportId: `round${round}-${n}`,
      domain,
      begin: begin + (n % 14) * DAY_S,
      end: begin + (n % 14) * DAY_S + DAY_S - 1,
      records,
    });
    return reportMail(`report ${round}-${n}`, [n % 2 ? gzAttachment(xml) : zipAttachment(xml)]);
  });
}

const probe = fileURLToPath(new URL('./dmarc-import-probe.mjs', import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: the probe's JSON line, read by the caller
function side(mode: 'bot' | 'floor', url: string, database = '', nodeFlags: string[] = []): any {
  const result = spawnSync(process.execPath, [...nodeFlags, probe, mode, url, database], {
    encoding: 'utf8',
    maxBuffer: 16 * 2 ** 20,
  });
  if (result.status !== 0) throw new Error(`dmarc import probe (${mode}) failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}');
}

export async function benchDmarcImport(reports = 1_000, recordsPerReport = 100): Promise<DmarcImportFigures> {
  const dovecot = await DovecotSim.start();
  const dir = mkdtempSync(join(tmpdir(), 'dkim-dmarc-import-'));
  const database = join(dir, 'bot.sqlite');
  try {
    const rounds: DmarcImportFigures['rounds'] = [];
    const first = messages(1, reports, recordsPerReport);
    for (const round of [1, 2]) {
      const user = `bench${round}`;
      await dovecot.appendAll(round === 1 ? first : messages(round, reports, recordsPerReport), user);
      const inbox = dovecot.url({ user });
      // Round 1: the floor first, reading the inbox; round 2: the bot first, the floor then reads what it moved.
      if (round === 1) {
        const floor = side('floor', inbox);
        const bot = side('bot', inbox, database);
        rounds.push({ floor, bot });
      } else {
        const bot = side('bot', inbox, database);
        const floor = side('floor', dovecot.url({ user, folder: 'dmarc-done' }));
        rounds.push({ floor, bot });
      }
    }
    await dovecot.appendAll(first, 'bench1');
    const again = side('bot', dovecot.url({ user: 'bench1' }), database);
    // What the peak is made of: the same import with V8's old space capped at 64 MiB (not how the bot runs).
    await dovecot.appendAll(messages(3, reports, recordsPerReport), 'bench3');
    const capped = side('bot', dovecot.url({ user: 'bench3' }), database, [`--max-old-space-size=${CAPPED_HEAP_MIB}`]);
    return { reports, records: reports * recordsPerReport, rounds, again, capped };
  } finally {
    await dovecot.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
