import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/** A real SMTP server on loopback (smtp-server) that keeps what it receives: envelope and raw message. */
export interface ReceivedMail {
  from: string;
  to: string[];
  raw: string;
}

/**
 * How the server treats the next messages: `accept` (250), `refuseRecipient` (550 to RCPT TO: certainly not sent),
 * `dropAfterData` (takes the whole message, then cuts the link before its 250: it may well have been sent),
 * `stallAfterData` (takes the message and never answers: a timeout after DATA).
 */
export type SmtpBehaviour = 'accept' | 'refuseRecipient' | 'dropAfterData' | 'stallAfterData';

export class SmtpSim {
  readonly mails: ReceivedMail[] = [];
  connections = 0;
  /** Commands seen, in order (`MAIL FROM`, `RCPT TO`, `DATA`, `AUTH`), for tests of what reached the server. */
  readonly commands: string[] = [];
  readonly errors: string[] = [];
  behaviour: SmtpBehaviour = 'accept';
  /** Called when a message's data starts arriving; a test may kill the sender here. */
  onData?: () => void;
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(private readonly server: SMTPServer) {}

  static async start(options: { startTls?: boolean; refuseAuth?: boolean } = {}): Promise<SmtpSim> {
    let sim: SmtpSim | undefined;
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: options.startTls ? [] : ['STARTTLS'],
      logger: false,
      onAuth(auth, _session, callback) {
        sim!.commands.push('AUTH');
        if (options.refuseAuth) return callback(new Error('Invalid username or password'));
        callback(null, { user: auth.username });
      },
      onMailFrom(_address, _session, callback) {
        sim!.commands.push('MAIL FROM');
        callback();
      },
      onRcptTo(_address, _session, callback) {
        sim!.commands.push('RCPT TO');
        if (sim!.behaviour !== 'refuseRecipient') return callback();
        callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
      },
      onConnect(_session, callback) {
        sim!.connections++;
        callback();
      },
      onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
        sim!.commands.push('DATA');
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
          if (sim!.behaviour === 'dropAfterData') return sim!.dropAll();
          if (sim!.behaviour === 'stallAfterData') return;
          callback();
        });
      },
    });
    sim = new SmtpSim(server);
    server.server.on('connection', (socket: import('node:net').Socket) => {
      sim!.sockets.add(socket);
      socket.on('close', () => sim!.sockets.delete(socket));
    });
    // A client killed mid-message resets the connection: that is a test's point, not a failure of the server.
    server.on('error', (error) => sim!.errors.push(error.message));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return sim;
  }

  get url(): string {
    return `smtp://bot:smtp-test-password@127.0.0.1:${(this.server.server.address() as AddressInfo).port}`;
  }

  get port(): number {
    return (this.server.server.address() as AddressInfo).port;
  }

  /** Cuts every open link without an answer, as a crashed or unplugged server would. */
  dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  close(): Promise<void> {
    this.dropAll();
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
