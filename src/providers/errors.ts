/** Errors from the outside world, sorted the way the workflows act on them. */

export type ErrorKind =
  /** Worth trying again later: 5xx, 429, network failures, timeouts. */
  | 'transient'
  /** Will not get better by itself: other 4xx, malformed answers. Reported with the provider's own message. */
  | 'terminal';

export class ProviderError extends Error {
  constructor(
    readonly provider: 'ovh' | 'vtex' | 'dns' | 'smtp' | 'slack',
    readonly kind: ErrorKind,
    message: string,
    readonly details: { status?: number; call?: string; retryAfterMs?: number; providerMessage?: string } = {},
  ) {
    super(message);
    this.name = 'ProviderError';
  }

  get status(): number | undefined {
    return this.details.status;
  }
}

export function isTransient(error: unknown): boolean {
  return error instanceof ProviderError && error.kind === 'transient';
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
