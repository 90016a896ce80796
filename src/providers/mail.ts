import { randomBytes } from 'node:crypto';
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import { isLoopback } from '../domain/names.ts';
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
  /**
   * Sends one mail. A failure says whether the server certainly did not take it (`details.call: 'not-sent'`: refused
   * before the message data, or never reached) or whether it may have (`'unknown'`: anything once DATA began).
   */
  send(mail: OutgoingMail): Promise<{ messageId: string; response: string }>;
}

export interface SmtpSettings {
  url: string;
  /** Log in and send without TLS to a host that is not loopback. Off by default: a stripped STARTTLS is refused. */
  allowPlaintext: boolean;
  timeoutMs?: number;
}

/** The connection options for `SMTP_URL`: `smtps://` is TLS from the start; `smtp://` must upgrade with STARTTLS. */
export function smtpOptions(
  settings: SmtpSettings,
): SMTPConnection.Options & { auth?: { user: string; pass: string } } {
  const url = new URL(settings.url);
  const secure = url.protocol === 'smtps:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const timeout = settings.timeoutMs ?? 30_000;
  const user = decodeURIComponent(url.username);
  return {
    host,
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    requireTLS: !secure && !isLoopback(host) && !settings.allowPlaintext,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    ...(user ? { auth: { user, pass: decodeURIComponent(url.password) } } : {}),
  };
}

class NotSent extends Error {}

/**
 * SMTP in explicit phases, so that a failure is sorted by where it happened: connecting, TLS and logging in happen
 * before the server sees any message; in the send, only a refused envelope (MAIL FROM, RCPT TO, or the DATA command
 * itself) is certain; once the message data began, a dropped link or a timeout leaves it unknown.
 */
export function createMailer(settings: SmtpSettings): Mailer {
  return mailerFor(smtpOptions(settings));
}

/** The mailer for connection options as `smtpOptions` makes them. */
export function mailerFor(options: ReturnType<typeof smtpOptions>): Mailer {
  return {
    async send(mail) {
      const { MailComposer, SMTPConnection } = await nodemailer();
      const raw = await compose(MailComposer, mail);
      const connection = new SMTPConnection(options);
      // Every failure also ends the phase under way (below); an error after the last phase must not crash the bot.
      connection.on('error', () => undefined);
      try {
        await phase(() => step<void>(connection, (done) => connection.connect(() => done())));
        const { auth } = options;
        if (auth && (connection as unknown as { allowsAuth: boolean }).allowsAuth) {
          await phase(() => step<void>(connection, (done) => connection.login(auth, (e) => done(e))));
        }
        const info = await step<SMTPConnection.SentMessageInfo>(connection, (done) =>
          connection.send({ from: mail.from, to: [mail.to] }, raw, (e, sent) => done(e, sent)),
        );
        return { messageId: mail.messageId, response: String(info.response ?? '') };
      } catch (error) {
        throw smtpError(error);
      } finally {
        connection.quit();
      }
    },
  };
}

/** One SMTP exchange: its callback, or the connection's error or end, whichever comes first. */
function step<T>(connection: SMTPConnection, run: (done: (error?: Error | null, value?: T) => void) => void) {
  return new Promise<T>((resolve, reject) => {
    const settle = (error?: Error | null, value?: T) => {
      connection.off('error', onError);
      connection.off('end', onEnd);
      if (error) reject(error);
      else resolve(value as T);
    };
    const onError = (error: Error) => settle(error);
    const onEnd = () => settle(Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION' }));
    connection.once('error', onError);
    connection.once('end', onEnd);
    run(settle);
  });
}

async function phase(step: () => Promise<void>): Promise<void> {
  try {
    await step();
  } catch (error) {
    throw Object.assign(new NotSent(messageOf(error)), { cause: error });
  }
}

function smtpError(error: unknown): ProviderError {
  const e = error as { code?: string; responseCode?: number; command?: string };
  const certain = error instanceof NotSent || e.code === 'EENVELOPE';
  return new ProviderError('smtp', certain ? 'terminal' : 'transient', `SMTP: ${messageOf(error)}`, {
    call: certain ? 'not-sent' : 'unknown',
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** nodemailer's parts (about 2.5 MiB of heap), loaded at the first mail rather than when the bot starts. */
async function nodemailer() {
  const [composer, smtp] = await Promise.all([
    import('nodemailer/lib/mail-composer'),
    import('nodemailer/lib/smtp-connection'),
  ]);
  return { MailComposer: composer.default, SMTPConnection: smtp.default };
}

type Composer = Awaited<ReturnType<typeof nodemailer>>['MailComposer'];

function compose(MailComposer: Composer, mail: OutgoingMail): Promise<Buffer> {
  const message = new MailComposer({
    from: mail.from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    messageId: mail.messageId,
    disableFileAccess: true,
    disableUrlAccess: true,
  }).compile();
  return new Promise((resolve, reject) => message.build((error, built) => (error ? reject(error) : resolve(built))));
}

export function newMessageId(from: string): string {
  const host = from.split('@')[1] ?? 'dkim-bot.invalid';
  return `<dkim-bot.${Date.now().toString(36)}.${randomBytes(6).toString('hex')}@${host}>`;
}
