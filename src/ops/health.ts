import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Core } from '../core.ts';

/** What `GET /healthz` reports: the listener is up and, in Socket Mode, the link to Slack is open. */
export interface Health {
  listening: boolean;
  link: 'up' | 'down' | 'n/a';
}

export function healthHandler(health: Health, core: Core) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    const ok = health.listening && health.link !== 'down';
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
    const link = health.link === 'n/a' ? {} : { link: health.link };
    res.end(JSON.stringify({ ok, ...link, activeRuns: ok ? core.store.runs.countActive() : undefined }));
  };
}

/** Socket Mode has no HTTP listener of Bolt's: the health check gets a server of its own on PORT. */
export function serveHealth(handler: ReturnType<typeof healthHandler>, port: number): Promise<Server> {
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}
