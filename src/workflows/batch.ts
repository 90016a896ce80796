import { createHash, randomBytes } from 'node:crypto';
import {
  BATCH_LIVE_ADDRESS,
  BATCH_TEST_ADDRESS,
  type BatchOrder,
  composeOrder,
  orderSchema,
  signOrder,
} from '../domain/batch.ts';
import { domainFromAscii, showDomain } from '../domain/names.ts';
import type { Run } from '../domain/runs.ts';
import { errorMessage, ProviderError } from '../providers/errors.ts';
import { newMessageId } from '../providers/mail.ts';
import { failed } from './outcomes.ts';
import type { StepContext, StepOutcome, Workflow } from './types.ts';

/**
 * OVH batch-mail orders (DESIGN §2.3): compose, preview with an approval card, and after approval send at most once.
 * The run is checkpointed in `sending` before SMTP; a run found in `sending` goes to `needs_attention`, never resent.
 */

export interface BatchParams {
  order: BatchOrder;
}

export interface BatchFacts {
  referer?: string;
  body?: string;
  bodyHash?: string;
  destination?: string;
  messageId?: string;
  smtpResponse?: string;
  [key: string]: unknown;
}

type Facts = BatchFacts;

export const batchWorkflow: Workflow = {
  kind: 'batch',
  firstState: 'composing',
  waitingStates: [],
  beforeApproval: 'composing',
  afterApproval: 'approved',

  async step(run, ctx) {
    const facts = run.facts as Facts;
    switch (run.state) {
      case 'composing':
        return compose(run, facts, ctx);
      case 'approved':
        return send(run, facts, ctx);
      case 'sending':
        return foundSending(facts);
      default:
        return { state: run.state, facts, next: 'none' };
    }
  },

  async recheckApproval(run, approval, ctx) {
    const settings = batchSettings(ctx);
    const snapshot = approval.snapshot as { destination: string; bodyHash: string };
    if (destinationOf(settings.live) !== snapshot.destination) {
      return `the destination changed since the card was posted (now ${destinationOf(settings.live)}).`;
    }
    const body = composeBody(run, run.facts as Facts, ctx);
    if (hash(body) !== snapshot.bodyHash) return 'the order changed since the card was posted.';
    return undefined;
  },
};

function batchSettings(ctx: StepContext) {
  if (!ctx.batch || !ctx.mail)
    throw new ProviderError('smtp', 'terminal', 'Batch orders are not configured on this bot.');
  return ctx.batch;
}

function destinationOf(live: boolean): string {
  return live ? BATCH_LIVE_ADDRESS : BATCH_TEST_ADDRESS;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function orderOf(run: Run): BatchOrder {
  return orderSchema.parse((run.params as unknown as BatchParams).order);
}

function composeBody(run: Run, facts: Facts, ctx: StepContext): string {
  const settings = batchSettings(ctx);
  return composeOrder(orderOf(run), {
    account: settings.account,
    referer: facts.referer!,
    autopayment: settings.autopayment,
  });
}

export function describeOrder(order: BatchOrder): string {
  const domain = showDomain(domainFromAscii(order.domain));
  switch (order.command) {
    case 'renew':
      return `renew the domain ${domain}`;
    case 'create':
      return `register the domain ${domain}`;
    case 'transfer':
      return `transfer the domain ${domain} to OVH`;
    case 'dns':
      return `set the name servers of ${domain} to ${order.nameServers.map((ns) => ns.host).join(', ')}`;
  }
}

/** No outside call: the order in the documented layout, shown (without its signature) on the approval card. */
function compose(run: Run, facts: Facts, ctx: StepContext): StepOutcome {
  const settings = batchSettings(ctx);
  const referer = facts.referer ?? `dkimbot-${run.id}-${randomBytes(4).toString('hex')}`;
  const withReferer = { ...facts, referer };
  const body = composeBody(run, withReferer, ctx);
  const destination = destinationOf(settings.live);
  const order = orderOf(run);
  return {
    state: 'awaiting_approval',
    facts: { ...withReferer, body, bodyHash: hash(body), destination },
    next: 'none',
    approval: {
      action: 'send_batch',
      snapshot: { destination, bodyHash: hash(body), referer },
      title: `Send an OVH batch order to ${describeOrder(order)}?`,
      lines: [
        `Destination: \`${destination}\`${settings.live ? ' — *LIVE: OVH will act on it, and an order costs money*' : ' (test address: OVH only simulates it)'}`,
        `Referer: \`${referer}\` · account \`${settings.account}\` · autopayment ${settings.autopayment ? 'yes' : 'no'}`,
        'Signed with the MD5 passphrase when sent; the preview below is the mail without its signature line.',
      ],
      preview: body.trimEnd(),
    },
  };
}

async function send(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const settings = batchSettings(ctx);
  const body = composeBody(run, facts, ctx);
  const messageId = newMessageId(settings.from);
  const destination = destinationOf(settings.live);
  // At most once: from here on, a crash leaves the run in `sending`, which is never sent again by itself.
  ctx.checkpoint!('sending', { ...facts, messageId, destination });
  try {
    const sent = await ctx.mail!.send({
      from: settings.from,
      to: destination,
      subject: `OVH batch order ${facts.referer}`,
      text: signOrder(settings.passphrase, body),
      messageId,
    });
    return {
      state: 'done',
      facts: { ...facts, messageId: sent.messageId, destination, smtpResponse: sent.response.slice(0, 200) },
      next: 'none',
      events: [{ type: 'batch_sent', detail: { destination, messageId: sent.messageId, referer: facts.referer } }],
      notices: [
        {
          type: 'reply',
          level: 'success',
          mention: true,
          text: `Sent the order to \`${destination}\` (Message-ID \`${sent.messageId}\`, referer \`${facts.referer}\`). OVH answers by mail to the sender address.`,
        },
      ],
    };
  } catch (error) {
    const certainlyNotSent = error instanceof ProviderError && error.details.call === 'not-sent';
    if (certainlyNotSent) {
      return failed({ ...facts, messageId: undefined }, 'composing', errorMessage(error), {
        text: `Not sent: ${errorMessage(error)}`,
        hint: '`/dkim retry` composes the order again and asks for a fresh approval.',
      });
    }
    return attention({ ...facts, messageId, destination }, `the mail server failed mid-way (${errorMessage(error)})`);
  }
}

function foundSending(facts: Facts): StepOutcome {
  return attention(facts, 'the bot stopped while sending');
}

function attention(facts: Facts, why: string): StepOutcome {
  const text = `Needs attention: ${why}, so the order may or may not have reached \`${facts.destination}\` (Message-ID \`${facts.messageId}\`, referer \`${facts.referer}\`). It will not be sent again by itself: an order costs money. Check the mailbox of the sender for OVH's answer, then \`/dkim cancel\` this run, and start a new one only if nothing arrived.`;
  return {
    state: 'needs_attention',
    facts,
    next: 'none',
    lastError: `Needs attention: ${why}.`,
    notices: [{ type: 'reply', level: 'warning', mention: true, text }],
  };
}
