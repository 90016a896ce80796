import { randomUUID } from 'node:crypto';

/**
 * What a form needs back on submission but must not travel to Slack (a transfer's authinfo, typed in the command):
 * kept in memory under a random reference, which is all the form's private_metadata carries. Lost on a restart,
 * when the person is asked to type the command again.
 */
export class FormDrafts<T> {
  private readonly drafts = new Map<string, { at: number; value: T }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly keepMs = 60 * 60_000,
  ) {}

  keep(value: T): string {
    this.prune();
    const ref = randomUUID();
    this.drafts.set(ref, { at: this.now(), value });
    return ref;
  }

  get(ref: string | undefined): T | undefined {
    this.prune();
    return ref ? this.drafts.get(ref)?.value : undefined;
  }

  drop(ref: string | undefined): void {
    if (ref) this.drafts.delete(ref);
  }

  private prune(): void {
    const oldest = this.now() - this.keepMs;
    for (const [ref, draft] of this.drafts) if (draft.at < oldest) this.drafts.delete(ref);
  }
}
