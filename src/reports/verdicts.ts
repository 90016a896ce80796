import type { Clock } from '../clock.ts';
import { relaxedAligned } from '../domain/dmarc-record.ts';
import { days, messages, names } from '../domain/figures-text.ts';
import { showRun } from '../domain/names.ts';
import type { Notice } from '../domain/notices.ts';
import { DAY_MS } from '../domain/time.ts';
import type { Journal } from '../engine/journal.ts';
import type { SelectorSeen } from '../store/dmarc.ts';
import type { Store } from '../store/index.ts';
import type { Watch } from '../store/watches.ts';

/**
 * The receivers' verdict on a domain's signing selector (DESIGN §2.8), said once each in the thread of the run that
 * made it sign, mentioning its requester: the proof that it works in production ("Receivers confirm: …"), and a
 * selector failing at the receivers (more of its messages failed than passed), with the sources and who reported them.
 */

export class Verdicts {
  constructor(private readonly d: { store: Store; journal: Journal; clock: Clock }) {}

  /** Looks at each domain's signing selector in the reports; returns what was said. */
  sayFor(domains: string[]): { proofs: number; failures: number } {
    const said = { proofs: 0, failures: 0 };
    for (const domain of domains) {
      const watch = this.d.store.watches.get(domain);
      if (!watch) continue;
      const seen = this.d.store.dmarc
        .selectorsSeen(domain, watch.signingSince - DAY_MS)
        .find((s) => s.selector === watch.selector && relaxedAligned(s.signingDomain, domain));
      if (!seen) continue;
      if (seen.passed > 0 && this.once(watch, 'proof', () => this.proof(watch, seen))) said.proofs++;
      if (seen.failed > seen.passed && this.once(watch, 'failing', () => this.failing(watch, seen))) said.failures++;
    }
    return said;
  }

  /** Takes the note and says it in one transaction: two processes reading the same reports say it once. */
  private once(watch: Watch, kind: 'proof' | 'failing', notice: () => Notice): boolean {
    const { store, journal, clock } = this.d;
    const now = clock.now();
    return store.transaction(() => {
      if (!store.dmarcDomains.noteOnce(watch.domain, watch.selector, kind, now)) return false;
      const run = store.runs.get(watch.runId);
      if (run) {
        store.events.add(run.id, 'bot', `dmarc_${kind}`, { selector: watch.selector }, now);
        journal.say(run, [notice()], `dmarc-${kind}-${watch.selector}`, now, 'all');
      }
      return true;
    });
  }

  private proof(watch: Watch, seen: SelectorSeen): Notice {
    return {
      type: 'reply',
      level: 'success',
      mention: true,
      text: `Receivers confirm: ${messages(seen.passed)} signed with \`${watch.selector}\` passed DKIM at ${names(seen.confirmedBy)} over ${days(seen.covered.days)}. DKIM of ${showRun(watch)} is in production.`,
    };
  }

  private failing(watch: Watch, seen: SelectorSeen): Notice {
    const sources = this.d.store.dmarc.selectorFailures(watch.domain, watch.selector, watch.signingSince - DAY_MS, 5);
    const from = sources
      .map((s) => `${s.sourceIp} (${messages(s.messages)}, reported by ${names(s.reporters)})`)
      .join('; ');
    return {
      type: 'reply',
      level: 'warning',
      mention: true,
      text: `Receivers report that mail signed with \`${watch.selector}\` fails DKIM: ${messages(seen.failed)} failed, ${messages(seen.passed)} passed (reported by ${names(seen.failedAt)}). Where it came from: ${from || 'the reports name no source'}. Check that this mail leaves through OVH's servers, and the key's record in DNS (\`/dkim status ${watch.domain}\`).`,
    };
  }
}
