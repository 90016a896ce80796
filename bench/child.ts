import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The benchmark's child processes (the bot, the floor app, the simulators), run from the repository's root. */

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

/** What a child needs from this process's environment, and nothing else (no NODE_OPTIONS, no stray Slack keys). */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** `--cpu-prof` into `<dir>/<name>`, created now (the window file goes there before the profiles, written at exit). */
export function withProfile(command: readonly string[], dir: string | undefined, name: string): string[] {
  if (!dir) return [...command];
  const at = command.indexOf('node') + 1;
  mkdirSync(join(dir, name), { recursive: true });
  const flags = ['--cpu-prof', '--cpu-prof-interval=100', `--cpu-prof-dir=${join(dir, name)}`];
  return [...command.slice(0, at), ...flags, ...command.slice(at)];
}

/** A child process whose stdout and stderr are read line by line (always drained: a full pipe would block it). */
export class Child {
  stderrLines = 0;
  private readonly tail: string[] = [];
  private readonly exited: Promise<void>;
  private exitCode: number | null | undefined;
  private readonly listeners = new Set<(stream: 'stdout' | 'stderr', line: string) => void>();

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    private readonly spawnedAt: number,
  ) {
    this.exited = new Promise((resolveExit) =>
      proc.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolveExit();
      }),
    );
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: proc[stream]! }).on('line', (line) => {
        if (stream === 'stderr') this.stderrLines++;
        this.tail.push(`${stream}: ${line}`);
        if (this.tail.length > 40) this.tail.shift();
        for (const listener of this.listeners) listener(stream, line);
      });
    }
  }

  static spawn(name: string, command: readonly string[], env: Record<string, string>, stdin: 'pipe' | 'ignore'): Child {
    const [file, ...args] = command;
    const spawnedAt = performance.now();
    const proc = spawn(file!, args, { cwd: ROOT, env, stdio: [stdin, 'pipe', 'pipe'] });
    return new Child(name, proc, spawnedAt);
  }

  /** The first line of `stream` that `parse` accepts (does not throw on), and the time since the spawn. */
  waitForLine<T>(stream: 'stdout' | 'stderr', parse: (line: string) => T): Promise<{ value: T; elapsedMs: number }> {
    return new Promise((resolveLine, reject) => {
      const finish = (error?: Error, value?: T) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        if (error) reject(error);
        else resolveLine({ value: value as T, elapsedMs: performance.now() - this.spawnedAt });
      };
      const listener = (from: 'stdout' | 'stderr', line: string) => {
        if (from !== stream) return;
        try {
          finish(undefined, parse(line));
        } catch {
          // not the line awaited
        }
      };
      const timer = setTimeout(() => finish(this.failure('did not start in time')), START_TIMEOUT_MS);
      this.listeners.add(listener);
      void this.exited.then(() => finish(this.failure(`exited (${this.exitCode}) before it was ready`)));
    });
  }

  /** SIGTERM (and stdin closed), then SIGKILL if it is still there after STOP_TIMEOUT_MS. */
  async stop(): Promise<void> {
    if (this.exitCode !== undefined) return;
    this.proc.stdin?.end();
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  private failure(what: string): Error {
    return new Error(`bench ack: ${this.name} ${what}; its last output:\n${this.tail.join('\n')}`);
  }
}
