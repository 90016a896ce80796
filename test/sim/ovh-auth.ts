import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SimError } from './ovh-common.ts';

/** Who is calling the simulated OVH API: signed application requests (AK/AS/CK) and OAuth2 client credentials. */

export interface OvhCredentials {
  appKey: string;
  appSecret: string;
  consumerKey: string;
}

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

export const SIM_CREDENTIALS: OvhCredentials = {
  appKey: 'sim-app-key',
  appSecret: 'sim-app-secret',
  consumerKey: 'sim-consumer-key',
};

export const SIM_OAUTH_CLIENT: OAuthClient = { clientId: 'sim-client-id', clientSecret: 'sim-client-secret' };

export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sha1Hex(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

function decodeFormCredential(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, '%20'));
}

function basicCredentials(req: IncomingMessage): { id: string; secret: string } | undefined {
  const match = /^Basic (.+)$/i.exec(header(req, 'authorization') ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { id: decodeFormCredential(decoded.slice(0, colon)), secret: decodeFormCredential(decoded.slice(colon + 1)) };
}

export class OvhAuth {
  private readonly tokens = new Set<string>();

  constructor(
    readonly credentialList: OvhCredentials[],
    readonly oauthClients: OAuthClient[],
    /** Largest accepted gap between X-Ovh-Timestamp and the sim clock. */
    private readonly timestampToleranceSeconds: number,
    private readonly now: () => number,
  ) {}

  /** Throws OVH's own error for a missing, unknown or badly signed credential. */
  authenticate(req: IncomingMessage, raw: string, defaultHost: string): void {
    const bearer = /^Bearer (.+)$/i.exec(header(req, 'authorization') ?? '');
    if (bearer) {
      if (this.tokens.has(bearer[1]!)) return;
      throw new SimError(401, 'Client::Unauthorized', 'The provided access token is invalid', 'INVALID_TOKEN');
    }
    const appKey = header(req, 'x-ovh-application');
    const ofApplication = this.credentialList.filter((credential) => credential.appKey === appKey);
    if (ofApplication.length === 0) {
      throw new SimError(403, 'Client::Forbidden', 'This application key is invalid', 'INVALID_KEY');
    }
    const consumerKey = header(req, 'x-ovh-consumer');
    if (!consumerKey) throw new SimError(401, 'Client::Unauthorized', 'You must login first', 'NOT_CREDENTIAL');
    const credential = ofApplication.find((candidate) => candidate.consumerKey === consumerKey);
    if (!credential) {
      throw new SimError(403, 'Client::Forbidden', 'This credential does not exist', 'INVALID_CREDENTIAL');
    }
    this.checkSignature(req, raw, credential, defaultHost);
    this.checkTimestamp(header(req, 'x-ovh-timestamp'));
  }

  /** The answer of POST /auth/oauth2/token (client_credentials, secret in Basic auth or in the form). */
  tokenAnswer(req: IncomingMessage, form: URLSearchParams): { status: number; body: unknown } {
    if (form.get('grant_type') !== 'client_credentials') {
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Only client_credentials' } };
    }
    const basic = basicCredentials(req);
    const id = basic?.id ?? form.get('client_id');
    const secret = basic?.secret ?? form.get('client_secret');
    const known = this.oauthClients.some((client) => client.clientId === id && client.clientSecret === secret);
    if (!known)
      return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
    const token = randomBytes(24).toString('hex');
    this.tokens.add(token);
    const scope = form.get('scope') ?? 'all';
    return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: 3600, scope } };
  }

  private checkSignature(req: IncomingMessage, raw: string, credential: OvhCredentials, defaultHost: string): void {
    const hostname = new URL(`https://${header(req, 'host') ?? defaultHost}`).hostname;
    const parts = [
      credential.appSecret,
      credential.consumerKey,
      req.method,
      `https://${hostname}${req.url}`,
      raw,
      header(req, 'x-ovh-timestamp') ?? '',
    ];
    if (header(req, 'x-ovh-signature') !== `$1$${sha1Hex(parts.join('+'))}`) {
      throw new SimError(400, 'Client::BadRequest', 'Invalid signature', 'INVALID_SIGNATURE');
    }
  }

  private checkTimestamp(value: string | undefined): void {
    const timestamp = Number(value);
    const drift = Math.abs(timestamp - this.now() / 1000);
    if (value === undefined || !Number.isFinite(timestamp) || drift > this.timestampToleranceSeconds) {
      throw new SimError(400, 'Client::BadRequest', 'Invalid timestamp', 'INVALID_TIMESTAMP');
    }
  }
}
