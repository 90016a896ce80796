/**
 * The state of the simulated workspace (messages, ephemeral messages, views, user groups, users) and the Web API
 * methods that read and change it. FakeSlack routes, authenticates and records; this answers.
 */
import { randomBytes } from 'node:crypto';
import { messageContent, validView } from './blocks.ts';
import { type Args, fail, isTruthyFlag, nowSeconds, optionalString, SLACK_WORKSPACE } from './common.ts';
import type {
  EphemeralMessage,
  FakeSlackOptions,
  FakeSlackUser,
  MessageFile,
  StoredMessage,
  StoredView,
} from './types.ts';

const TRIGGER_LIFETIME_MS = 3_000;

export type MethodHandler = (args: Args) => Args;

/** What a files.completeUploadExternal posts: the comment (or blocks) and the files, maybe in a thread. */
export interface FileShare {
  thread_ts?: string;
  text?: string;
  blocks?: unknown[];
  files: MessageFile[];
}

export class WorkspaceState {
  /** Every message, replies included, in posting order. */
  readonly messages: StoredMessage[] = [];
  readonly ephemerals: EphemeralMessage[] = [];
  readonly views: StoredView[] = [];
  private readonly channels: Set<string> | undefined;
  private readonly nonMemberChannels: Set<string>;
  private readonly usergroupMembers: Map<string, string[]>;
  private usergroupsPlanUpgradeRequired: boolean;
  private readonly users: Record<string, FakeSlackUser> | undefined;
  private readonly firstTsSeconds: number;
  private tsCounter = 0;
  private viewCounter = 0;

  /** The methods this state answers, by Web API method name. */
  readonly methods: Record<string, MethodHandler> = {
    'chat.postMessage': (args) => this.postMessage(args),
    'chat.update': (args) => this.updateMessage(args),
    'chat.postEphemeral': (args) => this.postEphemeral(args),
    'usergroups.users.list': (args) => this.usergroupUsers(args),
    'users.info': (args) => this.userInfo(args),
    'views.publish': (args) => this.publishView(args),
    'views.open': (args) => this.openView(args),
    'views.push': (args) => this.openView(args),
    'views.update': (args) => this.updateView(args),
  };

  constructor(options: FakeSlackOptions) {
    this.channels = options.channels === undefined ? undefined : new Set(options.channels);
    this.nonMemberChannels = new Set(options.nonMemberChannels ?? []);
    this.usergroupMembers = new Map(Object.entries(options.usergroups ?? {}));
    this.usergroupsPlanUpgradeRequired = options.usergroupsPlanUpgradeRequired ?? false;
    this.users = options.users;
    this.firstTsSeconds = options.firstTsSeconds ?? 1_700_000_000;
  }

  setUsergroup(usergroupId: string, userIds: string[]): void {
    this.usergroupMembers.set(usergroupId, [...userIds]);
  }

  setUsergroupsPlanUpgradeRequired(on: boolean): void {
    this.usergroupsPlanUpgradeRequired = on;
  }

  /** Forgets every message and view (timestamps and view ids keep increasing). */
  clear(): void {
    this.messages.length = 0;
    this.ephemerals.length = 0;
    this.views.length = 0;
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts);
  }

  homeView(userId: string): StoredView | undefined {
    return this.views.find((v) => v.kind === 'home' && v.userId === userId);
  }

  /* ---------------- methods ---------------- */

  private postMessage(args: Args): Args {
    const channel = this.resolveChannel(args.channel);
    const { text, blocks } = messageContent(args, true);
    const ts = this.nextTs();
    const message: StoredMessage = {
      channel,
      ts,
      thread_ts: optionalString(args.thread_ts),
      text,
      blocks,
      user: SLACK_WORKSPACE.botUserId,
      bot_id: SLACK_WORKSPACE.botId,
      reply_broadcast: isTruthyFlag(args.reply_broadcast),
      versions: [{ text, blocks, at: Date.now() }],
      args,
    };
    this.messages.push(message);
    return { channel, ts, message: publicMessage(message) };
  }

  private updateMessage(args: Args): Args {
    const channel = this.resolveChannel(args.channel);
    const message = this.message(channel, String(args.ts ?? '')) ?? fail('message_not_found');
    const { text, blocks } = messageContent(args, true);
    // Like Slack: what is not sent is kept (blocks included); `blocks: []` removes the blocks.
    if (text !== undefined) message.text = text;
    if (blocks !== undefined) message.blocks = blocks;
    message.versions.push({ text: message.text, blocks: message.blocks, at: Date.now() });
    return { channel, ts: message.ts, text: message.text ?? '', message: publicMessage(message) };
  }

  private postEphemeral(args: Args): Args {
    const channel = this.resolveChannel(args.channel);
    const user = optionalString(args.user) ?? fail('user_not_found');
    const { text, blocks } = messageContent(args, true);
    const messageTs = this.nextTs();
    this.ephemerals.push({
      channel,
      user,
      message_ts: messageTs,
      thread_ts: optionalString(args.thread_ts),
      text,
      blocks,
      args,
    });
    return { message_ts: messageTs };
  }

  private usergroupUsers(args: Args): Args {
    if (this.usergroupsPlanUpgradeRequired) fail('plan_upgrade_required');
    const members = this.usergroupMembers.get(String(args.usergroup ?? '')) ?? fail('no_such_subteam');
    return { users: [...members] };
  }

  private userInfo(args: Args): Args {
    const id = optionalString(args.user) ?? fail('user_not_found');
    if (!/^[UW]/.test(id)) fail('user_not_found');
    const known = this.users === undefined ? {} : (this.users[id] ?? fail('user_not_found'));
    const isBot = known.isBot ?? id === SLACK_WORKSPACE.botUserId;
    const name = known.name ?? (isBot ? SLACK_WORKSPACE.botName : id.toLowerCase());
    const realName = known.realName ?? name;
    return {
      user: {
        id,
        team_id: SLACK_WORKSPACE.teamId,
        name,
        real_name: realName,
        deleted: known.deleted ?? false,
        is_bot: isBot,
        profile: { real_name: realName, display_name: name },
      },
    };
  }

  private publishView(args: Args): Args {
    const userId = optionalString(args.user_id) ?? fail('invalid_arguments');
    const view = validView(args.view, 'home');
    const existing = this.homeView(userId);
    if (existing !== undefined) return { view: this.revise(existing, view) };
    return { view: this.store({ id: this.nextViewId(), kind: 'home', userId, view, versions: [view] }) };
  }

  private openView(args: Args): Args {
    const triggerId = optionalString(args.trigger_id ?? args.interactivity_pointer) ?? fail('invalid_arguments');
    checkTrigger(triggerId);
    const view = validView(args.view, 'modal');
    return { view: this.store({ id: this.nextViewId(), kind: 'modal', triggerId, view, versions: [view] }) };
  }

  private updateView(args: Args): Args {
    const viewId = optionalString(args.view_id);
    const externalId = optionalString(args.external_id);
    const stored =
      this.views.find((v) => (viewId !== undefined ? v.id === viewId : v.view.external_id === externalId)) ??
      fail('not_found');
    return { view: this.revise(stored, validView(args.view, stored.kind === 'home' ? 'home' : 'modal')) };
  }

  /**
   * Stores the message a files.completeUploadExternal shares its files with, as chat.postMessage stores one (the
   * bot's, with the next ts); answers it as Slack shows it.
   */
  postFiles(channel: string, share: FileShare, args: Args): StoredMessage {
    const { text, blocks } = share;
    const message: StoredMessage = {
      channel,
      ts: this.nextTs(),
      thread_ts: share.thread_ts,
      text,
      blocks,
      user: SLACK_WORKSPACE.botUserId,
      bot_id: SLACK_WORKSPACE.botId,
      reply_broadcast: false,
      versions: [{ text, blocks, at: Date.now() }],
      files: share.files,
      args,
    };
    this.messages.push(message);
    return message;
  }

  /* ---------------- state helpers ---------------- */

  /** The channel a message goes to, checked like chat.postMessage checks it (user ids go to the bot's DM). */
  resolveChannel(value: unknown): string {
    const channel = optionalString(value) ?? fail('channel_not_found');
    if (/^[UW]/.test(channel)) return `D${channel.slice(1)}`; // posting to a user id goes to the app's DM with them
    if (channel.startsWith('D')) return channel;
    if (this.channels !== undefined && !this.channels.has(channel)) fail('channel_not_found');
    if (this.nonMemberChannels.has(channel)) fail('not_in_channel');
    return channel;
  }

  /** Strictly increasing `seconds.micros` timestamps, 100 µs apart. */
  private nextTs(): string {
    this.tsCounter += 1;
    const micros = this.firstTsSeconds * 1_000_000 + this.tsCounter * 100;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  }

  private nextViewId(): string {
    this.viewCounter += 1;
    return `V${String(this.viewCounter).padStart(8, '0')}`;
  }

  private store(view: StoredView): Args {
    this.views.push(view);
    return renderView(view);
  }

  private revise(stored: StoredView, view: Args): Args {
    stored.view = view;
    stored.versions.push(view);
    return renderView(stored);
  }
}

function publicMessage(message: StoredMessage): Args {
  return {
    type: 'message',
    text: message.text ?? '',
    user: message.user,
    bot_id: message.bot_id,
    app_id: SLACK_WORKSPACE.appId,
    team: SLACK_WORKSPACE.teamId,
    ts: message.ts,
    ...(message.thread_ts === undefined ? {} : { thread_ts: message.thread_ts }),
    ...(message.blocks === undefined ? {} : { blocks: message.blocks }),
    ...(message.files === undefined ? {} : { files: message.files, upload: true }),
  };
}

function renderView(stored: StoredView): Args {
  const { view } = stored;
  return {
    ...view,
    id: stored.id,
    team_id: SLACK_WORKSPACE.teamId,
    type: view.type,
    blocks: view.blocks ?? [],
    private_metadata: view.private_metadata ?? '',
    callback_id: view.callback_id ?? '',
    external_id: view.external_id ?? '',
    state: { values: {} },
    hash: `${nowSeconds()}.${randomBytes(4).toString('hex')}`,
    previous_view_id: null,
    root_view_id: stored.id,
    app_id: SLACK_WORKSPACE.appId,
    app_installed_team_id: SLACK_WORKSPACE.teamId,
    bot_id: SLACK_WORKSPACE.botId,
  };
}

/** Trigger ids made by `newTriggerId` carry their birth time; Slack lets a trigger open a view for 3 seconds. */
function checkTrigger(triggerId: string): void {
  const issuedAtMs = Number(triggerId.split('.')[0]);
  if (issuedAtMs > 1e12 && Date.now() - issuedAtMs > TRIGGER_LIFETIME_MS) fail('expired_trigger_id');
}
