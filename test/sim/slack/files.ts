/**
 * Files as Slack takes them since files.upload was retired, in the three steps @slack/web-api's `filesUploadV2` makes:
 * files.getUploadURLExternal (a one-use upload URL and a file id), a POST of the bytes to that URL, then
 * files.completeUploadExternal, which shares the files in a message of the channel or thread. FakeSlack routes,
 * authenticates and records; this answers.
 */
import { randomBytes } from 'node:crypto';
import { messageContent } from './blocks.ts';
import { type Args, fail, isObject, nowSeconds, optionalString, SLACK_WORKSPACE } from './common.ts';
import type { Answer } from './http.ts';
import type { MessageFile, StoredFile } from './types.ts';
import type { MethodHandler, WorkspaceState } from './workspace.ts';

/** Upload URLs are `<fake origin>/upload/v1/<opaque>`, as Slack's are `https://files.slack.com/upload/v1/<opaque>`. */
export const UPLOAD_PATH = '/upload/v1/';
/** The `method` of the RecordedCall of a POST to an upload URL (not a Web API method: it has no dot). */
export const UPLOAD_URL_CALL = 'upload_url';

const ALT_TXT_LIMIT = 1000;
/** What Slack's files.completeUploadExternal checks `channel_id` against (user ids are refused, unlike chat.*). */
const CHANNEL_ID_PATTERN = '^[CGDZ][A-Z0-9]{8,}$';

/** Extension → [Slack filetype, mimetype]; anything else is `binary`, `application/octet-stream`. */
const FILE_TYPES: Record<string, [string, string]> = {
  csv: ['csv', 'text/csv'],
  txt: ['text', 'text/plain'],
  log: ['text', 'text/plain'],
  json: ['json', 'application/json'],
  md: ['markdown', 'text/markdown'],
  yaml: ['yaml', 'text/yaml'],
  yml: ['yaml', 'text/yaml'],
  html: ['html', 'text/html'],
  eml: ['email', 'message/rfc822'],
  pdf: ['pdf', 'application/pdf'],
  png: ['png', 'image/png'],
  jpg: ['jpg', 'image/jpeg'],
  zip: ['zip', 'application/zip'],
  gz: ['gzip', 'application/gzip'],
};

interface PendingUpload {
  fileId: string;
  filename: string;
  length: number;
  altTxt?: string;
  snippetType?: string;
  /** Set once the upload URL received exactly `length` bytes. */
  content?: Buffer;
}

/** What one POST to an upload URL answered, and what FakeSlack records of it as the call's `args`. */
export interface UploadOutcome {
  answer: Answer;
  args: Args;
}

export class FileStore {
  /** Completed files, oldest first. */
  readonly files: StoredFile[] = [];
  /** Files given an id by files.getUploadURLExternal and not completed yet, by id. */
  private readonly pending = new Map<string, PendingUpload>();
  /** Upload URL token → file id, until the URL is used. */
  private readonly uploadTokens = new Map<string, string>();
  private fileCounter = 0;

  readonly methods: Record<string, MethodHandler> = {
    'files.getUploadURLExternal': (args) => this.getUploadUrl(args),
    'files.completeUploadExternal': (args) => this.complete(args),
  };

  /** `origin`: the fake's `http://127.0.0.1:<port>`, known once it listens. */
  constructor(
    private readonly workspace: WorkspaceState,
    private readonly origin: () => string,
  ) {}

  /** Forgets every file and pending upload (file ids keep increasing). */
  clear(): void {
    this.files.length = 0;
    this.pending.clear();
    this.uploadTokens.clear();
  }

  file(id: string): StoredFile | undefined {
    return this.files.find((f) => f.id === id);
  }

  /**
   * A POST to an upload URL. The file is the raw body, or the first file part of a multipart form (what
   * @slack/web-api sends). 200 `OK - <bytes>`; 404 for an unknown or used URL; 400 when the size is not the announced
   * `length` (the URL stays usable).
   */
  async upload(token: string, contentType: string, body: Buffer): Promise<UploadOutcome> {
    const fileId = this.uploadTokens.get(token);
    const pending = fileId === undefined ? undefined : this.pending.get(fileId);
    const received = await fileInBody(contentType, body);
    const args: Args = {
      file_id: fileId,
      filename: pending?.filename,
      length: pending?.length,
      content_type: contentType,
      body_bytes: body.length,
      bytes: received.bytes?.length,
      part: received.part,
    };
    if (pending === undefined) return { args, answer: { status: 404, body: 'Not Found' } };
    if (received.bytes === undefined) return { args, answer: { status: 400, body: received.problem } };
    if (received.bytes.length !== pending.length) {
      const problem = `length mismatch: announced ${pending.length} bytes, received ${received.bytes.length}`;
      return { args, answer: { status: 400, body: problem } };
    }
    pending.content = received.bytes;
    this.uploadTokens.delete(token);
    return { args, answer: { status: 200, body: `OK - ${received.bytes.length}` } };
  }

  /* ---------------- methods ---------------- */

  private getUploadUrl(args: Args): Args {
    const filename = optionalString(args.filename);
    const length = positiveInteger(args.length);
    if (filename === undefined) invalidArguments('missing required field: filename');
    if (length === undefined) invalidArguments('length must be a positive integer [json-pointer:/length]');
    const altTxt = optionalString(args.alt_txt);
    if (altTxt !== undefined && altTxt.length > ALT_TXT_LIMIT) fail('alt_txt_too_large');
    this.fileCounter += 1;
    const fileId = `F${String(this.fileCounter).padStart(10, '0')}`;
    const token = randomBytes(24).toString('base64url');
    this.pending.set(fileId, { fileId, filename, length, altTxt, snippetType: optionalString(args.snippet_type) });
    this.uploadTokens.set(token, fileId);
    return { upload_url: `${this.origin()}${UPLOAD_PATH}${token}`, file_id: fileId };
  }

  private complete(args: Args): Args {
    const entries = fileEntries(args.files);
    // Unknown, never uploaded and already completed ids alike ("This method can only be called once").
    const uploads = entries.map(({ id }) => {
      const upload = this.pending.get(id);
      return upload?.content === undefined ? fail('file_not_found') : { ...upload, content: upload.content };
    });
    const channel = this.shareChannel(args);
    const threadTs = optionalString(args.thread_ts);
    if (threadTs !== undefined && channel === undefined) invalidArguments('thread_ts needs channel_id');
    const initialComment = optionalString(args.initial_comment);
    // Like Slack: with an initial_comment the blocks are ignored.
    const { text, blocks } = messageContent(
      initialComment === undefined ? { blocks: args.blocks } : { text: initialComment },
      false,
    );
    const at = Date.now();
    const stored = uploads.map(
      (upload, i): StoredFile => ({
        id: upload.fileId,
        filename: upload.filename,
        title: entries[i]?.title ?? upload.filename,
        content: upload.content,
        mimetype: fileType(upload.filename)[1],
        channel,
        thread_ts: channel === undefined ? undefined : threadTs,
        initial_comment: initialComment,
        alt_txt: upload.altTxt,
        snippet_type: upload.snippetType,
        at,
      }),
    );
    if (channel !== undefined) {
      const share = { thread_ts: threadTs, text, blocks, files: stored.map(messageFile) };
      const message = this.workspace.postFiles(channel, share, args);
      for (const file of stored) file.message_ts = message.ts;
    }
    for (const file of stored) {
      this.pending.delete(file.id);
      this.files.push(file);
    }
    return { files: stored.map(fileObject) };
  }

  /** The channel to share in: undefined (a private file) without `channel_id`. */
  private shareChannel(args: Args): string | undefined {
    if (args.channels !== undefined) invalidArguments('FakeSlack models channel_id, not the legacy channels');
    const channelId = optionalString(args.channel_id);
    if (channelId === undefined) return undefined;
    // Only the prefix of Slack's pattern is checked, so that short test ids like `C1` pass.
    if (!/^[CGDZ]/.test(channelId)) {
      invalidArguments(`input must match regex pattern: ${CHANNEL_ID_PATTERN} [json-pointer:/channel_id]`);
    }
    return this.workspace.resolveChannel(channelId);
  }
}

/* ---------------- helpers ---------------- */

function invalidArguments(problem: string): never {
  fail('invalid_arguments', { response_metadata: { messages: [`[ERROR] ${problem}`] } });
}

function positiveInteger(value: unknown): number | undefined {
  const text = typeof value === 'number' || typeof value === 'string' ? String(value).trim() : '';
  if (!/^\d+$/.test(text)) return undefined;
  const number = Number(text);
  return number > 0 && Number.isSafeInteger(number) ? number : undefined;
}

/** `files` of files.completeUploadExternal: a non-empty array of `{id, title?}` (JSON-decoded by http.ts). */
function fileEntries(value: unknown): { id: string; title?: string }[] {
  if (!Array.isArray(value) || value.length === 0) invalidArguments('files must be a non-empty array of {id, title}');
  return value.map((entry: unknown, i) => {
    if (!isObject(entry) || typeof entry.id !== 'string' || entry.id === '') {
      invalidArguments(`missing required field: id [json-pointer:/files/${i}/id]`);
    }
    return { id: entry.id, title: optionalString(entry.title) };
  });
}

/** The file in an upload body: the first file part of a multipart form, else the whole body. */
async function fileInBody(
  contentType: string,
  body: Buffer,
): Promise<{ bytes?: Buffer; part?: Args; problem?: string }> {
  if (!contentType.toLowerCase().startsWith('multipart/form-data')) return { bytes: body };
  let form: FormData;
  try {
    form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch {
    return { problem: 'invalid multipart body' };
  }
  for (const [field, value] of form) {
    if (typeof value === 'string') continue;
    const part = { field, filename: value.name, content_type: value.type };
    return { bytes: Buffer.from(await value.arrayBuffer()), part };
  }
  return { problem: 'no file part in the multipart body' };
}

function fileType(filename: string): [string, string] {
  const extension = /\.([^.]+)$/.exec(filename)?.[1]?.toLowerCase() ?? '';
  return FILE_TYPES[extension] ?? ['binary', 'application/octet-stream'];
}

function messageFile(file: StoredFile): MessageFile {
  return { id: file.id, name: file.filename, title: file.title, mimetype: file.mimetype, size: file.content.length };
}

/** The file object files.completeUploadExternal answers with. */
function fileObject(file: StoredFile): Args {
  const created = nowSeconds();
  const name = encodeURIComponent(file.filename);
  return {
    id: file.id,
    created,
    timestamp: created,
    name: file.filename,
    title: file.title,
    mimetype: file.mimetype,
    filetype: fileType(file.filename)[0],
    user: SLACK_WORKSPACE.botUserId,
    user_team: SLACK_WORKSPACE.teamId,
    editable: false,
    size: file.content.length,
    mode: 'hosted',
    is_external: false,
    external_type: '',
    is_public: file.channel?.startsWith('C') ?? false,
    public_url_shared: false,
    display_as_bot: false,
    username: '',
    ...(file.alt_txt === undefined ? {} : { alt_txt: file.alt_txt }),
    // Slack's URLs, not served by the fake.
    url_private: `https://files.slack.com/files-pri/${SLACK_WORKSPACE.teamId}-${file.id}/${name}`,
    url_private_download: `https://files.slack.com/files-pri/${SLACK_WORKSPACE.teamId}-${file.id}/download/${name}`,
    permalink: `https://${SLACK_WORKSPACE.teamDomain}.slack.com/files/${SLACK_WORKSPACE.botUserId}/${file.id}/${name}`,
    // Slack shares asynchronously: its answer usually lists no shares yet (files.info shows them later).
    shares: {},
    channels: [],
    groups: [],
    ims: [],
    comments_count: 0,
  };
}
