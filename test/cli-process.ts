import { type ChildProcess, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The operator CLI as a process of its own, as `npm run cli` runs it: the compiled `dist/cli.js`, which starts in half
 * the time tsx needs (the restart tests start hundreds). `npm run test:unit` builds first; a test file run alone on
 * a build older than the sources builds again (incremental: quick when nothing changed), so no test runs yesterday's
 * code.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'cli.js');
let checked = false;

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function assertBuilt(): void {
  if (checked) return;
  let built = 0;
  try {
    built = statSync(join(ROOT, 'dist', '.tsbuildinfo')).mtimeMs;
  } catch {
    // not built
  }
  if (built < newest(join(ROOT, 'src')))
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'pipe' });
  checked = true;
}

/** `npm run cli -- <args>`, spawned. */
export function spawnCli(args: string[], options: SpawnOptions = {}): ChildProcess {
  assertBuilt();
  return spawn(process.execPath, [CLI, ...args], options);
}

/** The CLI run to its end with `env`: its exit status and what it printed (asynchronous: a simulator answering it may live in this process). */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawnCli(args, { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk;
    });
    child.on('exit', (status) => resolve({ status, stdout }));
  });
}
