import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';

const schemaPath = new URL('../vendor/slack/manifest.schema.1.0.0.json', import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: a parsed YAML document, checked by the schema below
const manifest: Record<string, any> = parse(readFileSync(new URL('../manifest.yml', import.meta.url), 'utf8'));

test("manifest.yml is valid against Slack's manifest schema", () => {
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  const validate = ajv.compile(schema);
  assert.ok(validate(manifest), JSON.stringify(validate.errors, null, 2));
  const broken = { ...manifest, display_information: { description: 'no name' }, bogus: true };
  assert.equal(validate(broken), false, 'the schema does reject a broken manifest');
});

test('the manifest declares what the bot uses', () => {
  assert.equal(manifest.features.slash_commands[0].command, '/dkim');
  for (const scope of ['commands', 'chat:write', 'usergroups:read', 'files:write'])
    assert.ok(manifest.oauth_config.scopes.bot.includes(scope));
  assert.ok(manifest.settings.event_subscriptions.bot_events.includes('app_home_opened'));
  assert.equal(manifest.features.app_home.home_tab_enabled, true);
  assert.equal(manifest.settings.interactivity.is_enabled, true);
});
