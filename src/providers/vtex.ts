import { z } from 'zod';
import type { Clock } from '../clock.ts';
import { ProviderError } from './errors.ts';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry.ts';

/** VTEX Message Center's DKIM endpoint (docs/sources/vtex-dkim-transactional-email.md). There is no read-only status call: the POST is the status check. */

export const VTEX_STATUSES = ['emailNotFound', 'emailNotVerified', 'created'] as const;

const answerSchema = z.object({
  status: z.enum(VTEX_STATUSES),
  dkimKeys: z.array(z.string()).nullish(),
});
export type VtexDkimAnswer = z.infer<typeof answerSchema>;

export interface VtexApi {
  dkim(sender: string): Promise<VtexDkimAnswer>;
}

export interface VtexOptions {
  baseUrl: string;
  appKey: string;
  appToken: string;
  clock: Clock;
  timeoutMs?: number;
  retry?: RetryPolicy;
  random?: () => number;
}

const MISSING_PERMISSION =
  'the VTEX key was refused: it needs the Message Center permission "Add or edit provider" (License Manager → Roles), or VTEX_APP_KEY / VTEX_APP_TOKEN are wrong';

export class VtexClient implements VtexApi {
  constructor(private readonly o: VtexOptions) {}

  /** Safe to repeat (VTEX answers the current state), so transient failures are retried here. */
  dkim(sender: string): Promise<VtexDkimAnswer> {
    return withRetry(() => this.post(sender), {
      policy: this.o.retry ?? DEFAULT_RETRY,
      clock: this.o.clock,
      random: this.o.random,
    });
  }

  private async post(sender: string): Promise<VtexDkimAnswer> {
    const path = `/api/mail-service/pvt/providers/${encodeURIComponent(sender)}/dkim`;
    const call = `POST ${path}`;
    let response: Response;
    let text: string;
    // The answer's body is part of the answer: a link dropped while it arrives is trouble that may pass, like one
    // dropped before.
    try {
      response = await fetch(`${this.o.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          'X-VTEX-API-AppKey': this.o.appKey,
          'X-VTEX-API-AppToken': this.o.appToken,
          Accept: 'application/json',
        },
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
      });
      text = await response.text();
    } catch (error) {
      throw new ProviderError('vtex', 'transient', `VTEX ${call} failed: ${(error as Error).message}`, { call });
    }
    if (response.status === 401 || response.status === 403) {
      throw new ProviderError('vtex', 'terminal', `VTEX answered ${response.status}: ${MISSING_PERMISSION}.`, {
        status: response.status,
        call,
        providerMessage: text.slice(0, 300),
      });
    }
    if (!response.ok) {
      const transient = response.status === 408 || response.status === 429 || response.status >= 500;
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new ProviderError(
        'vtex',
        transient ? 'transient' : 'terminal',
        `VTEX ${call} → ${response.status}: ${vtexMessage(text)}`,
        {
          status: response.status,
          call,
          providerMessage: vtexMessage(text),
          ...(retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
        },
      );
    }
    const parsed = answerSchema.safeParse(safeJson(text));
    if (!parsed.success) {
      const body = text.slice(0, 300) || '(an empty body)';
      throw new ProviderError('vtex', 'terminal', `VTEX answered ${call} with an unexpected shape: ${body}`, {
        call,
        providerMessage: body,
      });
    }
    return parsed.data;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function vtexMessage(text: string): string {
  const body = safeJson(text) as { message?: unknown; title?: unknown; error?: unknown } | undefined;
  const message = body?.message ?? body?.title ?? body?.error;
  return typeof message === 'string' ? message.slice(0, 300) : text.slice(0, 300) || 'no message';
}

export interface SesRecord {
  name: string;
  target: string;
}

const KEY = /^'([^'\s,]+)','CNAME','([^'\s,]+)'$/;

/**
 * The three `'name','CNAME','target'` strings, parsed strictly: exactly three, each a `_domainkey` name inside the
 * domain pointing to Amazon SES. Anything else is refused as a whole, so nothing half-right is published.
 */
export function parseDkimKeys(
  keys: unknown,
  domain: string,
): { ok: true; records: SesRecord[] } | { ok: false; error: string } {
  if (!Array.isArray(keys) || keys.length !== 3) {
    return {
      ok: false,
      error: `VTEX returned ${Array.isArray(keys) ? keys.length : 'no'} DKIM keys; exactly 3 were expected`,
    };
  }
  const records: SesRecord[] = [];
  for (const raw of keys) {
    const match = typeof raw === 'string' ? KEY.exec(raw.trim()) : null;
    if (!match)
      return {
        ok: false,
        error: `VTEX returned a DKIM key in an unexpected form: ${JSON.stringify(raw).slice(0, 120)}`,
      };
    const name = (match[1] ?? '').toLowerCase().replace(/\.$/, '');
    const target = (match[2] ?? '').toLowerCase().replace(/\.$/, '');
    if (!/^[a-z0-9]+\._domainkey\./.test(name) || !name.endsWith(`.${domain}`)) {
      return { ok: false, error: `VTEX returned a key name outside ${domain}: ${name}` };
    }
    if (!/^[a-z0-9]+\.dkim\.amazonses\.com$/.test(target)) {
      return { ok: false, error: `VTEX returned a key target that is not Amazon SES: ${target}` };
    }
    records.push({ name, target });
  }
  if (new Set(records.map((r) => r.name)).size !== 3)
    return { ok: false, error: 'VTEX returned the same key name twice' };
  return { ok: true, records };
}
