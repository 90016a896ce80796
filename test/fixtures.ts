/** Inputs and small helpers shared by tests. */

/** Malformed or hostile domain strings: each must get a clear error, write nothing and call nobody. */
export const HOSTILE_DOMAINS = [
  '',
  '   ',
  'example',
  'exa mple.fr',
  'a..b',
  '.example.fr',
  '-bad.fr',
  'bad-.fr',
  `${'a'.repeat(64)}.fr`,
  `${'abc.'.repeat(75)}fr`,
  'x'.repeat(300),
  'example.fr\nrm -rf /',
  'example.fr\r\n',
  'exam\u0000ple.fr',
  '../etc/passwd',
  'example.fr; rm -rf /',
  '$(reboot).fr',
  '`id`.fr',
  'example.fr|cat',
  '<script>alert(1)</script>.fr',
  '<b>example.fr</b>',
  '*.example.fr',
  '_dmarc.example.fr',
  'example.fr:443',
  'user@example.fr',
  'https://example.fr',
  '1.2.3.4',
  'exa\u2028mple.fr',
];

/** The most events of `times` inside any half-open window. */
export function maxInWindow(times: number[], windowMs = 60_000): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same faults, jitter and bodies. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
