import { type Notice, zoneFileLine } from './notices.ts';
import { type RunState, stateLabel } from './runs.ts';
import { countsLine } from './scan.ts';
import { plainText, utcMinute } from './text.ts';

/** A notice as plain text, for the CLI and the logs of a face without Slack. */
export function noticeText(notice: Notice): string {
  switch (notice.type) {
    case 'parent':
    case 'parent_update': {
      const s = notice.summary;
      const label = stateLabel(s.state as RunState) ?? s.state;
      const where = s.where ? ` on ${s.where}` : '';
      const head = `[run #${s.runId}] ${s.kind} ${s.domain}${where}: ${label}${s.lastError ? ` (${s.lastError})` : ''}`;
      return s.scan ? `${head}\n${countsLine(s.scan.counts)}` : head;
    }
    case 'reply':
      return `${notice.mention ? '@requester ' : ''}${plainText(notice.text)}`;
    case 'records':
      return [
        plainText(notice.text),
        ...notice.records.flatMap((r) => [`  ${zoneFileLine(r)}`, `  (name in a web form: ${r.relative})`]),
      ].join('\n');
    case 'approval_request':
      return [
        `APPROVAL #${notice.approvalId}: ${plainText(notice.title)}`,
        ...notice.lines.map((l) => `  ${plainText(l)}`),
        ...(notice.preview ? [notice.preview] : []),
        `  Approvers: ${notice.approvers.join(', ') || 'nobody configured'}; expires ${utcMinute(notice.expiresAt)}`,
      ].join('\n');
    case 'choice':
      return [
        `${notice.mention ? '@requester ' : ''}QUESTION ${notice.key}: ${plainText(notice.title)}`,
        ...notice.lines.map((l) => `  ${plainText(l)}`),
        `  Answers: ${notice.options.map((o) => o.value).join(' | ')}`,
      ].join('\n');
    case 'choice_made':
      return `Answered ${notice.key}: ${notice.chosen} (by ${notice.by})`;
    case 'file':
      return `[file ${notice.filename}: ${notice.title}]`;
    case 'approval_decided':
      return `Approval #${notice.approvalId} ${notice.decision}${notice.by ? ` by ${notice.by}` : ''}`;
  }
}
