import type { WebClient } from '@slack/web-api';
import type { Clock } from '../clock.ts';
import type { ApproverDirectory } from '../engine/access.ts';

const CACHE_MS = 5 * 60_000;

/** User-group members from Slack (usergroups.users.list, scope usergroups:read), cached for five minutes. */
export class SlackDirectory implements ApproverDirectory {
  private readonly cache = new Map<string, { at: number; users: string[] }>();

  constructor(
    private readonly client: WebClient,
    private readonly clock: Clock,
  ) {}

  async membersOf(groupId: string): Promise<string[]> {
    const cached = this.cache.get(groupId);
    if (cached && this.clock.now() - cached.at < CACHE_MS) return cached.users;
    const answer = await this.client.usergroups.users.list({ usergroup: groupId });
    const users = answer.users ?? [];
    this.cache.set(groupId, { at: this.clock.now(), users });
    return users;
  }
}
