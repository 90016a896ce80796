import { relaxedAligned } from './dmarc-record.ts';
import type { AggregateReport, ReportRecord } from './dmarc-report.ts';

/** A report's figures, in messages (a record's `count`), computed once when it is stored. */

export interface ReportTotals {
  messages: number;
  /** DMARC passed: the receiver evaluated aligned DKIM or aligned SPF as a pass. */
  dmarcPass: number;
  dkimPass: number;
  spfPass: number;
}

export interface Signature {
  signingDomain: string;
  /** '' when the report names none. */
  selector: string;
  result: string;
  /** The signing domain is aligned (relaxed) with the record's From domain. */
  aligned: boolean;
}

export interface SignatureTotals {
  signingDomain: string;
  selector: string;
  messages: number;
  alignedPass: number;
  /** Passed, for mail whose From domain is another's (a third party signing with its own domain). */
  unalignedPass: number;
  failed: number;
}

export function reportTotals(report: AggregateReport): ReportTotals {
  const totals = { messages: 0, dmarcPass: 0, dkimPass: 0, spfPass: 0 };
  for (const { count, dkimEvaluated, spfEvaluated } of report.records) {
    totals.messages += count;
    if (dkimEvaluated === 'pass' || spfEvaluated === 'pass') totals.dmarcPass += count;
    if (dkimEvaluated === 'pass') totals.dkimPass += count;
    if (spfEvaluated === 'pass') totals.spfPass += count;
  }
  return totals;
}

/** A record's DKIM signatures, each (domain, selector) once: a report may list one twice; a pass is kept first. */
export function signaturesOf(record: ReportRecord): Signature[] {
  const byKey = new Map<string, Signature>();
  for (const { domain, selector = '', result } of record.dkim) {
    const key = JSON.stringify([domain, selector]);
    if (byKey.get(key)?.result === 'pass') continue;
    byKey.set(key, { signingDomain: domain, selector, result, aligned: relaxedAligned(domain, record.headerFrom) });
  }
  return [...byKey.values()];
}

export function signatureTotals(report: AggregateReport): SignatureTotals[] {
  const byKey = new Map<string, SignatureTotals>();
  for (const record of report.records) {
    for (const { signingDomain, selector, result, aligned } of signaturesOf(record)) {
      const key = JSON.stringify([signingDomain, selector]);
      let totals = byKey.get(key);
      if (!totals) {
        totals = { signingDomain, selector, messages: 0, alignedPass: 0, unalignedPass: 0, failed: 0 };
        byKey.set(key, totals);
      }
      totals.messages += record.count;
      if (result !== 'pass') totals.failed += record.count;
      else if (aligned) totals.alignedPass += record.count;
      else totals.unalignedPass += record.count;
    }
  }
  return [...byKey.values()];
}
