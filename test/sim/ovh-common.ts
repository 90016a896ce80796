/** What every part of the simulated OVH account shares: errors as OVH words them, time, and tasks. */

export class SimError extends Error {
  constructor(
    readonly status: number,
    readonly errorClass: string,
    message: string,
    readonly errorCode?: string,
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new SimError(404, 'Client::NotFound', message);
export const badRequest = (message: string) => new SimError(400, 'Client::BadRequest', message);
export const conflict = (message: string) => new SimError(409, 'Client::Conflict', message);
export const objectMissing = (field: string, value: string | number) =>
  notFound(`The requested object (${field} = ${value}) does not exist`);
export const serviceMissing = () => notFound('This service does not exist');

export interface Timing {
  now(): number;
  /** A DKIM creation task (Exchange, Email Pro) stays `todo` this long. */
  taskDelayMs: number;
  /** A correct published CNAME must be seen this long before `waitingRecord` turns `ready`. */
  robotDelayMs: number;
  /** `enabling` → `inProduction`. */
  enableDelayMs: number;
  /** `disabling` → `ready`. */
  disableDelayMs: number;
  /** `deleting` → gone. */
  deleteDelayMs: number;
  /** MX Plan: how long `modifying` lasts after `PUT …/dkim/enable` or `…/disable`. */
  mxPlanDelayMs: number;
}

export function isoDate(at: number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

export interface Task {
  id: number;
  function: string;
  status: 'todo' | 'done';
  todoDate: string;
  finishDate: string | null;
  lastUpdate: string;
  /** Who lists it: `exchange:{org}/{service}`, `emailpro:{service}` or `mxplan:{domain}`. */
  owner: string;
  domain: string;
  dueAt: number;
}

/** Every task of the account; a task is `done` once its delay has passed on the sim clock. */
export class TaskBook {
  private readonly tasks = new Map<number, Task>();
  private readonly pending = new Set<Task>();
  private nextId = 150_000_001;

  constructor(private readonly timing: Pick<Timing, 'now'>) {}

  create(owner: string, domain: string, taskFunction: string, delayMs: number): Task {
    const now = this.timing.now();
    const task: Task = {
      id: this.nextId++,
      function: taskFunction,
      status: 'todo',
      todoDate: isoDate(now),
      finishDate: null,
      lastUpdate: isoDate(now),
      owner,
      domain,
      dueAt: now + delayMs,
    };
    this.tasks.set(task.id, task);
    this.pending.add(task);
    return task;
  }

  settle(): void {
    const now = this.timing.now();
    for (const task of [...this.pending]) {
      if (now < task.dueAt) continue;
      this.pending.delete(task);
      task.status = 'done';
      task.finishDate = isoDate(now);
      task.lastUpdate = task.finishDate;
    }
  }

  of(owner: string): Task[] {
    this.settle();
    return [...this.tasks.values()].filter((task) => task.owner === owner);
  }

  find(owner: string, id: string | number): Task {
    const task = this.of(owner).find((candidate) => candidate.id === Number(id));
    if (!task) throw objectMissing('id', id);
    return task;
  }
}
