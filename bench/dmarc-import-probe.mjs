import { ImapFlow } from 'imapflow';
import { parseImapUrl } from '../dist/config/imap-url.js';
import { parseConfig } from '../dist/config/index.js';
import { buildCore } from '../dist/core.js';
import { parseAggregateReport } from '../dist/domain/dmarc-report.js';
import { silentLogger } from '../dist/log.js';
import { reportParts } from '../dist/providers/imap.js';

/**
 * Child process of the DMARC import benchmark, so that each side's peak RSS is its own:
 *   bot <imap url> <database>: the bot's core reads the mailbox once (its DMARC_CRON round): every report parsed,
 *     stored and its message moved;
 *   floor <imap url>: the same messages fetched with imapflow and parsed with the same parser, nothing stored or moved.
 * Prints one JSON line: the time, the process's peak RSS, and what was read. Plain JavaScript on the compiled bot
 * (`npm run bench` builds it first), as `npm start` runs it: no TypeScript loader in the figures.
 */
const [mode, url, database] = process.argv.slice(2);
if (!url || (mode !== 'bot' && mode !== 'floor')) throw new Error('usage: dmarc-import-probe bot|floor <url> [db]');

const result = mode === 'bot' ? await bot(url, database ?? '') : await floor(url);
console.log(JSON.stringify({ peakRssMiB: process.resourceUsage().maxRSS / 1024, ...result }));

/** @param {string} imapUrl @param {string} path */
async function bot(imapUrl, path) {
  const core = buildCore(
    parseConfig({
      DATABASE_PATH: path,
      DMARC_IMAP_URL: imapUrl,
      OVH_APP_KEY: 'k',
      OVH_APP_SECRET: 's',
      OVH_CONSUMER_KEY: 'c',
    }),
    { log: silentLogger },
  );
  const rows = () => core.store.db.prepare('SELECT COUNT(*) AS n FROM dmarc_records').get().n;
  const before = rows();
  const heapBeforeMiB = process.memoryUsage().heapTotal / 2 ** 20;
  const started = performance.now();
  const round = await core.reports.round();
  const ms = performance.now() - started;
  if (round.mailboxError) throw new Error(round.mailboxError);
  const added = rows() - before;
  core.close();
  return {
    ms,
    heapBeforeMiB,
    heapAfterMiB: process.memoryUsage().heapTotal / 2 ** 20,
    ...round.read,
    domains: round.read?.domains.length,
    rowsAdded: added,
  };
}

/** @param {string} imapUrl */
async function floor(imapUrl) {
  const started = performance.now();
  const target = parseImapUrl(imapUrl);
  const client = new ImapFlow({
    host: target.host,
    port: target.port,
    secure: target.secure,
    auth: { user: target.user, pass: target.password },
    logger: false,
    disableAutoIdle: true,
  });
  await client.connect();
  let reports = 0;
  let records = 0;
  const lock = await client.getMailboxLock(target.folder);
  try {
    const listed = await client.fetchAll('1:*', { uid: true, size: true, bodyStructure: true });
    for (const message of listed.sort((a, b) => a.uid - b.uid)) {
      for (const part of message.bodyStructure ? reportParts(message.bodyStructure) : []) {
        const download = await client.download(String(message.uid), part.id, { uid: true });
        const chunks = [];
        for await (const chunk of download.content ?? []) chunks.push(chunk);
        const report = parseAggregateReport(Buffer.concat(chunks));
        reports++;
        records += report.records.length;
      }
    }
  } finally {
    lock.release();
  }
  await client.logout();
  return { ms: performance.now() - started, reports, records };
}
