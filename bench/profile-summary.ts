/**
 * Where a process's CPU time went while the ack benchmark's load was in flight: self time by function and by module,
 * from the main thread's V8 CPU profile in a directory written under BENCH_CPU_PROF (bench/ack.ts), restricted to the
 * windows in its windows.json when present (every burst, or those whose label begins with `label`).
 *
 *   BENCH_CPU_PROF=/tmp/ack-prof npm run bench -- 2
 *   node --import tsx bench/profile-summary.ts /tmp/ack-prof/bot [top=25] [label: bot, scraped]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  windowMs: number;
  sampledMs: number;
  byFunction: { name: string; ms: number }[];
  byModule: { name: string; ms: number }[];
  /** Total (self + callees, synchronous part only) time of the app's own functions (outside node: and npm:). */
  ownInclusive: { name: string; ms: number }[];
}

/** The main thread's profile: node names them `CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile`, main is 0. */
export function mainThreadProfile(dir: string): string {
  const main = readdirSync(dir).find((f) => f.split('.').at(-3) === '0' && f.endsWith('.cpuprofile'));
  if (!main) throw new Error(`no main-thread .cpuprofile in ${dir}`);
  return join(dir, main);
}

export function summarizeProfile(dir: string, top = 25, label = ''): ProfileSummary {
  const profile = JSON.parse(readFileSync(mainThreadProfile(dir), 'utf8')) as CpuProfile;
  const windowsPath = join(dir, 'windows.json');
  const windows = existsSync(windowsPath)
    ? (JSON.parse(readFileSync(windowsPath, 'utf8')) as { label: string; startUs: number; endUs: number }[]).filter(
        (w) => w.label.startsWith(label),
      )
    : [{ startUs: profile.startTime, endUs: profile.endTime }];
  const inWindow = (t: number) => windows.some((w) => t >= w.startUs && t <= w.endUs);
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  const ownInclusive = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let t = profile.startTime;
  let sampled = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (!inWindow(t)) return;
    const frame = nodes.get(id)!.callFrame;
    const where = moduleOf(frame.url);
    const name = frameName(frame);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
      const f = nodes.get(at)!.callFrame;
      const m = moduleOf(f.url);
      if (!m || m.startsWith('node:') || m.startsWith('npm:')) continue;
      const own = `${f.functionName || '(anonymous)'} ${m}`;
      if (seen.has(own)) continue;
      seen.add(own);
      ownInclusive.set(own, (ownInclusive.get(own) ?? 0) + delta);
    }
    byFunction.set(name, (byFunction.get(name) ?? 0) + delta);
    const module = frame.url ? where : frame.functionName;
    byModule.set(module, (byModule.get(module) ?? 0) + delta);
    sampled += delta;
  });
  const ranked = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000 }));
  return {
    windowMs: windows.reduce((sum, w) => sum + (w.endUs - w.startUs), 0) / 1000,
    sampledMs: sampled / 1000,
    byFunction: ranked(byFunction),
    byModule: ranked(byModule),
    ownInclusive: ranked(ownInclusive),
  };
}

function frameName(frame: ProfileNode['callFrame']): string {
  const where = moduleOf(frame.url);
  const file = frame.url && !frame.url.startsWith('node:') ? ` ${frame.url.split('/').pop()}` : '';
  return `${frame.functionName || '(anonymous)'} ${where}${file}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
}

/** `node_modules/<package>`, `node:<internal>`, or the path from the repository's root. */
function moduleOf(url: string): string {
  if (!url) return '';
  if (url.startsWith('node:')) return url;
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return `npm:${pkg[1]}`;
  return relative(process.cwd(), path);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const [path, top, label] = process.argv.slice(2);
  if (!path) throw new Error('usage: profile-summary.ts <profile directory> [top] [label]');
  const s = summarizeProfile(path, Number(top ?? 25), label);
  console.log(`load windows ${s.windowMs.toFixed(0)} ms, ${s.sampledMs.toFixed(0)} ms sampled`);
  console.log('\nself time by module:');
  for (const m of s.byModule) console.log(`  ${m.ms.toFixed(1).padStart(8)} ms  ${m.name}`);
  console.log('\nself time by function:');
  for (const f of s.byFunction) console.log(`  ${f.ms.toFixed(1).padStart(8)} ms  ${f.name}`);
  console.log("\ntotal time of the app's own functions (synchronous part: an await ends a stack):");
  for (const f of s.ownInclusive) console.log(`  ${f.ms.toFixed(1).padStart(8)} ms  ${f.name}`);
}
