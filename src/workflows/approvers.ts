/** Who may approve (DESIGN §3): listed users, members of listed user groups, never nobody-configured. */

export interface ApproverDirectory {
  /** Members of a Slack user group (S…). */
  membersOf(groupId: string): Promise<string[]>;
}

/** For faces without a directory (the CLI): groups cannot be resolved, so only listed users may approve. */
export const noDirectory: ApproverDirectory = {
  membersOf: async () => [],
};

export class ApproverPolicy {
  constructor(
    readonly approvers: readonly string[],
    private readonly allowSelfApproval: boolean,
    private readonly directory: ApproverDirectory,
  ) {}

  /** Undefined when `userId` may decide on a run requested by `requestedBy`; otherwise why not. */
  async refusal(userId: string, requestedBy: string): Promise<string | undefined> {
    if (this.approvers.length === 0) {
      return 'Nobody may approve: no approvers are configured (DKIM_APPROVERS).';
    }
    if (userId === requestedBy && !this.allowSelfApproval) {
      return 'You asked for this run, so someone else must approve it (self-approval is off).';
    }
    if (this.approvers.includes(userId)) return undefined;
    for (const group of this.approvers.filter((id) => id.startsWith('S'))) {
      try {
        if ((await this.directory.membersOf(group)).includes(userId)) return undefined;
      } catch {
        // A group that cannot be read grants nothing; the refusal below still names who may approve.
      }
    }
    return `Only ${describeApprovers(this.approvers)} may approve.`;
  }
}

export function describeApprovers(approvers: readonly string[]): string {
  if (approvers.length === 0) return 'nobody (no approvers are configured)';
  return approvers.map((id) => (id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`)).join(', ');
}
