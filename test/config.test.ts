import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { envSchema } from '../src/config/env.ts';
import { ConfigError, describeConfig, parseConfig, secretValues } from '../src/config/index.ts';

test('defaults of the contract', () => {
  const config = parseConfig({ SLACK_BOT_TOKEN: 'xoxb-1' });
  assert.equal(config.slack.port, 3000);
  assert.equal(config.slack.apiUrl, 'https://slack.com/api/');
  assert.deepEqual(config.approvers, []);
  assert.equal(config.allowSelfApproval, false);
  assert.equal(config.ovh, undefined);
  assert.match(config.ovhDisabledReason ?? '', /OVH_APP_KEY/);
  assert.equal(config.databasePath, './data/dkim-bot.sqlite');
  assert.equal(config.pollCron, '* * * * *');
  assert.equal(config.recheckMaxSeconds, 300);
  assert.equal(config.approvalTtlHours, 24);
  assert.equal(config.batch, undefined);
});

test('every problem is named at once', () => {
  const env = {
    SLACK_BOT_TOKEN: 'not-a-token',
    PORT: 'eighty',
    DKIM_APPROVERS: 'U123,bob',
    OVH_ENDPOINT: 'http://insecure',
    OVH_APP_KEY: 'k',
    POLL_CRON: 'every minute',
    DNS_SERVERS: '1.1.1.1,dns.example',
  };
  assert.throws(
    () => parseConfig(env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      for (const name of ['SLACK_BOT_TOKEN', 'PORT', 'DKIM_APPROVERS', 'OVH_ENDPOINT', 'POLL_CRON', 'DNS_SERVERS']) {
        assert.match(error.message, new RegExp(name), `${name} missing from ${error.message}`);
      }
      return true;
    },
  );
});

test('half-given credentials are refused, OVH endpoint URLs accepted', () => {
  assert.throws(() => parseConfig({ OVH_APP_KEY: 'a', OVH_APP_SECRET: 'b' }), /all three/);
  assert.throws(() => parseConfig({ OVH_APP_KEY: 'a', OVH_CLIENT_ID: 'c', OVH_CLIENT_SECRET: 'd' }), /choose one/);
  const config = parseConfig({
    OVH_ENDPOINT: 'https://127.0.0.1:8443/1.0',
    OVH_APP_KEY: 'a',
    OVH_APP_SECRET: 'b',
    OVH_CONSUMER_KEY: 'c',
  });
  assert.equal(config.ovh?.endpoint, 'https://127.0.0.1:8443/1.0');
  assert.equal(config.ovh?.ratePerMinute, 60);
});

test('secrets never appear in the printed configuration or in errors', () => {
  const env = {
    SLACK_BOT_TOKEN: 'xoxb-secret-bot-token',
    SLACK_SIGNING_SECRET: 'signing-secret-value',
    OVH_APP_KEY: 'appkey',
    OVH_APP_SECRET: 'ovh-app-secret-value',
    OVH_CONSUMER_KEY: 'ovh-consumer-key-value',
    OVH_BATCH_ACCOUNT: 'ab1234-ovh',
    OVH_BATCH_PASSPHRASE: 'batch passphrase value',
    SMTP_URL: 'smtp://user:smtp-password@127.0.0.1:2525',
    BATCH_FROM: 'bot@example.fr',
  };
  const printed = JSON.stringify(describeConfig(parseConfig(env)));
  for (const secret of secretValues(env)) assert.ok(!printed.includes(secret), `leaked ${secret}`);
  assert.ok(secretValues(env).includes('smtp-password'));
  const badEnv = { ...env, PORT: 'x' };
  assert.throws(
    () => parseConfig(badEnv),
    (error: Error) => secretValues(env).every((s) => !error.message.includes(s)),
  );
});

test('URLs that carry tokens must be https, but to this machine', () => {
  for (const [name, value] of [
    ['SLACK_API_URL', 'http://slack.example.com/api/'],
    ['VTEX_BASE_URL', 'http://store.vtexcommercestable.com'],
    ['OVH_TOKEN_URL', 'http://auth.example.com/'],
  ] as const) {
    assert.throws(
      () => parseConfig({ SLACK_BOT_TOKEN: 'xoxb-1', [name]: value }),
      (error: unknown) =>
        error instanceof ConfigError && new RegExp(`${name}: must be an https:// URL`).test(error.message),
      name,
    );
  }
  const local = parseConfig({
    SLACK_BOT_TOKEN: 'xoxb-1',
    SLACK_API_URL: 'http://127.0.0.1:4000/api/',
    VTEX_BASE_URL: 'http://localhost:4001',
    VTEX_APP_KEY: 'key',
    VTEX_APP_TOKEN: 'token',
  });
  assert.equal(local.slack.apiUrl, 'http://127.0.0.1:4000/api/');
  assert.equal(local.vtex?.baseUrl, 'http://localhost:4001');
});

test('who may start runs, the per-user cap, SMTP without TLS and the discovery TTL are part of the contract', () => {
  const config = parseConfig({
    SLACK_BOT_TOKEN: 'xoxb-1',
    DKIM_REQUESTERS: 'U111, S222',
    DKIM_BATCH_REQUESTERS: 'U333',
    MAX_ACTIVE_RUNS_PER_USER: '5',
    SMTP_ALLOW_PLAINTEXT: 'true',
    DISCOVERY_TTL_MINUTES: '0.5',
    OVH_BATCH_ACCOUNT: 'ab1234-ovh',
    OVH_BATCH_PASSPHRASE: 'pass phrase',
    SMTP_URL: 'smtp://relay.example.net:587',
    BATCH_FROM: 'bot@example.fr',
  });
  assert.deepEqual(config.requesters, ['U111', 'S222']);
  assert.deepEqual(config.batchRequesters, ['U333']);
  assert.equal(config.maxActiveRunsPerUser, 5);
  assert.equal(config.batch?.smtpAllowPlaintext, true);
  assert.equal(config.discoveryTtlMinutes, 0.5);
  const defaults = parseConfig({ SLACK_BOT_TOKEN: 'xoxb-1' });
  assert.deepEqual([defaults.requesters, defaults.maxActiveRunsPerUser, defaults.discoveryTtlMinutes], [[], 20, 10]);
  assert.throws(() => parseConfig({ SLACK_BOT_TOKEN: 'xoxb-1', DKIM_REQUESTERS: 'bob' }), /DKIM_REQUESTERS/);
});

test('DMARC settings: defaults, the report address, the mailbox over TLS (plain IMAP to this machine only), its password a secret', () => {
  const defaults = parseConfig({}).dmarc;
  assert.deepEqual(defaults, {
    rua: undefined,
    imapUrl: undefined,
    doneFolder: 'dmarc-done',
    cron: '17 * * * *',
    stepUpDays: 14,
    stepUpPass: 98,
    minMessages: 100,
    retentionDays: 400,
  });
  const config = parseConfig({
    DMARC_RUA: 'mailto:reports@example.net',
    DMARC_IMAP_URL: 'imaps://reports:S3cret-pass@imap.example.net/INBOX',
    DMARC_STEP_UP_DAYS: '0.5',
  });
  assert.equal(config.dmarc.rua, 'reports@example.net');
  assert.equal(config.dmarc.stepUpDays, 0.5);
  const printed = JSON.stringify(describeConfig(config));
  assert.ok(!printed.includes('S3cret-pass'), printed);
  assert.ok(secretValues({ DMARC_IMAP_URL: 'imaps://r:S3cret-pass@h/INBOX' }).includes('S3cret-pass'));
  assert.doesNotThrow(() => parseConfig({ DMARC_IMAP_URL: 'imap://r:p@127.0.0.1:1143/INBOX' }));
  const refused: [string, string][] = [
    ['DMARC_IMAP_URL', 'imap://r:p@imap.example.net/INBOX'],
    ['DMARC_IMAP_URL', 'imaps://imap.example.net/INBOX'],
    ['DMARC_IMAP_URL', 'imaps://u:ab%zz@imap.example.net/INBOX'],
    ['DMARC_RUA', 'not an address'],
    ['DMARC_STEP_UP_PASS', '120'],
    ['DMARC_CRON', 'hourly'],
  ];
  for (const [name, value] of refused) {
    assert.throws(() => parseConfig({ [name]: value }), new RegExp(name), `${name}=${value}`);
  }
});

test('.env.example lists every variable of the contract', () => {
  const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
  const listed = new Set([...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((m) => m[1]));
  for (const name of Object.keys(envSchema.shape)) assert.ok(listed.has(name), `${name} is not in .env.example`);
});
