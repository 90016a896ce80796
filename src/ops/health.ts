import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { errorMessage } from '../providers/errors.ts';
import type { Store } from '../store/index.ts';
import type { Metrics } from './metrics.ts';

/** What the health check looks at. Each is read when asked; none is trusted to be up. */
export interface HealthSources {
  store: Store;
  /** The Slack listener is up (false once stopping). */
  listening(): boolean;
  /** Socket Mode: the link to Slack. */
  link?(): 'up' | 'down';
  /** The engine's poller, when it runs: its last complete cycle and what failed last. */
  poller?: { lastOkAt?: number; lastError?: string; startedAt: number; periodMs: number };
  now(): number;
}

export interface HealthReport {
  ok: boolean;
  reasons: string[];
  details: Record<string, unknown>;
}

/**
 * `GET /healthz` tells the truth and never throws: healthy only when the database answers, the poller completed a
 * cycle within two of its periods and, in Socket Mode, the link to Slack is up.
 */
export function checkHealth(sources: HealthSources): HealthReport {
  const reasons: string[] = [];
  const details: Record<string, unknown> = {};
  try {
    details.activeRuns = sources.store.runs.countActive();
  } catch (error) {
    reasons.push(`the database does not answer: ${errorMessage(error)}`);
  }
  if (!sources.listening()) reasons.push('the Slack listener is not up (starting or stopping)');
  const link = sources.link?.();
  if (link) {
    details.link = link;
    if (link === 'down') reasons.push('the Socket Mode link to Slack is down');
  }
  const poller = sources.poller;
  if (poller) {
    const now = sources.now();
    const since = poller.lastOkAt ?? poller.startedAt;
    details.pollerLastCycle = poller.lastOkAt ? new Date(poller.lastOkAt).toISOString() : null;
    if (now - since > 2 * poller.periodMs) {
      const why = poller.lastError ? ` (last error: ${poller.lastError})` : '';
      reasons.push(`the poller has not completed a cycle for ${Math.round((now - since) / 1000)} s${why}`);
    }
  }
  return { ok: reasons.length === 0, reasons, details };
}

/** The routes an operator's tools call, on PORT in both modes: `/healthz` and `/metrics`. */
export function opsRoutes(sources: HealthSources, metrics: Metrics) {
  const health = (_req: IncomingMessage, res: ServerResponse) => {
    try {
      const report = checkHealth(sources);
      res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: report.ok, ...(report.ok ? {} : { reasons: report.reasons }), ...report.details }));
    } catch (error) {
      answerBroken(res, error);
    }
  };
  const scrape = (_req: IncomingMessage, res: ServerResponse) => {
    metrics.text().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.contentType });
        res.end(text);
      },
      (error) => answerBroken(res, error),
    );
  };
  return { health, scrape };
}

function answerBroken(res: ServerResponse, error: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(503, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ ok: false, reasons: [errorMessage(error)] }));
}

/** Socket Mode has no HTTP listener of Bolt's: the routes get a server of their own on PORT. */
export function serveOps(routes: ReturnType<typeof opsRoutes>, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return routes.health(req, res);
    if (req.method === 'GET' && path === '/metrics') return routes.scrape(req, res);
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}
