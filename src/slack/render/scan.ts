import type { KnownBlock } from '@slack/types';
import { readinessWords } from '../../domain/readiness.ts';
import { countsLine, DKIM_STATE_LABELS, type ScanLine, type ScanSummary } from '../../domain/scan.ts';
import { joinText, type Text, words } from '../../domain/text.ts';
import { BUTTON_MAX, context, plain, sections } from './text.ts';

/**
 * A finished scan on its parent message: the counts (the bulk senders' rules among them); every domain of a small
 * account (those a setup would fix first, each with a **Set up** button; signing ones with their selector and DMARC
 * policy; each with its bulk-sender readiness), or, for a larger one, the first domains a setup would fix and the rest
 * counted; then **Set up all**. The CSV in the thread has every domain.
 */

export const SCAN_SETUP_ACTION = 'dkim_scan_setup';
export const SETUP_ALL_ACTION = 'dkim_setup_all';
/** Slack takes 25 elements an actions block. */
const BUTTONS_PER_BLOCK = 25;

export function scanBlocks(runId: number, scan: ScanSummary): KnownBlock[] {
  const { counts } = scan;
  const shown = shownOf(scan);
  const needing = shown.filter((l) => l.needsSetup);
  const others = shown.filter((l) => !l.needsSetup);
  const blocks: KnownBlock[] = [...sections(countsLine(counts))];
  if (needing.length > 0) {
    blocks.push(...sections(joinText([`*Need a setup* (${counts.needsSetup})`, ...needing.map(needingLine)])));
  }
  const unshown = counts.needsSetup - needing.length;
  if (unshown > 0)
    blocks.push(...context(`…and ${unshown} more need a setup: every domain is in the CSV file in the thread.`));
  if (others.length > 0)
    blocks.push(...sections(joinText([`*The others* (${others.length})`, ...others.map(otherLine)])));
  if (!scan.all && counts.total > shown.length) {
    const rest = counts.total - counts.needsSetup;
    blocks.push(
      ...context(
        `${rest} domain${rest === 1 ? '' : 's'} need no setup (${signingOf(scan)}): each is in the CSV file in the thread.`,
      ),
    );
  }
  blocks.push(...buttons(runId, needing, counts.needsSetup));
  return blocks;
}

/** Summaries stored before every domain was shown named only those needing a setup. */
function shownOf(scan: ScanSummary & { needing?: Omit<ScanLine, 'where' | 'dmarc' | 'needsSetup'>[] }): ScanLine[] {
  if (scan.shown) return scan.shown;
  return (scan.needing ?? []).map((n) => ({ ...n, where: n.service, dmarc: '', needsSetup: true }));
}

function needingLine(line: ScanLine): Text {
  return words`• *${line.domain}* · ${line.where} · ${DKIM_STATE_LABELS[line.dkim]}${bulk(line)} — ${line.next}`;
}

function otherLine(line: ScanLine): Text {
  const dkim = line.signing ? `signing with \`${line.signing}\`` : DKIM_STATE_LABELS[line.dkim];
  const next = line.next === 'nothing' ? '' : ` — ${line.next}`;
  return words`• *${line.domain}* · ${line.where} · ${dkim} · DMARC ${line.dmarc || '?'}${bulk(line)}${next}`;
}

/** ` · bulk senders: not ready (no DMARC)`; nothing on a line stored before readiness was counted. */
function bulk(line: ScanLine): string {
  return line.readiness ? ` · bulk senders: ${readinessWords(line.readiness)}` : '';
}

function signingOf(scan: ScanSummary): string {
  return `${scan.counts.dkim.signing} signing`;
}

/** A **Set up** button per domain shown needing one, and **Set up all**, 25 to an actions block. */
function buttons(runId: number, needing: ScanLine[], total: number): KnownBlock[] {
  const elements = needing.map((line, i) => ({
    type: 'button' as const,
    action_id: `${SCAN_SETUP_ACTION}_${i}`,
    text: plain(`Set up ${line.domain}`, BUTTON_MAX),
    value: `${runId}|${line.domain}|${line.service}`.slice(0, 2000),
  }));
  const all =
    total > 0
      ? [
          {
            type: 'button' as const,
            action_id: SETUP_ALL_ACTION,
            text: plain(`Set up all ${total}`, BUTTON_MAX),
            style: 'primary' as const,
            value: String(runId),
            confirm: {
              title: plain('Set up all?', 100),
              text: plain(
                `One setup per domain (${total}), as one group: keys and records are made; signing starts only after the group's approval.`,
                300,
              ),
              confirm: plain('Start', 30),
              deny: plain('Cancel', 30),
            },
          },
        ]
      : [];
  const every = [...elements, ...all];
  const blocks: KnownBlock[] = [];
  for (let i = 0; i < every.length; i += BUTTONS_PER_BLOCK) {
    blocks.push({ type: 'actions', block_id: `scan-${runId}-${i}`, elements: every.slice(i, i + BUTTONS_PER_BLOCK) });
  }
  return blocks;
}
