/**
 * Slack, simulated on loopback for tests and the demo (one module per job under ./slack/):
 * - `FakeSlack` (web-api.ts): the Web API as @slack/web-api calls it, recording every call, plus `response_url`
 *   endpoints and fault injection; workspace.ts holds the messages and views it answers from, files.ts the files
 *   (files.getUploadURLExternal, the upload URL, files.completeUploadExternal: `client.filesUploadV2`).
 * - `SocketModeSim` (socket-mode.ts): Socket Mode, behind `apps.connections.open` when FakeSlack has an app token.
 * - blocks.ts: Block Kit checks as Slack enforces them, and messages rendered as text.
 * - payloads.ts: what Slack sends to an app, as objects; requests.ts: the same encoded and signed for HTTP.
 */
export { messageLines } from './slack/blocks.ts';
export { type Args, DEFAULT_BOT_TOKEN, SLACK_WORKSPACE } from './slack/common.ts';
export { UPLOAD_URL_CALL } from './slack/files.ts';
export {
  type BlockActionInput,
  type ButtonClickInput,
  blockActionPayload,
  buttonClickPayload,
  type EventCallbackOptions,
  eventCallbackPayload,
  newTriggerId,
  type SlackUserRef,
  type SlashCommandInput,
  slashCommandPayload,
  textInputs,
  type ViewSubmissionInput,
  viewSubmissionPayload,
} from './slack/payloads.ts';
export {
  type BotAnswer,
  blockActionBody,
  buttonClickBody,
  eventCallbackBody,
  type SendToBotOptions,
  sendToBot,
  signSlackRequest,
  slashCommandBody,
  viewSubmissionBody,
} from './slack/requests.ts';
export { SocketModeSim, type SocketModeSimOptions } from './slack/socket-mode.ts';
export type {
  AckRecord,
  ConnectionRecord,
  DeliverOptions,
  DeliveryRecord,
  EnvelopeRecord,
  EnvelopeType,
  OtherClientMessage,
  RedeliverOptions,
  RejectedUpgrade,
  SocketAck,
  SocketEnvelope,
} from './slack/socket-mode-records.ts';
export type {
  EphemeralMessage,
  FakeSlackOptions,
  FakeSlackUser,
  MessageFile,
  MessageVersion,
  OutageMode,
  RecordedCall,
  RecordedResponse,
  StoredFile,
  StoredMessage,
  StoredView,
} from './slack/types.ts';
export { FakeSlack } from './slack/web-api.ts';
