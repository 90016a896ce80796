import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/** A real SMTP server on loopback (smtp-server) that keeps what it receives: envelope and raw message. */
export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

export class SmtpSim {
  readonly mails: ReceivedMail[] = [];
  connections = 0;
  readonly errors: string[] = [];
  /** Called when a message's data starts arriving; a test may kill the sender here. */
  onData?: () => void;

  private constructor(private readonly server: SMTPServer) {}

  static async start(): Promise<SmtpSim> {
    let sim: SmtpSim | undefined;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(auth, _session, callback) {
        callback(null, { user: auth.username });
      },
      onConnect(_session, callback) {
        sim!.connections++;
        callback();
      },
      onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
        sim!.onData?.();
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          sim!.mails.push({
            from,
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    });
    sim = new SmtpSim(server);
    // A client killed mid-message resets the connection: that is a test's point, not a failure of the server.
    server.on('error', (error) => sim!.errors.push(error.message));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return sim;
  }

  get url(): string {
    return `smtp://bot:smtp-test-password@127.0.0.1:${(this.server.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The text body of a single-part mail, with soft line breaks and quoted-printable undone, line ends as \n. */
export function mailBody(raw: string): { headers: string; body: string } {
  const split = raw.indexOf('\r\n\r\n');
  const headers = raw.slice(0, split);
  let body = raw.slice(split + 4);
  if (/content-transfer-encoding:\s*quoted-printable/i.test(headers)) {
    body = Buffer.from(
      body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(Number.parseInt(hex, 16))),
      'latin1',
    ).toString('utf8');
  }
  return { headers, body: body.replace(/\r\n/g, '\n') };
}
