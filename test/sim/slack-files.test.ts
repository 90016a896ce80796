import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, type Logger, LogLevel, WebClient } from '@slack/web-api';
import { FakeSlack, type FakeSlackOptions, UPLOAD_URL_CALL } from './slack.ts';

const CHANNEL = 'C1';

async function withFake(options: FakeSlackOptions, run: (fake: FakeSlack) => Promise<void>): Promise<void> {
  const fake = await FakeSlack.start(options);
  try {
    await run(fake);
  } finally {
    await fake.close();
  }
}

/** The client logs the `[ERROR] …` lines of `response_metadata.messages`; the failures here are on purpose. */
const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

function clientFor(fake: FakeSlack): WebClient {
  return new WebClient(fake.token, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logger: quiet });
}

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  assert.fail('expected a rejection');
}

const methods = (fake: FakeSlack) => fake.calls.map((call) => call.method);

/** Step 1 by hand: an upload URL and file id for `length` bytes. */
async function uploadUrl(client: WebClient, filename: string, length: number) {
  const answer = await client.files.getUploadURLExternal({ filename, length });
  return { url: answer.upload_url!, id: answer.file_id! };
}

const post = (url: string, body: string | Buffer) => fetch(url, { method: 'POST', body });

test('filesUploadV2 in a thread: the three steps in order, the bytes kept, the file shown in the thread', async () => {
  await withFake({ channels: [CHANNEL] }, async (fake) => {
    const client = clientFor(fake);
    const parent = await client.chat.postMessage({ channel: CHANNEL, text: 'DKIM report' });
    const content = 'a,b\n1,2\n';
    const result = await client.filesUploadV2({
      channel_id: CHANNEL,
      thread_ts: parent.ts!,
      filename: 'scan.csv',
      title: 'Scan',
      content,
      initial_comment: 'The table',
    });

    assert.deepEqual(methods(fake), [
      'chat.postMessage',
      'files.getUploadURLExternal',
      UPLOAD_URL_CALL,
      'files.completeUploadExternal',
    ]);
    const [getUrl] = fake.callsOf('files.getUploadURLExternal');
    assert.deepEqual(getUrl?.args, { filename: 'scan.csv', length: '8' }); // alt_text/snippet_type unset: not sent
    const fileId = (getUrl!.response as { file_id: string }).file_id;
    assert.match(fileId, /^F\w+$/);
    assert.match(
      (getUrl!.response as { upload_url: string }).upload_url,
      /^http:\/\/127\.0\.0\.1:\d+\/upload\/v1\/\S+$/,
    );

    // The upload: multipart/form-data, one part `body` named `Untitled`, and the client's bot token along.
    const [upload] = fake.callsOf(UPLOAD_URL_CALL);
    assert.equal(upload?.status, 200);
    assert.equal(upload?.response, 'OK - 8');
    assert.match(String(upload?.args.content_type), /^multipart\/form-data; boundary=/);
    assert.deepEqual(upload?.args.part, {
      field: 'body',
      filename: 'Untitled',
      content_type: 'application/octet-stream',
    });
    assert.equal(upload?.args.file_id, fileId);
    assert.equal(upload?.args.bytes, 8);
    assert.equal(upload?.args.authorization, true);

    const [complete] = fake.callsOf('files.completeUploadExternal');
    assert.deepEqual(complete?.args, {
      files: [{ id: fileId, title: 'Scan' }],
      channel_id: CHANNEL,
      thread_ts: parent.ts,
      initial_comment: 'The table',
    });

    // filesUploadV2 answers one completeUploadExternal answer per group of files.
    const completion = (result.files as unknown as { files: Record<string, unknown>[] }[])[0]?.files[0];
    assert.equal(completion?.id, fileId);
    assert.equal(completion?.name, 'scan.csv');
    assert.equal(completion?.title, 'Scan');
    assert.equal(completion?.mimetype, 'text/csv');
    assert.equal(completion?.size, 8);

    const [file] = fake.files();
    assert.equal(fake.files().length, 1);
    assert.equal(file?.id, fileId);
    assert.deepEqual(file?.content, Buffer.from(content));
    assert.equal(fake.fileContent(fileId), content);
    assert.equal(fake.fileContent('F-unknown'), undefined);
    assert.equal(file?.channel, CHANNEL);
    assert.equal(file?.thread_ts, parent.ts);
    assert.equal(file?.initial_comment, 'The table');

    const thread = fake.thread(CHANNEL, parent.ts!);
    assert.equal(thread.length, 2);
    assert.equal(thread[1]?.ts, file?.message_ts);
    assert.equal(thread[1]?.text, 'The table');
    assert.deepEqual(thread[1]?.files, [
      { id: fileId, name: 'scan.csv', title: 'Scan', mimetype: 'text/csv', size: 8 },
    ]);
    assert.equal(fake.threadAsText(CHANNEL, parent.ts!), '● DKIM report\n    ↳ The table\n      [file: scan.csv]');
    assert.equal(fake.messages(CHANNEL).length, 1, 'the reply is not a top-level message');
  });
});

test('binary bytes arrive byte for byte; a top-level share posts a message, no channel_id keeps the file private', async () => {
  await withFake({ channels: [CHANNEL] }, async (fake) => {
    const client = clientFor(fake);
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await client.filesUploadV2({ channel_id: CHANNEL, filename: 'all.bin', file: bytes, alt_text: 'Every byte' });
    // @slack/web-api 8.2 sends `alt_text`; Slack documents `alt_txt`, so the alt text is lost (as on Slack).
    assert.equal(fake.callsOf('files.getUploadURLExternal')[0]?.args.alt_text, 'Every byte');
    await client.filesUploadV2({ filename: 'private.txt', content: 'secret' });

    const [shared, hidden] = fake.files();
    assert.ok(shared?.content.equals(bytes));
    assert.equal(shared?.title, 'all.bin', 'the title defaults to the filename');
    assert.equal(shared?.mimetype, 'application/octet-stream');
    assert.equal(shared?.alt_txt, undefined);
    const [message] = fake.messages(CHANNEL);
    assert.equal(message?.ts, shared?.message_ts);
    assert.equal(fake.threadAsText(CHANNEL, message!.ts), '● [file: all.bin]');

    assert.equal(hidden?.channel, undefined);
    assert.equal(hidden?.message_ts, undefined);
    assert.equal(fake.fileContent(hidden!.id), 'secret');
    assert.equal(fake.allMessages().length, 1);
  });
});

test('without files:write, when scopes are given: missing_scope, nothing uploaded', async () => {
  await withFake({ channels: [CHANNEL], scopes: ['chat:write'] }, async (fake) => {
    const error = await rejection(
      clientFor(fake).filesUploadV2({ channel_id: CHANNEL, filename: 'scan.csv', content: 'a,b\n' }),
    );
    assert.equal(error.code, ErrorCode.PlatformError);
    assert.deepEqual(error.data, {
      ok: false,
      error: 'missing_scope',
      needed: 'files:write',
      provided: 'chat:write',
      response_metadata: { scopes: ['chat:write'] },
    });
    assert.deepEqual(methods(fake), ['files.getUploadURLExternal']);
    assert.deepEqual(fake.files(), []);
  });
});

test('failNext on files.completeUploadExternal: the upload fails cleanly, nothing is shared', async () => {
  await withFake({ channels: [CHANNEL] }, async (fake) => {
    const client = clientFor(fake);
    const parent = await client.chat.postMessage({ channel: CHANNEL, text: 'DKIM report' });
    fake.failNext('files.completeUploadExternal', 'internal_error');
    const error = await rejection(
      client.filesUploadV2({
        channel_id: CHANNEL,
        thread_ts: parent.ts!,
        filename: 'scan.csv',
        content: 'a,b\n',
        initial_comment: 'The table',
      }),
    );
    assert.equal(error.code, ErrorCode.PlatformError);
    assert.equal((error.data as { error: string }).error, 'internal_error');
    assert.deepEqual(methods(fake).slice(1), [
      'files.getUploadURLExternal',
      UPLOAD_URL_CALL,
      'files.completeUploadExternal',
    ]);
    assert.equal(fake.callsOf(UPLOAD_URL_CALL)[0]?.status, 200);
    assert.deepEqual(fake.files(), []);
    assert.equal(fake.thread(CHANNEL, parent.ts!).length, 1);
  });
});

test('files.getUploadURLExternal checks filename and length; ids and URLs are unique', async () => {
  await withFake({}, async (fake) => {
    const client = clientFor(fake);
    for (const args of [
      { length: 3 },
      { filename: 'a.txt' },
      { filename: 'a.txt', length: 0 },
      { filename: 'a', length: 1.5 },
    ]) {
      const error = await rejection(client.apiCall('files.getUploadURLExternal', args));
      assert.equal((error.data as { error: string }).error, 'invalid_arguments', JSON.stringify(args));
    }
    const tooLong = await rejection(
      client.apiCall('files.getUploadURLExternal', { filename: 'a.png', length: 1, alt_txt: 'x'.repeat(1001) }),
    );
    assert.equal((tooLong.data as { error: string }).error, 'alt_txt_too_large');
    const first = await uploadUrl(client, 'a.txt', 1);
    const second = await uploadUrl(client, 'a.txt', 1);
    assert.notEqual(first.id, second.id);
    assert.notEqual(first.url, second.url);
  });
});

test('the upload URL: raw bytes accepted, a wrong length is 400, a used or unknown URL 404, outages are HTTP', async () => {
  await withFake({}, async (fake) => {
    const client = clientFor(fake);
    const { url, id } = await uploadUrl(client, 'notes.txt', 5);

    const short = await post(url, 'four');
    assert.equal(short.status, 400);
    assert.match(await short.text(), /announced 5 bytes, received 4/);
    const ok = await post(url, 'hello');
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'OK - 5');
    assert.equal((await post(url, 'hello')).status, 404, 'an upload URL is used once');
    assert.equal((await post(`${new URL(url).origin}/upload/v1/nope`, 'hello')).status, 404);
    assert.deepEqual(
      fake.callsOf(UPLOAD_URL_CALL).map((call) => [call.status, call.args.file_id, call.args.authorization]),
      [
        [400, id, false],
        [200, id, false],
        [404, undefined, false],
        [404, undefined, false],
      ],
    );

    const next = await uploadUrl(client, 'later.txt', 2);
    fake.outage(true);
    assert.equal((await post(next.url, 'hi')).status, 503);
    fake.outage(false);
    assert.equal((await post(next.url, 'hi')).status, 200);
  });
});

test('files.completeUploadExternal: file_not_found until uploaded and once completed; channels checked', async () => {
  await withFake({ channels: [CHANNEL, 'C2'], nonMemberChannels: ['C2'] }, async (fake) => {
    const client = clientFor(fake);
    const { url, id } = await uploadUrl(client, 'a.txt', 2);
    const complete = (args: Record<string, unknown>) =>
      rejection(client.apiCall('files.completeUploadExternal', { files: [{ id }], ...args })).then(
        (error) => (error.data as { error: string }).error,
      );

    assert.equal(await complete({ channel_id: CHANNEL }), 'file_not_found');
    await post(url, 'ok');
    assert.equal(await complete({ channel_id: 'C404' }), 'channel_not_found');
    assert.equal(await complete({ channel_id: 'C2' }), 'not_in_channel');
    assert.equal(await complete({ channel_id: 'U123' }), 'invalid_arguments', 'a user id is refused here');
    assert.equal(await complete({ files: 'not json' }), 'invalid_arguments');
    assert.equal(await complete({ files: [] }), 'invalid_arguments');

    await client.files.completeUploadExternal({ files: [{ id }], channel_id: CHANNEL });
    assert.equal(await complete({ channel_id: CHANNEL }), 'file_not_found', 'completing twice');
    assert.equal(fake.files().length, 1);

    fake.reset();
    assert.deepEqual(fake.files(), []);
  });
});
