/**
 * A fact that a run's state guarantees is missing (a selector once the keys exist, a record once published): a bug in
 * the bot or a hand-edited database, never the user's failure. The engine logs it as a bug with the run id and parks
 * the run in `needs_attention` with a plain sentence (cert-manager's way).
 */
export class InvariantError extends Error {
  constructor(what: string) {
    super(`broken invariant: ${what}`);
    this.name = 'InvariantError';
  }
}

/** `value`, which the run's state guarantees; an InvariantError naming `what` when it is missing. */
export function need<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new InvariantError(`${what} is missing`);
  return value;
}
