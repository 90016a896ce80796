import type { KnownBlock } from '@slack/types';
import { showRun } from '../../domain/names.ts';
import { type Run, stateLabel } from '../../domain/runs.ts';
import { countsLine, type ScanSummary } from '../../domain/scan.ts';
import { type Text, when, words } from '../../domain/text.ts';
import { placeOf } from '../../engine/summary.ts';
import type { RecentReports } from '../../operations/report.ts';
import type { Watch } from '../../store/watches.ts';
import { KIND_LABELS } from './messages.ts';
import { recentReportsBlocks } from './report.ts';
import { context, fit, section } from './text.ts';

/**
 * The App Home tab: what the watch found broken, the last scan, every active run, the latest finished ones, then one
 * line per domain the receivers' DMARC reports spoke of lately.
 */
export function homeView(
  active: Run[],
  finished: Run[],
  now: number,
  { broken = [], lastScan, reported }: { broken?: Watch[]; lastScan?: Run; reported?: RecentReports } = {},
): { type: 'home'; blocks: KnownBlock[] } {
  const line = (run: Run): Text => {
    const where = placeOf(run).where ?? KIND_LABELS[run.kind];
    const next = run.nextCheckAt
      ? words` · ${run.state === 'awaiting_approval' ? 'the card expires' : 'next check'} ${when(run.nextCheckAt)}`
      : '';
    const error = run.lastError ? ` · last error: ${run.lastError}` : '';
    return words`*${showRun(run)}* · ${where} · ${stateLabel(run.state)} · age ${age(now - run.createdAt)}${next}${error}`;
  };
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: 'DKIM runs' } },
    ...(broken.length
      ? [
          section(`:warning: *Watched domains with DKIM broken in DNS* (${broken.length})`),
          ...broken.slice(0, 10).map((w) => section(`*${w.domain}* · \`${w.selector}\` · ${w.observation ?? ''}`)),
          { type: 'divider' } as KnownBlock,
        ]
      : []),
    ...(lastScan ? [lastScanBlock(lastScan), { type: 'divider' } as KnownBlock] : []),
    section(`*Active runs* (${active.length})`),
    ...(active.length ? active.slice(0, 20).map((r) => section(line(r))) : context('No active runs.')),
    { type: 'divider' },
    section('*Latest finished runs*'),
    ...(finished.length ? finished.slice(0, 5).flatMap((r) => context(line(r))) : context('None yet.')),
    ...(reported ? [{ type: 'divider' } as KnownBlock, ...recentReportsBlocks(reported)] : []),
  ];
  return { type: 'home', blocks: fit(blocks) };
}

function age(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} d`;
}

/** The last scan on App Home: its counts once done, how far it is while it works. */
function lastScanBlock(scan: Run): KnownBlock {
  const summary = scan.facts.summary as ScanSummary | undefined;
  const head = words`*Last scan* (run #${scan.id}, ${stateLabel(scan.state).toLowerCase()}, ${when(scan.updatedAt)})`;
  if (summary) {
    const setup = summary.counts.needsSetup
      ? `\n${summary.counts.needsSetup} need a setup: its thread has the buttons.`
      : '';
    return section(words`${head}\n${countsLine(summary.counts)}${setup}`);
  }
  const detail = typeof scan.facts.lastObservation === 'string' ? `\n${scan.facts.lastObservation}` : '';
  return section(words`${head}${detail}`);
}
