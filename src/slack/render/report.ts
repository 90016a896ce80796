import type { KnownBlock } from '@slack/types';
import { count, lastDays, plural } from '../../domain/figures-text.ts';
import { joinText, type Text } from '../../domain/text.ts';
import type { RecentReports, ReportSections } from '../../operations/report.ts';
import { context, fallback, fit, sections } from './text.ts';

/**
 * `/dkim report`'s answer, for the person who asked alone: the title and the figures first, the failing sources, then
 * the small print (the days covered, who reported). Reporters' names and reverse names come from outside: they pass
 * the one escape boundary like every other word (text.ts), and the texts are verbatim, so none can mention, ping or
 * link.
 */
export function reportMessage(report: ReportSections): {
  response_type: 'ephemeral';
  text: string;
  blocks: KnownBlock[];
} {
  const blocks: KnownBlock[] = [
    ...sections(joinText([report.title, ...report.figures])),
    ...(report.sources.length ? sections(joinText(report.sources)) : []),
    ...(report.notes.length ? context(joinText(report.notes)) : []),
  ];
  return { response_type: 'ephemeral', text: fallback(report.title), blocks: fit(blocks) };
}

/** A refusal or a failure, for the person who asked alone. */
export function reportRefusal(text: Text): { response_type: 'ephemeral'; text: string } {
  return { response_type: 'ephemeral', text: fallback(text) };
}

/** App Home's section: one line per domain reported on, the rest counted. */
export function recentReportsBlocks(recent: RecentReports): KnownBlock[] {
  const heading = `*DMARC reports* (last ${lastDays(recent.days)})`;
  if (recent.lines.length === 0) return [...sections(heading), ...context('No DMARC report in that time.')];
  const more = recent.more
    ? context(`…and ${count(recent.more)} more ${plural(recent.more, 'domain')}: \`/dkim report <domain>\`.`)
    : context('The details of one: `/dkim report <domain> [days]`.');
  return [...sections(joinText([heading, ...recent.lines])), ...more];
}
