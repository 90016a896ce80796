import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from './log.ts';
import { errorMessage } from './providers/errors.ts';

export interface PollerJob {
  name: string;
  run(): Promise<unknown>;
}

/**
 * Drives every waiting run on POLL_CRON. A cycle never overlaps the previous one: a tick that finds the last cycle
 * still running is skipped. Bounded concurrency and the shared OVH rate limit live in the engine and the transport.
 */
export class Poller {
  private task?: ScheduledTask;
  private running?: Promise<void>;
  skipped = 0;
  cycles = 0;
  /** When the last cycle ended with every job done, and what the last failing job said (the health check's words). */
  lastOkAt?: number;
  lastError?: string;

  constructor(
    private readonly expression: string,
    private readonly jobs: PollerJob[],
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.task = cron.schedule(this.expression, () => this.cycle(), { name: 'dkim-poller' });
  }

  /** One cycle now (also what the cron tick calls). */
  cycle(): Promise<void> {
    if (this.running) {
      this.skipped++;
      return this.running;
    }
    this.running = this.runJobs().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runJobs(): Promise<void> {
    this.cycles++;
    let failed: string | undefined;
    for (const job of this.jobs) {
      try {
        await job.run();
      } catch (error) {
        failed = `${job.name}: ${errorMessage(error)}`;
        this.log.error('poller job failed', { job: job.name, error: errorMessage(error) });
      }
    }
    if (failed) this.lastError = failed;
    else this.lastOkAt = this.now();
  }

  async stop(): Promise<void> {
    await this.task?.destroy();
    await this.running;
  }
}

/** Time between two ticks of a cron expression: the first wait of a waiting run. */
export function tickIntervalMs(expression: string): number {
  const task = cron.createTask(expression, () => undefined);
  try {
    const [a, b] = task.getNextRuns(2);
    return a && b ? Math.max(1000, b.getTime() - a.getTime()) : 60_000;
  } finally {
    void task.destroy();
  }
}
