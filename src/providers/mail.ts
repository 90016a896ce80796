import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { ProviderError } from './errors.ts';

/** Sending the batch-mail: one text/plain part, no attachment, envelope = headers. */

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  messageId: string;
}

export interface Mailer {
  send(mail: OutgoingMail): Promise<{ messageId: string; response: string }>;
}

/** Errors where the SMTP server certainly did not take the message. */
const NOT_SENT = new Set(['ECONNECTION', 'EDNS', 'EAUTH', 'ESOCKET', 'EENVELOPE', 'ETLS', 'EPROTOCOL']);

export function createMailer(smtpUrl: string): Mailer {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(mail) {
      try {
        const info = await transport.sendMail({
          from: mail.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          messageId: mail.messageId,
          envelope: { from: mail.from, to: mail.to },
          disableFileAccess: true,
          disableUrlAccess: true,
        });
        return { messageId: info.messageId, response: String(info.response ?? '') };
      } catch (error) {
        const e = error as { code?: string; responseCode?: number; message?: string; command?: string };
        const refusedBeforeData = e.command !== 'DATA' && e.command !== undefined && (e.responseCode ?? 0) >= 400;
        const sure = NOT_SENT.has(e.code ?? '') || refusedBeforeData;
        throw new ProviderError('smtp', sure ? 'terminal' : 'transient', `SMTP: ${e.message ?? String(error)}`, {
          call: sure ? 'not-sent' : 'unknown',
        });
      }
    },
  };
}

export function newMessageId(from: string): string {
  const host = from.split('@')[1] ?? 'dkim-bot.invalid';
  return `<dkim-bot.${Date.now().toString(36)}.${randomBytes(6).toString('hex')}@${host}>`;
}
