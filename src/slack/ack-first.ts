/**
 * Acks first. Work that can wait a moment (a run's first step, posting to Slack) is held while Slack's requests
 * are arriving, so that a burst of commands is answered at the speed of a bare app: it runs once no request has
 * arrived for `quietMs` and none is being answered, or after `maxWaitMs` at the latest, so that steady traffic
 * never starves it. Real time, whatever the engine's clock: this is about the network.
 */
export class AckFirst {
  private inFlight = 0;
  private lastArrival = Number.NEGATIVE_INFINITY;
  private readonly queue: (() => void)[] = [];
  private oldest = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;

  constructor(
    private readonly quietMs = 25,
    private readonly maxWaitMs = 1_000,
    /** Told of a piece of work that threw: it runs from a timer, where a throw would end the process. */
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** A request from Slack arrived; call what it returns once it has been answered. */
  arrived(): () => void {
    this.inFlight++;
    this.lastArrival = performance.now();
    let answered = false;
    return () => {
      if (answered) return;
      answered = true;
      this.inFlight--;
      if (this.inFlight === 0) this.schedule();
    };
  }

  /** Something arrived that needs no answer of ours (a Socket Mode frame): it only resets the quiet period. */
  touched(): void {
    this.lastArrival = performance.now();
  }

  /** Resolves when work that can wait may run. */
  turn(): Promise<void> {
    return new Promise((resolve) => this.defer(resolve));
  }

  defer(work: () => void): void {
    if (this.queue.length === 0) this.oldest = performance.now();
    this.queue.push(work);
    this.schedule();
  }

  /** Runs what is held, now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const work of this.queue.splice(0)) {
      try {
        work();
      } catch (error) {
        this.onError(error);
      }
    }
  }

  /** Sets the timer to the moment the held work may run, unless one is already set as early. */
  private schedule(): void {
    if (this.queue.length === 0) return;
    const deadline = this.oldest + this.maxWaitMs;
    const quietAt = this.inFlight > 0 ? deadline : this.lastArrival + this.quietMs;
    const at = Math.min(quietAt, deadline);
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.release(), Math.max(0, at - performance.now()));
  }

  private release(): void {
    this.timer = undefined;
    const now = performance.now();
    const busy = this.inFlight > 0 || now - this.lastArrival < this.quietMs;
    // Requests came meanwhile: not yet, unless the work has waited long enough.
    if (busy && now < this.oldest + this.maxWaitMs) this.schedule();
    else this.flush();
  }
}
