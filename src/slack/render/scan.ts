import type { KnownBlock } from '@slack/types';
import { countsLine, DKIM_STATE_LABELS, type ScanSummary } from '../../domain/scan.ts';
import { describeService, parseServiceSpec } from '../../providers/ovh-mail.ts';

/** A finished scan on its parent message: the counts, a Set up button per domain named, and Set up all. */

export const SCAN_SETUP_ACTION = 'dkim_scan_setup';
export const SETUP_ALL_ACTION = 'dkim_setup_all';

export function scanBlocks(runId: number, scan: ScanSummary, mrkdwn: (text: string) => KnownBlock): KnownBlock[] {
  const { counts, needing } = scan;
  const blocks: KnownBlock[] = [mrkdwn(countsLine(counts))];
  if (counts.needsSetup === 0) return blocks;
  blocks.push(mrkdwn(`*${counts.needsSetup} domain${counts.needsSetup === 1 ? '' : 's'} need a setup*`));
  needing.forEach((entry, i) => {
    const where = describeService(parseServiceSpec(entry.service) ?? { offer: 'mxplan' }).replace(/`/g, '');
    blocks.push({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*${entry.domain}* · ${where} · ${DKIM_STATE_LABELS[entry.dkim]}\n${entry.next}`.slice(0, 2900),
      },
      accessory: {
        type: 'button',
        action_id: `${SCAN_SETUP_ACTION}_${i}`,
        text: { type: 'plain_text', text: 'Set up' },
        value: `${runId}|${entry.domain}|${entry.service}`,
      },
    });
  });
  const more = counts.needsSetup - needing.length;
  if (more > 0) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `…and ${more} more: every domain is in the CSV file in the thread.` }],
    });
  }
  blocks.push({
    type: 'actions',
    block_id: `scan-${runId}`,
    elements: [
      {
        type: 'button',
        action_id: SETUP_ALL_ACTION,
        text: { type: 'plain_text', text: `Set up all ${counts.needsSetup}` },
        style: 'primary',
        value: String(runId),
        confirm: {
          title: { type: 'plain_text', text: 'Set up all?' },
          text: {
            type: 'mrkdwn',
            text: `One setup per domain (${counts.needsSetup}), as one group: keys and records are made; signing starts only after the group's one approval.`,
          },
          confirm: { type: 'plain_text', text: 'Start' },
          deny: { type: 'plain_text', text: 'Cancel' },
        },
      },
    ],
  });
  return blocks;
}
