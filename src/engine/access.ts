import type { RunKind } from '../domain/runs.ts';
import { joinText, person, type Text, userGroup, words } from '../domain/text.ts';

/**
 * Who may do what (DESIGN §3, §5.1): start runs (DKIM_REQUESTERS; batch orders DKIM_BATCH_REQUESTERS), approve
 * (DKIM_APPROVERS, never nobody-configured, no self-approval unless allowed), cancel or retry (the requester or an
 * approver). Lists hold user ids (U…/W…) and user-group ids (S…), whose members come from a directory.
 */

export interface ApproverDirectory {
  /** Members of a Slack user group (S…). */
  membersOf(groupId: string): Promise<string[]>;
}

/** For faces without a directory (the CLI): groups cannot be resolved, so only listed users qualify. */
export const noDirectory: ApproverDirectory = {
  membersOf: async () => [],
};

export interface AccessRules {
  approvers: readonly string[];
  allowSelfApproval: boolean;
  /** Empty: everyone may start runs. */
  requesters?: readonly string[];
  /** Empty: as `requesters`. */
  batchRequesters?: readonly string[];
}

export class ApproverPolicy {
  readonly approvers: readonly string[];

  constructor(
    private readonly rules: AccessRules,
    private readonly directory: ApproverDirectory,
  ) {
    this.approvers = rules.approvers;
  }

  get allowsSelfApproval(): boolean {
    return this.rules.allowSelfApproval;
  }

  /** Undefined when `userId` may decide on a run requested by `requestedBy`; otherwise why not. */
  async refusal(userId: string, requestedBy: string): Promise<Text | undefined> {
    if (this.approvers.length === 0) {
      return 'Nobody may approve: no approvers are configured (DKIM_APPROVERS).';
    }
    if (userId === requestedBy && !this.rules.allowSelfApproval) {
      return 'You asked for this run, so someone else must approve it (self-approval is off).';
    }
    if (await this.isIn(this.approvers, userId)) return undefined;
    return words`Only ${describeApprovers(this.approvers)} may approve.`;
  }

  /** Undefined when `userId` may start a run of `kind`; otherwise why not. */
  async startRefusal(userId: string, kind: RunKind): Promise<Text | undefined> {
    const batch = kind === 'batch' && (this.rules.batchRequesters?.length ?? 0) > 0;
    const allowed = (batch ? this.rules.batchRequesters : this.rules.requesters) ?? [];
    if (allowed.length === 0 || (await this.isIn(allowed, userId))) return undefined;
    const setting = batch ? 'DKIM_BATCH_REQUESTERS' : 'DKIM_REQUESTERS';
    return words`Only ${describeApprovers(allowed)} may start ${batch ? 'batch orders' : 'runs'} (${setting}).`;
  }

  /** Undefined when `userId` may cancel or retry a run requested by `requestedBy`: its requester or an approver. */
  async actRefusal(
    userId: string,
    requestedBy: string,
    verb: 'cancel' | 'retry' | 'answer for',
  ): Promise<Text | undefined> {
    if (userId === requestedBy || (await this.isIn(this.approvers, userId))) return undefined;
    const approvers = this.approvers.length > 0 ? words` or ${describeApprovers(this.approvers)}` : '';
    return words`Only the requester ${person(requestedBy)}${approvers} may ${verb} this run.`;
  }

  private async isIn(list: readonly string[], userId: string): Promise<boolean> {
    if (list.includes(userId)) return true;
    for (const group of list.filter((id) => id.startsWith('S'))) {
      try {
        if ((await this.directory.membersOf(group)).includes(userId)) return true;
      } catch {
        // A group that cannot be read grants nothing; the refusal still names who qualifies.
      }
    }
    return false;
  }
}

/** Who is on a list: users and user groups named as Slack shows them. */
export function describeApprovers(approvers: readonly string[]): Text {
  if (approvers.length === 0) return 'nobody (no approvers are configured)';
  return joinText(
    approvers.map((id) => words`${id.startsWith('S') ? userGroup(id) : person(id)}`),
    ', ',
  );
}
