import { createHash, randomBytes } from 'node:crypto';
import {
  BATCH_LIVE_ADDRESS,
  BATCH_TEST_ADDRESS,
  type BatchOrder,
  composeOrder,
  orderForAudit,
  orderForPreview,
  orderSchema,
  signOrder,
} from '../domain/batch.ts';
import { domainFromAscii, showDomain } from '../domain/names.ts';
import type { Run } from '../domain/runs.ts';
import { type GrantFacts, grantHolds } from '../engine/approvals/grants.ts';
import { InvariantError, need } from '../engine/invariant.ts';
import { judge, sendOnce } from '../engine/once.ts';
import { failed, proceed } from '../engine/outcomes.ts';
import type { StepContext, StepOutcome, Workflow } from '../engine/types.ts';
import { errorMessage, ProviderError } from '../providers/errors.ts';
import { newMessageId } from '../providers/mail.ts';

/**
 * OVH batch-mail orders (DESIGN §2.3): compose, preview with an approval card, and after approval send at most once.
 * The run is checkpointed (durably) in `sending` before SMTP; a run found in `sending`, or whose send failed once the
 * message data began, goes to `needs_attention`: it may have been sent, and an order costs money.
 */

export interface BatchParams {
  order: BatchOrder;
}

export interface BatchFacts extends GrantFacts {
  referer?: string;
  /** What the approval card showed: the hash of the body and its destination. The body itself is not kept. */
  bodyHash?: string;
  destination?: string;
  messageId?: string;
  smtpResponse?: string;
  /** A send that may have gone out, before this order was composed again: the card says so. */
  previousAttempt?: { messageId?: string; referer?: string };
  [key: string]: unknown;
}

type Facts = BatchFacts;

export const batchWorkflow: Workflow = {
  kind: 'batch',
  firstState: 'composing',
  waitingStates: [],
  beforeApproval: () => 'composing',
  afterApproval: () => 'approved',
  approvedStates: ['approved', 'sending'],

  async step(run, ctx) {
    const facts = run.facts as Facts;
    switch (run.state) {
      case 'composing':
        return compose(run, facts, ctx);
      case 'approved':
        return send(run, facts, ctx);
      case 'sending':
        return foundSending(facts, ctx.now);
      default:
        return { state: run.state, facts, next: 'none' };
    }
  },

  freshLook: (facts) => freshOrder(facts as Facts),

  retryRefusal(run) {
    if ((run.facts as Facts).privateDroppedAt === undefined) return undefined;
    return 'its transfer code and owner details were deleted after BATCH_CODE_TTL_DAYS: start a fresh order with `/dkim batch …`.';
  },

  cancelRefusal(run) {
    if (run.state !== 'approved' && run.state !== 'sending') return undefined;
    return 'This order is approved and being sent: cancelling now could hide an order that went out. Wait for the outcome in the thread; if it ends in "needs attention", check the batch mailbox for OVH\'s answer before doing anything else.';
  },

  auditParams(params) {
    const order = orderSchema.safeParse((params as unknown as BatchParams).order);
    return order.success ? { order: orderForAudit(order.data) } : { order: '[unreadable]' };
  },

  async recheckApproval(run, approval, ctx) {
    const settings = batchSettings(ctx);
    const snapshot = approval.snapshot as { destination: string; bodyHash: string };
    if (destinationOf(settings.live) !== snapshot.destination) {
      return `the destination changed since the card was posted (now ${destinationOf(settings.live)}).`;
    }
    const body = composeBody(orderOf(run), run.facts as Facts, ctx);
    if (hash(body) !== snapshot.bodyHash) return 'the order changed since the card was posted.';
    return undefined;
  },
};

/** The call's key among the run's facts (engine/once.ts). */
const SEND = 'send';

/** A fresh order for a fresh approval: a new referer; a send that may have gone out is remembered for the card. */
function freshOrder(facts: Facts): Facts {
  const {
    referer,
    messageId,
    bodyHash: _hash,
    destination: _to,
    smtpResponse: _answer,
    calls: _calls,
    ...rest
  } = facts;
  const mayHaveGone = messageId ? { previousAttempt: { messageId, referer } } : {};
  return { ...rest, ...mayHaveGone };
}

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

function composeBody(order: BatchOrder, facts: Facts, ctx: StepContext): string {
  const settings = batchSettings(ctx);
  const referer = need(facts.referer, 'the referer of a composed order');
  return composeOrder(order, { account: settings.account, referer, autopayment: settings.autopayment });
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
  const order = orderOf(run);
  const bodyHash = hash(composeBody(order, withReferer, ctx));
  const destination = destinationOf(settings.live);
  const earlier = facts.previousAttempt;
  return {
    state: 'awaiting_approval',
    facts: { ...withReferer, bodyHash, destination },
    next: 'none',
    approval: {
      action: 'send_batch',
      snapshot: { destination, bodyHash, referer },
      title: `Send an OVH batch order to ${describeOrder(order)}?`,
      lines: [
        ...(earlier
          ? [
              `:warning: An earlier attempt may have been sent (Message-ID \`${earlier.messageId}\`, referer \`${earlier.referer}\`): check the batch mailbox for OVH's answer before approving this new order.`,
            ]
          : []),
        `Destination: \`${destination}\`${settings.live ? ' — *LIVE: OVH will act on it, and an order costs money*' : ' (test address: OVH only simulates it)'}`,
        `Referer: \`${referer}\` · account \`${settings.account}\` · autopayment ${settings.autopayment ? 'yes' : 'no'}`,
        'Signed with the MD5 passphrase when sent; the preview below is the mail without its signature line.',
      ],
      preview: composeBody(orderForPreview(order), withReferer, ctx).trimEnd(),
    },
  };
}

async function send(run: Run, facts: Facts, ctx: StepContext): Promise<StepOutcome> {
  const settings = batchSettings(ctx);
  const order = orderOf(run);
  const body = composeBody(order, facts, ctx);
  const destination = destinationOf(settings.live);
  if (hash(body) !== facts.bodyHash || destination !== facts.destination) {
    const what = destination !== facts.destination ? `its destination is now \`${destination}\`` : 'its text changed';
    return proceed('composing', freshOrder(facts), [
      {
        type: 'reply',
        level: 'warning',
        text: `Not sent: the order is no longer the one approved (${what}, the configuration changed). Composing it again for a fresh approval.`,
      },
    ]);
  }
  if (!grantHolds(run, ctx.view, ctx.now)) return proceed('composing', freshOrder(facts));
  const messageId = newMessageId(settings.from);
  const mail = need(ctx.mail, 'the mailer of a configured batch');
  try {
    // At most once: the attempt is checkpointed in `sending`, which is never sent again by itself after a crash.
    const { result: sent, facts: answered } = await sendOnce(
      ctx,
      run.state,
      { ...facts, messageId },
      SEND,
      () =>
        mail.send({
          from: settings.from,
          to: destination,
          subject: `OVH batch order ${facts.referer}`,
          text: signOrder(settings.passphrase, body),
          messageId,
        }),
      'sending',
    );
    return {
      state: 'done',
      facts: { ...answered, messageId: sent.messageId, smtpResponse: sent.response.slice(0, 200) },
      next: 'none',
      scrub: { params: { order: orderForAudit(order) } },
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
      return failed({ ...facts, messageId: undefined, calls: undefined }, 'composing', errorMessage(error), {
        text: `Not sent: the mail server refused it before taking the message (${errorMessage(error)}).`,
        hint: '`/dkim retry` composes the order again and asks for a fresh approval.',
      });
    }
    return attention(
      { ...facts, messageId },
      `the mail server failed once the message was on its way (${errorMessage(error)})`,
    );
  }
}

/** Found in `sending`: the mail may have gone out, and its answer was lost; nothing can tell, so a person looks. */
function foundSending(facts: Facts, now: number): StepOutcome {
  const { verdict } = judge(facts, SEND, 'unknowable', now);
  if (verdict.act !== 'uncertain' && facts.calls?.[SEND] !== undefined) {
    throw new InvariantError('a send found in `sending` without its attempt unanswered');
  }
  return attention(facts, 'the bot stopped while sending');
}

function attention(facts: Facts, why: string): StepOutcome {
  const text = `Needs attention: ${why}, so it may have been sent to \`${facts.destination}\` (Message-ID \`${facts.messageId}\`, referer \`${facts.referer}\`). It will not be sent again by itself: an order costs money. Check the batch mailbox (the sender address) for OVH's answer. If nothing came, \`/dkim retry\` composes a fresh order for a fresh approval; otherwise \`/dkim cancel batch\` this run.`;
  return {
    state: 'needs_attention',
    facts,
    next: 'none',
    lastError: `Needs attention: ${why}; it may have been sent.`,
    notices: [{ type: 'reply', level: 'warning', mention: true, text }],
  };
}
