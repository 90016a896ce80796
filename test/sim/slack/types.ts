/** The records FakeSlack keeps and the options it starts with. */
import type { Args } from './common.ts';
import type { SocketModeSimOptions } from './socket-mode.ts';

export interface RecordedCall {
  method: string;
  /** JSON-decoded arguments (`blocks`, `view`, … parsed back), without the token. */
  args: Args;
  /** `Date.now()` when the answer was sent. */
  at: number;
  /** The HTTP status answered; 0 when the connection was dropped. */
  status: number;
  /** The JSON body answered (or the text of a non-JSON answer); undefined when dropped. */
  response: unknown;
}

export interface MessageVersion {
  text?: string;
  blocks?: unknown[];
  at: number;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text?: string;
  blocks?: unknown[];
  user: string;
  bot_id: string;
  reply_broadcast: boolean;
  /** Every version, oldest first: the post, then one per chat.update. The last is the current text and blocks. */
  versions: MessageVersion[];
  /** Files shared with the message (files.completeUploadExternal); absent on plain messages. */
  files?: MessageFile[];
  /** The arguments of the chat.postMessage (or files.completeUploadExternal) that created it. */
  args: Args;
}

/** A file as a message lists it. */
export interface MessageFile {
  id: string;
  /** The file name (`filename` of files.getUploadURLExternal). */
  name: string;
  title: string;
  mimetype: string;
  size: number;
}

/** A file uploaded and completed (files.getUploadURLExternal, the upload_url POST, files.completeUploadExternal). */
export interface StoredFile {
  id: string;
  filename: string;
  /** The `title` given at completion; the filename when none was. */
  title: string;
  /** The bytes received at the upload URL. */
  content: Buffer;
  mimetype: string;
  /** Where it was shared; undefined when completed without `channel_id` (the file stays private). */
  channel?: string;
  thread_ts?: string;
  initial_comment?: string;
  /** The message that shares it (`fake.message(channel, message_ts)`); undefined for a private file. */
  message_ts?: string;
  alt_txt?: string;
  snippet_type?: string;
  /** `Date.now()` at completion. */
  at: number;
}

export interface EphemeralMessage {
  channel: string;
  user: string;
  message_ts: string;
  thread_ts?: string;
  text?: string;
  blocks?: unknown[];
  args: Args;
}

export interface StoredView {
  id: string;
  kind: 'home' | 'modal';
  /** views.publish: whose App Home. */
  userId?: string;
  /** views.open: the trigger it was opened with. */
  triggerId?: string;
  /** The current view as last sent by the app. */
  view: Args;
  /** Every version sent, oldest first. */
  versions: Args[];
}

export interface RecordedResponse {
  id: string;
  at: number;
  /** `{text, blocks, response_type, replace_original, delete_original, …}` as posted. */
  body: Args;
}

/** `http503`: HTTP 503; `internal_error`: 200 `{ok:false,error:'internal_error'}`; `drop`: the connection is cut. */
/** `hang`: a request is taken and never answered nor carried out (a black hole), until the fake closes. */
/** `stall`: the answer's headers and the first bytes of its body come, then nothing more, until the fake closes. */
export type OutageMode = 'http503' | 'internal_error' | 'drop' | 'hang' | 'stall';

export interface FakeSlackUser {
  name?: string;
  realName?: string;
  isBot?: boolean;
  deleted?: boolean;
}

export interface FakeSlackOptions {
  /** The only token accepted. Default `DEFAULT_BOT_TOKEN`. */
  botToken?: string;
  /**
   * Enables Socket Mode with this app-level token (`xapp-…`): `apps.connections.open` accepts only it and answers
   * the URL of the simulated WebSocket server (`fake.socketMode`).
   */
  appToken?: string;
  /** Redelivery and ack timeouts of the Socket Mode simulator (only with `appToken`). */
  socketMode?: SocketModeSimOptions;
  /** When given, posting anywhere else answers `channel_not_found` (DMs `D…` and user ids `U…`/`W…` always work). */
  channels?: Iterable<string>;
  /** Channels that exist but the bot is not a member of: posting answers `not_in_channel`. */
  nonMemberChannels?: Iterable<string>;
  /** User-group id (`S…`) → member user ids, for usergroups.users.list. */
  usergroups?: Record<string, string[]>;
  /** usergroups.users.list answers `plan_upgrade_required`, as on a free plan. */
  usergroupsPlanUpgradeRequired?: boolean;
  /** Scopes the token has. When given, a method needing another scope answers `missing_scope`. Default: all. */
  scopes?: string[];
  /** Known users for users.info. When given, other ids answer `user_not_found`. */
  users?: Record<string, FakeSlackUser>;
  /** Seconds part of the first message ts. Default 1700000000. */
  firstTsSeconds?: number;
  /** Delay before every Web API answer. */
  latencyMs?: number;
  /** Uses allowed per response_url before it answers 404 `used_url` (Slack allows 5). */
  responseUrlMaxUses?: number;
}
