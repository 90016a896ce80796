import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../clock.ts';
import type { Store } from '../store/index.ts';

/**
 * What `GET /metrics` serves (DESIGN §5.1), in Prometheus' text format: the runs by kind and state, the approvals
 * waiting, the outbox's backlog, every OVH and Slack request as it really happened, the DMARC reports read, and Node's
 * own figures. Gauges are read from the database when scraped; counters are counted where the requests are made.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly ovhRequests: Counter<'method' | 'status'>;
  private readonly ovhSeconds: Histogram<'method'>;
  private readonly slackRequests: Counter<'method' | 'ok'>;
  private readonly dmarcReports: Counter<'result'>;
  private readonly dmarcMailboxReads: Counter<'result'>;

  constructor(store: Store, clock: Clock) {
    const registers = [this.registry];
    this.ovhRequests = new Counter({
      name: 'dkim_ovh_requests_total',
      help: 'OVH API requests made, by method and HTTP status (network failures as "network").',
      labelNames: ['method', 'status'],
      registers,
    });
    this.ovhSeconds = new Histogram({
      name: 'dkim_ovh_request_seconds',
      help: 'How long an OVH API request took, answer or failure.',
      labelNames: ['method'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.slackRequests = new Counter({
      name: 'dkim_slack_requests_total',
      help: 'Slack Web API requests made, by method and whether Slack answered ok.',
      labelNames: ['method', 'ok'],
      registers,
    });
    this.dmarcReports = new Counter({
      name: 'dkim_dmarc_reports_total',
      help: 'DMARC aggregate reports read from the mailbox, by result (imported, duplicate, rejected).',
      labelNames: ['result'],
      registers,
    });
    this.dmarcMailboxReads = new Counter({
      name: 'dkim_dmarc_mailbox_reads_total',
      help: 'Reads of the DMARC reports mailbox (DMARC_CRON), by result: ok, or failed (login refused, link down).',
      labelNames: ['result'],
      registers,
    });
    new Gauge({
      name: 'dkim_runs',
      help: 'Runs in the database, by kind and state.',
      labelNames: ['kind', 'state'],
      registers,
      collect() {
        this.reset();
        for (const { kind, state, n } of store.runs.countsByKindAndState()) this.set({ kind, state }, n);
      },
    });
    new Gauge({
      name: 'dkim_approvals_pending',
      help: 'Approval cards waiting for a decision, not expired.',
      registers,
      collect() {
        this.set(store.approvals.countPending(clock.now()));
      },
    });
    new Gauge({
      name: 'dkim_outbox_pending',
      help: 'Messages waiting to be delivered to Slack.',
      registers,
      collect() {
        this.set(store.outbox.pendingCount());
      },
    });
    new Gauge({
      name: 'dkim_outbox_oldest_seconds',
      help: 'Age of the oldest message waiting to be delivered to Slack (0 when none waits).',
      registers,
      collect() {
        const oldest = store.outbox.oldestPendingAt();
        this.set(oldest === undefined ? 0 : Math.max(0, (clock.now() - oldest) / 1000));
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  ovhRequest(method: string, status: number | 'network', seconds: number): void {
    this.ovhRequests.inc({ method, status: String(status) });
    this.ovhSeconds.observe({ method }, seconds);
  }

  slackRequest(method: string, ok: boolean): void {
    this.slackRequests.inc({ method, ok: String(ok) });
  }

  dmarcReport(result: 'imported' | 'duplicate' | 'rejected'): void {
    this.dmarcReports.inc({ result });
  }

  dmarcMailboxRead(ok: boolean): void {
    this.dmarcMailboxReads.inc({ result: ok ? 'ok' : 'failed' });
  }

  /** The text a scrape gets; a gauge whose query fails makes this reject, which the route answers with a 503. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
