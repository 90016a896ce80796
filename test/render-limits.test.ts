import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Notice, RunSummary } from '../src/domain/notices.ts';
import { type ScanResult, summarize } from '../src/domain/scan.ts';
import { approvalCard } from '../src/slack/render/cards.ts';
import { parentMessage } from '../src/slack/render/messages.ts';
import type { SlackMessage } from '../src/slack/render/text.ts';
import { groupCard } from '../src/workflows/group/index.ts';
import type { GroupAsk } from '../src/workflows/group/member.ts';

/**
 * The renderer keeps to Block Kit's limits whatever a message holds: 50 blocks, 3,000 characters a section, 75 a
 * button's text, 2,000 its value, 25 elements an actions block, unique action and block ids.
 */

type Block = {
  type: string;
  block_id?: string;
  text?: { text: string };
  elements?: { type: string; text?: string | { text: string }; action_id?: string; value?: string }[];
  accessory?: unknown;
};

function assertWithinLimits(message: SlackMessage): void {
  const blocks = message.blocks as Block[];
  assert.ok(blocks.length <= 50, `${blocks.length} blocks`);
  const actionIds = new Set<string>();
  const blockIds = new Set<string>();
  for (const block of blocks) {
    if (block.text) assert.ok(block.text.text.length <= 3000, `a section of ${block.text.text.length} characters`);
    if (block.block_id) {
      assert.ok(block.block_id.length <= 255);
      assert.ok(!blockIds.has(block.block_id), `block id ${block.block_id} twice`);
      blockIds.add(block.block_id);
    }
    if (block.type === 'context') {
      for (const element of block.elements ?? []) {
        const text = typeof element.text === 'string' ? element.text : (element.text?.text ?? '');
        assert.ok(text.length <= 3000, `a context of ${text.length} characters`);
      }
    }
    if (block.type !== 'actions') continue;
    assert.ok((block.elements ?? []).length <= 25, `${block.elements?.length} elements in an actions block`);
    for (const button of block.elements ?? []) {
      const label = typeof button.text === 'string' ? button.text : (button.text?.text ?? '');
      assert.ok(label.length <= 75, `a button of ${label.length} characters: ${label}`);
      assert.ok((button.value ?? '').length <= 2000);
      assert.ok(button.action_id && !actionIds.has(button.action_id), `action id ${button.action_id} twice`);
      actionIds.add(button.action_id ?? '');
    }
  }
}

/** A name near DNS's limits: 63-character labels, 250 characters in all. */
function longName(i: number): string {
  const label = (c: string) => `${c}${i}`.padEnd(63, c);
  return `${label('a')}.${label('b')}.${label('c')}.${`d${i}`.padEnd(55, 'd')}.fr`;
}

function result(domain: string, i: number): ScanResult {
  const needsSetup = i % 3 !== 0;
  return {
    domain,
    service: i % 2 ? 'exchange/org1/svc1' : `pro/emailpro-${'z'.repeat(40)}-1`,
    where: i % 2 ? 'Exchange service org1/svc1' : `Email Pro service emailpro-${'z'.repeat(40)}-1`,
    zone: domain,
    dkim: needsSetup ? 'none' : 'signing',
    ...(needsSetup ? {} : { signing: `ovhex${i}-selector1` }),
    selectors: [],
    spf: { state: 'no_ovh_include', record: 'v=spf1 ~all' },
    dmarc: needsSetup ? { state: 'missing' } : { state: 'ok', policy: 'none' },
    next: needsSetup ? 'set up DKIM; add `include:mx.ovh.com` to the SPF record' : 'nothing',
    needsSetup,
    readiness: needsSetup
      ? {
          verdict: 'not_ready',
          reasons: ['spf_over_limit', 'spf_void_lookups', 'dkim_not_signing', 'dmarc_missing'],
          spfLookups: 14,
          spfVoidLookups: 3,
        }
      : { verdict: 'ready', reasons: [], spfLookups: 1, spfVoidLookups: 0, policy: 'none' },
  };
}

function summaryOf(results: ScanResult[]): RunSummary {
  return {
    runId: 7,
    kind: 'scan',
    domain: 'the whole account',
    state: 'done',
    requestedBy: 'U1',
    nextCheckAt: null,
    lastError: null,
    scan: summarize(results),
  };
}

test('a scan of 1,000 domains with long names: within the limits, the domains needing a setup first, the rest counted', () => {
  const results = Array.from({ length: 1000 }, (_, i) => result(longName(i), i));
  const message = parentMessage(summaryOf(results));
  assertWithinLimits(message);
  const shown = JSON.stringify(message.blocks);
  assert.match(shown, /Need a setup\* \(666\)/);
  assert.match(shown, /…and 646 more need a setup/);
  assert.match(shown, /334 domains need no setup \(334 signing\)/);
  assert.match(shown, /Set up all 666/);
  assert.match(
    shown,
    /Bulk-sender rules \(SPF, DKIM, DMARC\): 334 ready · 666 not ready \(666 SPF over 10 DNS look-ups/,
  );
  assert.match(shown, /bulk senders: not ready \(SPF needs 14 DNS look-ups \(10 at most\), SPF has 3 look-ups/);
});

test('an account of 40 domains shows every one: those needing a setup with a button, the signing ones with their selector and DMARC policy', () => {
  const results = Array.from({ length: 40 }, (_, i) => result(longName(i), i));
  const message = parentMessage(summaryOf(results));
  assertWithinLimits(message);
  const shown = JSON.stringify(message.blocks);
  for (const r of results) assert.ok(shown.includes(r.domain), r.domain);
  assert.match(shown, /signing with `ovhex3-selector1` · DMARC p=none · bulk senders: ready/);
  const buttons = (message.blocks as Block[]).flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []));
  assert.equal(buttons.length, results.filter((r) => r.needsSetup).length + 1, 'a Set up per domain, and Set up all');
});

test('a group card of 200 members: forty named, the rest in a file, each offer with its exact call and count', () => {
  const asks: GroupAsk[] = Array.from({ length: 200 }, (_, i) => ({
    runId: i + 10,
    domain: longName(i),
    service: i % 4 === 0 ? 'mxplan' : i % 4 === 1 ? 'pro/emailpro-ab1-1' : 'exchange/org1/svc1',
    ...(i % 4 === 0 ? {} : { selector: `ovhex${i}-selector1`, target: `ovhex${i}-selector1._domainkey.x.ovh.net` }),
    askedAt: 1,
  }));
  const request = groupCard(3, 2, asks);
  const notice: Extract<Notice, { type: 'approval_request' }> = {
    type: 'approval_request',
    approvalId: 9,
    title: request.title,
    lines: request.lines,
    approvers: ['UAPPROVER'],
    selfApproval: false,
    expiresAt: 1_800_000_000_000,
  };
  const message = approvalCard(notice, 'UREQUESTER');
  assertWithinLimits(message);
  const shown = JSON.stringify(message.blocks);
  assert.equal(asks.filter((a) => shown.includes(a.domain)).length, 40);
  assert.match(shown, /…and 160 more: every domain this card enables is in the file below/);
  assert.match(
    shown,
    /Exchange service `org1\/svc1`: 100 × `POST \/email\/exchange\/org1\/service\/svc1\/domain\/\{domain\}\/dkim\/\{selector\}\/enable`/,
  );
  assert.match(
    shown,
    /Email Pro service `emailpro-ab1-1`: 50 × `POST \/email\/pro\/emailpro-ab1-1\/domain\/\{domain\}\/dkim\/\{selector\}\/enable`/,
  );
  assert.match(shown, /MX Plan: 50 × `PUT \/email\/domain\/\{domain\}\/dkim\/enable`/);
  assert.ok(request.file, 'the whole list as a file beside the card');
  assert.equal(request.file.content.trim().split('\r\n').length, 201, 'a header and every member');
});
