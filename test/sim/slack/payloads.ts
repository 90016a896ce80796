/**
 * The payloads Slack sends to an app, as JSON objects. Over HTTP they are encoded (a form for slash commands,
 * `payload=<json>` for interactions, a JSON body for events: see requests.ts); over Socket Mode the same objects are
 * an envelope's `payload` (see socket-mode.ts).
 */
import { randomBytes } from 'node:crypto';
import { textOf } from './blocks.ts';
import { type Args, arrayOf, isObject, nowSeconds, optionalString, SLACK_WORKSPACE, slackNowTs } from './common.ts';
import type { StoredMessage } from './types.ts';

let triggerCounter = 0;

/** A trigger id like Slack's, valid for views.open on FakeSlack for 3 seconds. */
export function newTriggerId(): string {
  triggerCounter += 1;
  return `${Date.now()}.${triggerCounter}.${randomBytes(8).toString('hex')}`;
}

export interface SlackUserRef {
  userId: string;
  userName?: string;
  teamId?: string;
}

function payloadUser({ userId, userName, teamId }: SlackUserRef): Args {
  const name = userName ?? userId.toLowerCase();
  return { id: userId, username: name, name, team_id: teamId ?? SLACK_WORKSPACE.teamId };
}

function payloadTeam(teamId?: string): Args {
  return { id: teamId ?? SLACK_WORKSPACE.teamId, domain: SLACK_WORKSPACE.teamDomain };
}

export interface SlashCommandInput extends SlackUserRef {
  /** Default `/dkim`. */
  command?: string;
  text: string;
  channelId: string;
  channelName?: string;
  responseUrl: string;
  triggerId?: string;
}

/** The fields of a slash command, every value a string (`is_enterprise_install: 'false'`), as Slack sends them. */
export function slashCommandPayload(input: SlashCommandInput): Record<string, string> {
  const user = payloadUser(input);
  return {
    token: SLACK_WORKSPACE.verificationToken,
    team_id: String(user.team_id),
    team_domain: SLACK_WORKSPACE.teamDomain,
    channel_id: input.channelId,
    channel_name: input.channelName ?? input.channelId.toLowerCase(),
    user_id: input.userId,
    user_name: String(user.name),
    command: input.command ?? '/dkim',
    text: input.text,
    api_app_id: SLACK_WORKSPACE.appId,
    is_enterprise_install: 'false',
    response_url: input.responseUrl,
    trigger_id: input.triggerId ?? newTriggerId(),
  };
}

interface FoundButton {
  blockId?: string;
  button: Args;
}

function findButton(blocks: unknown[] | undefined, actionId: string): FoundButton | undefined {
  for (const block of arrayOf(blocks)) {
    if (!isObject(block)) continue;
    const candidates = [...arrayOf(block.elements), block.accessory];
    const button = candidates.find((c): c is Args => isObject(c) && c.type === 'button' && c.action_id === actionId);
    if (button !== undefined) return { blockId: optionalString(block.block_id), button };
  }
  return undefined;
}

export interface BlockActionInput extends SlackUserRef {
  channelId: string;
  channelName?: string;
  messageTs: string;
  threadTs?: string;
  /** The clicked message as the bot posted it; when given, the button's block_id, value and label come from it. */
  messageText?: string;
  messageBlocks?: unknown[];
  actionId: string;
  value?: string;
  blockId?: string;
  /** The button label; default: the label in `messageBlocks`, else `Approve`. */
  buttonText?: string;
  responseUrl: string;
  triggerId?: string;
}

function clickedAction(input: BlockActionInput): Args {
  const found = findButton(input.messageBlocks, input.actionId);
  const value = input.value ?? optionalString(found?.button.value);
  const style = found?.button.style;
  return {
    action_id: input.actionId,
    block_id: input.blockId ?? found?.blockId ?? randomBytes(3).toString('hex'),
    text: { type: 'plain_text', text: input.buttonText ?? textOf(found?.button.text) ?? 'Approve', emoji: true },
    ...(value === undefined ? {} : { value }),
    ...(style === undefined ? {} : { style }),
    type: 'button',
    action_ts: slackNowTs(),
  };
}

/** A `block_actions` interaction: a button clicked in a channel message. */
export function blockActionPayload(input: BlockActionInput): Args {
  const threadTs = input.threadTs === undefined ? {} : { thread_ts: input.threadTs };
  return {
    type: 'block_actions',
    user: payloadUser(input),
    api_app_id: SLACK_WORKSPACE.appId,
    token: SLACK_WORKSPACE.verificationToken,
    container: { type: 'message', message_ts: input.messageTs, channel_id: input.channelId, is_ephemeral: false },
    trigger_id: input.triggerId ?? newTriggerId(),
    team: payloadTeam(input.teamId),
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channelId, name: input.channelName ?? input.channelId.toLowerCase() },
    message: {
      type: 'message',
      user: SLACK_WORKSPACE.botUserId,
      bot_id: SLACK_WORKSPACE.botId,
      app_id: SLACK_WORKSPACE.appId,
      team: SLACK_WORKSPACE.teamId,
      ts: input.messageTs,
      ...threadTs,
      text: input.messageText ?? '',
      ...(input.messageBlocks === undefined ? {} : { blocks: input.messageBlocks }),
    },
    state: { values: {} },
    response_url: input.responseUrl,
    actions: [clickedAction(input)],
  };
}

export interface ButtonClickInput extends SlackUserRef {
  responseUrl: string;
  triggerId?: string;
}

/** A click on the button `actionId` of a message FakeSlack holds; throws when the message has no such button. */
export function buttonClickPayload(message: StoredMessage, actionId: string, input: ButtonClickInput): Args {
  if (findButton(message.blocks, actionId) === undefined) {
    throw new Error(`message ${message.ts} in ${message.channel} has no button ${actionId}`);
  }
  return blockActionPayload({
    ...input,
    channelId: message.channel,
    messageTs: message.ts,
    threadTs: message.thread_ts,
    messageText: message.text,
    messageBlocks: message.blocks,
    actionId,
  });
}

export interface ViewSubmissionInput extends SlackUserRef {
  callbackId: string;
  /** blockId → actionId → a plain-text input's value, or the whole state entry (`{type:'static_select', …}`). */
  values: Record<string, Record<string, string | Args>>;
  viewId?: string;
  privateMetadata?: string;
  blocks?: unknown[];
  title?: string;
  triggerId?: string;
}

/** A form's values as the bot's modals hold them: one text input per block, whose action id is `value`. */
export function textInputs(values: Record<string, string>): ViewSubmissionInput['values'] {
  return Object.fromEntries(Object.entries(values).map(([block, value]) => [block, { value }]));
}

function stateValues(values: ViewSubmissionInput['values']): Args {
  const entries = Object.entries(values).map(([blockId, actions]) => [
    blockId,
    Object.fromEntries(
      Object.entries(actions).map(([actionId, value]) => [
        actionId,
        typeof value === 'string' ? { type: 'plain_text_input', value } : value,
      ]),
    ),
  ]);
  return Object.fromEntries(entries);
}

/** A modal submitted (`view_submission`). */
export function viewSubmissionPayload(input: ViewSubmissionInput): Args {
  const viewId = input.viewId ?? `V${randomBytes(4).toString('hex').toUpperCase()}`;
  return {
    type: 'view_submission',
    team: payloadTeam(input.teamId),
    user: payloadUser(input),
    api_app_id: SLACK_WORKSPACE.appId,
    token: SLACK_WORKSPACE.verificationToken,
    trigger_id: input.triggerId ?? newTriggerId(),
    view: {
      id: viewId,
      team_id: input.teamId ?? SLACK_WORKSPACE.teamId,
      type: 'modal',
      blocks: input.blocks ?? [],
      private_metadata: input.privateMetadata ?? '',
      callback_id: input.callbackId,
      state: { values: stateValues(input.values) },
      hash: `${nowSeconds()}.${randomBytes(4).toString('hex')}`,
      title: { type: 'plain_text', text: input.title ?? 'dkim-bot', emoji: true },
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: { type: 'plain_text', text: 'Submit', emoji: true },
      previous_view_id: null,
      root_view_id: viewId,
      app_id: SLACK_WORKSPACE.appId,
      external_id: '',
      app_installed_team_id: SLACK_WORKSPACE.teamId,
      bot_id: SLACK_WORKSPACE.botId,
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

export interface EventCallbackOptions {
  teamId?: string;
  eventId?: string;
}

/** An Events API `event_callback` around `event`, e.g. `{type: 'app_home_opened', user, channel, tab: 'home'}`. */
export function eventCallbackPayload(event: Args, options: EventCallbackOptions = {}): Args {
  const teamId = options.teamId ?? SLACK_WORKSPACE.teamId;
  return {
    token: SLACK_WORKSPACE.verificationToken,
    team_id: teamId,
    api_app_id: SLACK_WORKSPACE.appId,
    event: { event_ts: slackNowTs(), ...event },
    type: 'event_callback',
    event_id: options.eventId ?? `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: nowSeconds(),
    authorizations: [
      {
        enterprise_id: null,
        team_id: teamId,
        user_id: SLACK_WORKSPACE.botUserId,
        is_bot: true,
        is_enterprise_install: false,
      },
    ],
    is_ext_shared_channel: false,
  };
}
