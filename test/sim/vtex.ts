import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * VTEX Message Center's DKIM endpoint: `POST /api/mail-service/pvt/providers/{sender}/dkim` with the app key headers.
 * Each sender walks through a script of answers (emailNotFound → emailNotVerified → created by default); the last one
 * repeats. Wrong credentials get VTEX's 401 body; faults can be injected.
 */
export type VtexScriptStep =
  | 'emailNotFound'
  | 'emailNotVerified'
  | 'created'
  | { status: string; dkimKeys: unknown }
  /** A body of another shape, as VTEX sent it. */
  | { raw: string }
  /** The answer's headers, then the link cut in the middle of its body. */
  | 'cut'
  | 500
  | 429
  | 408;

export interface VtexRequest {
  sender: string;
  status: number;
  answer: unknown;
}

export class VtexSim {
  readonly requests: VtexRequest[] = [];
  private readonly scripts = new Map<string, VtexScriptStep[]>();
  private readonly seen = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly appKey: string,
    readonly appToken: string,
  ) {}

  static async start(options: { appKey?: string; appToken?: string } = {}): Promise<VtexSim> {
    const server = createServer();
    const sim = new VtexSim(
      server,
      options.appKey ?? 'vtexappkey-sim-ABCDEF',
      options.appToken ?? 'sim-vtex-app-token',
    );
    server.on('request', (req, res) => sim.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return sim;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** What the endpoint answers for `sender`, call after call. */
  script(sender: string, steps: VtexScriptStep[]): void {
    this.scripts.set(sender.toLowerCase(), steps);
  }

  /** The three keys SES would give for a domain, in VTEX's quoted form. */
  static keysFor(domain: string): string[] {
    return [0, 1, 2].map(() => {
      const token = randomBytes(16).toString('hex').slice(0, 32);
      return `'${token}._domainkey.${domain}','CNAME','${token}.dkim.amazonses.com'`;
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const match = /^\/api\/mail-service\/pvt\/providers\/([^/]+)\/dkim$/.exec(req.url ?? '');
    const send = (status: number, body: unknown, sender = ''): undefined => {
      this.requests.push({ sender, status, answer: body });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (req.method !== 'POST' || !match) return send(404, { message: 'Not Found' });
    const sender = decodeURIComponent(match[1]!).toLowerCase();
    if (req.headers['x-vtex-api-appkey'] !== this.appKey || req.headers['x-vtex-api-apptoken'] !== this.appToken) {
      return send(
        401,
        {
          type: 'https://tools.ietf.org/html/rfc7235#section-3.1',
          title: 'Unauthorized',
          status: 401,
          traceId: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-00`,
        },
        sender,
      );
    }
    const steps = this.scripts.get(sender) ?? ['emailNotFound'];
    const index = this.seen.get(sender) ?? 0;
    this.seen.set(sender, index + 1);
    const step = steps[Math.min(index, steps.length - 1)]!;
    if (step === 500) return send(500, { message: 'Internal Server Error' }, sender);
    if (step === 429) return send(429, { message: 'Too Many Requests' }, sender);
    if (step === 408) return send(408, { message: 'Request Timeout' }, sender);
    if (step === 'cut') {
      this.requests.push({ sender, status: 200, answer: 'cut' });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '400' });
      res.write('{"status":"crea');
      return void setTimeout(() => res.socket?.destroy(), 5);
    }
    if (typeof step === 'object' && 'raw' in step) {
      this.requests.push({ sender, status: 200, answer: step.raw });
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(step.raw);
    }
    if (typeof step === 'object') return send(200, step, sender);
    if (step === 'created') {
      const domain = sender.split('@')[1]!;
      const keys = this.keysByDomain.get(domain) ?? VtexSim.keysFor(domain);
      this.keysByDomain.set(domain, keys);
      return send(200, { status: 'created', dkimKeys: keys }, sender);
    }
    return send(200, { status: step, dkimKeys: null }, sender);
  }

  private readonly keysByDomain = new Map<string, string[]>();

  /** The keys this sim handed out for a domain (after a `created`). */
  keys(domain: string): string[] | undefined {
    return this.keysByDomain.get(domain);
  }
}
