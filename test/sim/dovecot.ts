import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';

/**
 * A real Dovecot (Debian's dovecot-imapd) on loopback, with a config of its own in a temporary folder: the IMAP
 * server of the DMARC tests. `.ci/run` installs the package; a test that cannot start it fails, it does not skip.
 */

const run = promisify(execFile);
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const POLL_MS = 50;

/** Characters a URL must encode; none that Dovecot's config reads specially (`%`, `#`, spaces). */
const DEFAULT_PASSWORD = 'p@ss:w/rd&x?y';

export interface DovecotOptions {
  user?: string;
  password?: string;
}

export class DovecotSim {
  readonly host = '127.0.0.1';

  private constructor(
    private readonly dir: string,
    readonly port: number,
    readonly user: string,
    readonly password: string,
  ) {}

  static async start(options: DovecotOptions = {}): Promise<DovecotSim> {
    const binary = await dovecotBinary();
    const dir = mkdtempSync(join(tmpdir(), 'dkim-dovecot-'));
    // Dovecot's own users (dovecot, dovenull) must reach the mail and login folders inside it.
    chmodSync(dir, 0o755);
    const mail = join(dir, 'mail');
    mkdirSync(mail);
    const { uid, gid } = await dovecotIds();
    chownSync(mail, uid, gid);
    const port = await freePort();
    const sim = new DovecotSim(dir, port, options.user ?? 'reports', options.password ?? DEFAULT_PASSWORD);
    const config = join(dir, 'dovecot.conf');
    mkdirSync(join(dir, 'state'));
    writeFileSync(config, sim.config(mail), { mode: 0o600 });
    try {
      await daemonise(binary, config, join(dir, 'start.log'));
      // A test process that ends without stop() (a crash, a timeout) does not leave its server running.
      process.once('exit', () => sim.kill());
      await sim.waitForPort();
    } catch (error) {
      await sim.stop();
      throw new Error(`Dovecot did not start: ${(error as Error).message}\n${sim.log()}`);
    }
    return sim;
  }

  private config(mail: string): string {
    return `
protocols = imap
listen = ${this.host}
ssl = no
disable_plaintext_auth = no
auth_failure_delay = 0
base_dir = ${join(this.dir, 'run')}
state_dir = ${join(this.dir, 'state')}
log_path = ${join(this.dir, 'dovecot.log')}
mail_location = maildir:${mail}/%u
passdb {
  driver = static
  args = password=${this.password}
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=${mail}/%u
}
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 100
service imap-login {
  inet_listener imap {
    address = ${this.host}
    port = ${this.port}
  }
}
`;
  }

  /**
   * The bot's setting for a mailbox of this server, the password URL-encoded as a user would write it. Any user name
   * logs in with the server's password (a static passdb), each with a mailbox of its own: one per test.
   */
  url(options: { user?: string; folder?: string; password?: string } = {}): string {
    const user = encodeURIComponent(options.user ?? this.user);
    const password = encodeURIComponent(options.password ?? this.password);
    return `imap://${user}:${password}@${this.host}:${this.port}/${options.folder ?? 'INBOX'}`;
  }

  /** Delivers a message into a folder with IMAP APPEND, as a mail server would. */
  async append(raw: Buffer | string, user = this.user, folder = 'INBOX'): Promise<void> {
    await this.appendAll([raw], user, folder);
  }

  /** Delivers many messages in one session (the benchmark's thousand reports). */
  async appendAll(raws: (Buffer | string)[], user = this.user, folder = 'INBOX'): Promise<void> {
    await this.withClient(user, async (client) => {
      await client.mailboxCreate(folder);
      for (const raw of raws) await client.append(folder, raw);
    });
  }

  /** The messages of a folder: UIDs and subjects, oldest first; [] for a folder that does not exist. */
  async messages(folder: string, user = this.user): Promise<{ uid: number; subject: string }[]> {
    return this.withClient(user, async (client) => {
      const exists = (await client.list()).some((box) => box.path === folder);
      if (!exists) return [];
      const lock = await client.getMailboxLock(folder);
      try {
        if (!client.mailbox || client.mailbox.exists === 0) return [];
        const listed = await client.fetchAll('1:*', { uid: true, envelope: true });
        return listed.map((m) => ({ uid: m.uid, subject: m.envelope?.subject ?? '' })).sort((a, b) => a.uid - b.uid);
      } finally {
        lock.release();
      }
    });
  }

  /** Whether a login and a LIST still work: the server is up. */
  async answers(): Promise<boolean> {
    try {
      return await this.withClient(this.user, async (client) => (await client.list()).length > 0);
    } catch {
      return false;
    }
  }

  /**
   * Ends every logged-in session by killing its `imap` process (by PID, children of this server's master): the
   * client's link drops mid-session, the server stays up. Returns how many it killed.
   */
  dropSessions(): number {
    const master = this.masterPid();
    if (master === undefined) return 0;
    const imapPids = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        const stat = readProc(`/proc/${pid}/stat`);
        // `pid (comm) state ppid …`
        const match = /^\d+ \((.*)\) \S+ (\d+)/.exec(stat);
        return match?.[1] === 'imap' && Number(match[2]) === master;
      })
      .map(Number);
    for (const pid of imapPids) process.kill(pid, 'SIGKILL');
    return imapPids.length;
  }

  log(): string {
    return readProc(join(this.dir, 'dovecot.log'));
  }

  /**
   * How a user's first `count` sessions ended, from the log (written by Dovecot's log process, so awaited): `Logged
   * out` or why not, and the bytes the server sent in each. A killed session writes no such line.
   */
  async sessionsEnded(user: string, count: number): Promise<{ reason: string; bytesOut: number }[]> {
    await until(() => this.disconnects(user).length >= count, START_TIMEOUT_MS, `${count} sessions of ${user} to end`);
    return this.disconnects(user).slice(0, count);
  }

  private disconnects(user: string): { reason: string; bytesOut: number }[] {
    const escaped = user.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const line = new RegExp(`imap\\(${escaped}\\)<[^>]*><[^>]*>: Info: Disconnected: (.*?) in=\\d+ out=(\\d+)`, 'g');
    return [...this.log().matchAll(line)].map((m) => ({ reason: m[1]!, bytesOut: Number(m[2]) }));
  }

  /** Stops the server by the PID in `<base_dir>/master.pid` and waits until it is gone; removes its folder. */
  async stop(): Promise<void> {
    const pid = this.masterPid();
    if (pid !== undefined && isAlive(pid)) {
      process.kill(pid, 'SIGTERM');
      await until(() => !isAlive(pid), STOP_TIMEOUT_MS, `Dovecot (pid ${pid}) to stop`);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private kill(): void {
    const pid = this.masterPid();
    if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGTERM');
  }

  private masterPid(): number | undefined {
    const text = readProc(join(this.dir, 'run', 'master.pid')).trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  }

  private async waitForPort(): Promise<void> {
    await until(() => connects(this.host, this.port), START_TIMEOUT_MS, `Dovecot on port ${this.port}`);
  }

  private async withClient<T>(user: string, work: (client: ImapFlow) => Promise<T>): Promise<T> {
    const client = new ImapFlow({
      host: this.host,
      port: this.port,
      secure: false,
      auth: { user, pass: this.password },
      logger: false,
      disableAutoIdle: true,
    });
    client.on('error', () => {});
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.logout().catch(() => client.close());
    }
  }
}

/**
 * `dovecot -c <file>` forks its master and exits; the master keeps the standard streams it was given, so they go to a
 * file (a pipe would never close). Exits non-zero on a bad config, saying why in that file.
 */
async function daemonise(binary: string, config: string, logFile: string): Promise<void> {
  const out = openSync(logFile, 'w');
  try {
    const child = spawn(binary, ['-c', config], { stdio: ['ignore', out, out] });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`dovecot exited with ${code}: ${readProc(logFile).trim()}`);
  } finally {
    closeSync(out);
  }
}

async function dovecotBinary(): Promise<string> {
  for (const candidate of ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot']) {
    if (existsSync(candidate)) return candidate;
  }
  try {
    return (await run('which', ['dovecot'])).stdout.trim();
  } catch {
    throw new Error('Dovecot is not installed: apt-get install -y dovecot-imapd (.ci/run does it)');
  }
}

async function dovecotIds(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'dovecot']), run('id', ['-g', 'dovecot'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Bounded polling: `check` every 50 ms until it holds, or an error naming what was awaited. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Running, and not a zombie waiting for a parent that is not us to reap it. */
function isAlive(pid: number): boolean {
  const state = /^\d+ \(.*\) (\S+)/.exec(readProc(`/proc/${pid}/stat`))?.[1];
  return state !== undefined && state !== 'Z';
}

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
