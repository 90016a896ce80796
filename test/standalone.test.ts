import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * A user's clone has nothing beside it: every path a tracked file points to must be inside the repository and exist.
 * A relative reference (`../…`) is resolved from the folder of the file that holds it.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TEXT = /\.(ts|js|mjs|json|md|yml|yaml|sql|txt|sh)$|^\.ci\/run$|^\.env\.example$|^\.gitignore$/;
const RELATIVE_REFERENCE = /(?<![\w./-])(?:\.\.\/)+[\w@+-][\w@.+/-]*/g;
/** Strings that look like paths but are data: hostile inputs the bot must refuse. */
const NOT_PATHS = new Set([`test/fixtures.ts:${['..', 'etc', 'passwd'].join('/')}`]);

function trackedFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
  return out.split('\0').filter((file) => file !== '' && TEXT.test(file) && existsSync(join(ROOT, file)));
}

export function outsideReferences(file: string, text: string): string[] {
  const problems: string[] = [];
  for (const match of text.matchAll(RELATIVE_REFERENCE)) {
    const reference = match[0].replace(/[.,:;]+$/, '');
    if (NOT_PATHS.has(`${file}:${reference}`)) continue;
    const target = resolve(ROOT, dirname(file), reference);
    const inside = relative(ROOT, target);
    if (inside.startsWith('..')) problems.push(`${file}: ${reference} points outside the repository`);
    else if (!existsSync(target)) problems.push(`${file}: ${reference} points to ${inside}, which does not exist`);
  }
  if (/\/work\/(?:shared|main)\b/.test(text)) problems.push(`${file}: names a folder of the development machine`);
  return problems;
}

test('no tracked file points outside the repository', () => {
  const files = trackedFiles();
  assert.ok(files.length > 50, 'the tracked files were listed');
  const problems = files.flatMap((file) => outsideReferences(file, readFileSync(join(ROOT, file), 'utf8')));
  assert.deepEqual(problems, []);
});

test('the check itself catches a reference outside, and one to nothing', () => {
  // Built from parts, so that this file names no folder outside the repository itself.
  const outside = ['..', 'shar' + 'ed'].join('/');
  assert.equal(outsideReferences('docs/ARCHITECTURE.md', `The map is \`${outside}/DESIGN.md\`.`).length, 1);
  assert.equal(outsideReferences('test/manifest.test.ts', `new URL('../${outside}/schema.json')`).length, 1);
  assert.deepEqual(outsideReferences('test/manifest.test.ts', "new URL('../vendor/slack/README.md')"), []);
});

test('npm start runs compiled JavaScript; without credentials it stops with status 1 and says what to do', () => {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'pipe' });
  const main = join(ROOT, 'dist', 'main.js');
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  let status = 0;
  let stderr = '';
  try {
    execFileSync(process.execPath, [main], { cwd: tmpdir(), env, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    ({ status, stderr } = error as { status: number; stderr: string });
  }
  assert.equal(status, 1);
  assert.match(stderr, /cannot start: missing SLACK_BOT_TOKEN/);
  assert.match(stderr, /manifest\.yml/);
  assert.match(stderr, /npm run demo/);
});
