/** Time as the bot counts it and says it. */

export const DAY_MS = 86_400_000;

/** A span of time as people say it: `14 days`, `2.5 h`, `7 min`, `10 s`. */
export function spanWords(ms: number): string {
  const days = ms / DAY_MS;
  if (days >= 1) return `${Number(days.toFixed(1))} day${days === 1 ? '' : 's'}`;
  const h = ms / 3_600_000;
  if (h >= 1) return `${Number(h.toFixed(2))} h`;
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

/** The reports that began from the start of the UTC day `days` days ago to the end of today. */
export function reportPeriod(now: number, days: number): { since: number; until: number } {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return { since: today - days * DAY_MS, until: today + DAY_MS };
}
