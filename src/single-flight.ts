/**
 * `work` run one at a time: a call while it runs gets the run under way instead of starting another (a cron that
 * fires during a long pass, an operator's command during the cron's).
 */
export function singleFlight<T>(work: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= work().finally(() => {
      running = undefined;
    });
    return running;
  };
}
