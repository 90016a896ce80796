import { FINISHED_STATES, type Run, type RunKind, type RunState } from '../domain/runs.ts';
import { type Db, preparedOnce, type Statements } from './db.ts';

interface RunRow {
  id: number;
  kind: RunKind;
  domain: string;
  state: RunState;
  params: string;
  facts: string;
  requested_by: string;
  channel_id: string | null;
  thread_ts: string | null;
  next_check_at: number | null;
  deadline_at: number | null;
  last_error: string | null;
  wait_streak: number;
  version: number;
  created_at: number;
  updated_at: number;
}

function toRun(row: RunRow): Run {
  return {
    id: row.id,
    kind: row.kind,
    domain: row.domain,
    state: row.state,
    params: JSON.parse(row.params),
    facts: JSON.parse(row.facts),
    requestedBy: row.requested_by,
    channelId: row.channel_id,
    threadTs: row.thread_ts,
    nextCheckAt: row.next_check_at,
    deadlineAt: row.deadline_at,
    lastError: row.last_error,
    waitStreak: row.wait_streak,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

const ACTIVE = `state NOT IN (${FINISHED_STATES.map((s) => `'${s}'`).join(', ')})`;
/** Not a member of a group (Set up all): those say nothing of their own, their group stands for them. */
const NOT_MEMBER = `json_extract(params, '$.group') IS NULL`;

export interface NewRun {
  kind: RunKind;
  domain: string;
  state: RunState;
  params: object;
  requestedBy: string;
  channelId: string | null;
  nextCheckAt: number | null;
  deadlineAt: number | null;
}

export interface RunChange {
  state: RunState;
  facts: object;
  nextCheckAt: number | null;
  deadlineAt: number | null;
  lastError: string | null;
  waitStreak: number;
}

/** A run's change that changes nothing: the base for an update that moves only some fields. */
export function unchanged(run: Run): RunChange {
  return {
    state: run.state,
    facts: run.facts,
    nextCheckAt: run.nextCheckAt,
    deadlineAt: run.deadlineAt,
    lastError: run.lastError,
    waitStreak: run.waitStreak,
  };
}

export class RunRepository {
  private readonly db: Statements;

  constructor(db: Db) {
    this.db = preparedOnce(db);
  }

  /** Inserts a run; undefined when an active run of this kind already exists for the domain. */
  insert(run: NewRun, now: number): Run | undefined {
    const params = JSON.stringify(run.params);
    const result = this.db
      .prepare(
        `INSERT INTO runs (kind, domain, state, params, facts, requested_by, channel_id, next_check_at, deadline_at,
                           created_at, updated_at)
         VALUES (?, ?, ?, ?, '{}', ?, ?, ?, ?, ?, ?)
         ON CONFLICT DO NOTHING`,
      )
      .run(
        run.kind,
        run.domain,
        run.state,
        params,
        run.requestedBy,
        run.channelId,
        run.nextCheckAt,
        run.deadlineAt,
        now,
        now,
      );
    if (result.changes !== 1) return undefined;
    // The row as it was written, without reading it back (this is on Slack's ack path).
    const { kind, domain, state, requestedBy, channelId, nextCheckAt, deadlineAt } = run;
    return {
      id: Number(result.lastInsertRowid),
      ...{ kind, domain, state, requestedBy, channelId, nextCheckAt, deadlineAt },
      params: JSON.parse(params),
      facts: {},
      threadTs: null,
      lastError: null,
      waitStreak: 0,
      version: 0,
      createdAt: now,
      updatedAt: now,
    };
  }

  get(id: number): Run | undefined {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row && toRun(row);
  }

  /** The active run of any of these kinds for the domain (the oldest), if there is one. */
  activeOfKinds(kinds: readonly RunKind[], domain: string): Run | undefined {
    const marks = kinds.map(() => '?').join(', ');
    const row = this.db
      .prepare(`SELECT * FROM runs WHERE kind IN (${marks}) AND domain = ? AND ${ACTIVE} ORDER BY id LIMIT 1`)
      .get(...kinds, domain) as RunRow | undefined;
    return row && toRun(row);
  }

  active(kind: RunKind, domain: string): Run | undefined {
    const row = this.db.prepare(`SELECT * FROM runs WHERE kind = ? AND domain = ? AND ${ACTIVE}`).get(kind, domain) as
      | RunRow
      | undefined;
    return row && toRun(row);
  }

  latestForDomain(domain: string, kind?: RunKind): Run | undefined {
    const row = this.db
      .prepare('SELECT * FROM runs WHERE domain = ? AND (? IS NULL OR kind = ?) ORDER BY id DESC LIMIT 1')
      .get(domain, kind ?? null, kind ?? null) as RunRow | undefined;
    return row && toRun(row);
  }

  /** The newest run of a kind (a scan, a group), whatever its domain. */
  latestOfKind(kind: RunKind): Run | undefined {
    const row = this.db.prepare('SELECT * FROM runs WHERE kind = ? ORDER BY id DESC LIMIT 1').get(kind) as
      | RunRow
      | undefined;
    return row && toRun(row);
  }

  /** The latest run of each kind for a domain, newest first. */
  latestPerKind(domain: string): Run[] {
    return (
      this.db
        .prepare(
          `SELECT * FROM runs WHERE id IN (SELECT MAX(id) FROM runs WHERE domain = ? GROUP BY kind) ORDER BY id DESC`,
        )
        .all(domain) as RunRow[]
    ).map(toRun);
  }

  /** Whether a live lease (a step under way somewhere) holds the run. */
  leased(id: number, now: number): boolean {
    const row = this.db.prepare('SELECT lease_until FROM runs WHERE id = ?').get(id) as
      | { lease_until: number | null }
      | undefined;
    return row?.lease_until != null && row.lease_until >= now;
  }

  /** Active runs; `shown`: as people see them, a group's members left out (their group stands for them). */
  listActive(limit = 200, { shown = false } = {}): Run[] {
    const members = shown ? `AND ${NOT_MEMBER}` : '';
    return (
      this.db.prepare(`SELECT * FROM runs WHERE ${ACTIVE} ${members} ORDER BY id LIMIT ?`).all(limit) as RunRow[]
    ).map(toRun);
  }

  /** Runs of a kind waiting on people (failed, needs attention) since before `before`. */
  waitingOnPeople(kind: RunKind, before: number): Run[] {
    return (
      this.db
        .prepare(
          `SELECT * FROM runs WHERE kind = ? AND state IN ('failed', 'needs_attention') AND updated_at < ? ORDER BY id LIMIT 500`,
        )
        .all(kind, before) as RunRow[]
    ).map(toRun);
  }

  /** Every run, counted by kind and state (the metrics' gauge). */
  countsByKindAndState(): { kind: string; state: string; n: number }[] {
    return this.db.prepare('SELECT kind, state, COUNT(*) AS n FROM runs GROUP BY kind, state').all() as {
      kind: string;
      state: string;
      n: number;
    }[];
  }

  countActive(): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM runs WHERE ${ACTIVE}`).get() as { n: number }).n;
  }

  /** The latest finished runs, as people see them (a group's members left out). */
  listFinished(limit = 10): Run[] {
    return (
      this.db
        .prepare(`SELECT * FROM runs WHERE NOT ${ACTIVE} AND ${NOT_MEMBER} ORDER BY updated_at DESC LIMIT ?`)
        .all(limit) as RunRow[]
    ).map(toRun);
  }

  /** Ids of active runs whose next check is due (leases are checked when a run is claimed). */
  due(now: number, limit: number): number[] {
    return (
      this.db
        .prepare(
          `SELECT id FROM runs WHERE next_check_at IS NOT NULL AND next_check_at <= ? AND ${ACTIVE}
           ORDER BY next_check_at LIMIT ?`,
        )
        .all(now, limit) as { id: number }[]
    ).map((r) => r.id);
  }

  nextDueAt(): number | undefined {
    const row = this.db.prepare(`SELECT MIN(next_check_at) AS at FROM runs WHERE ${ACTIVE}`).get() as {
      at: number | null;
    };
    return row.at ?? undefined;
  }

  /** Takes the run for `owner` until `until`, unless someone else holds a live lease. */
  claim(id: number, owner: string, now: number, until: number): boolean {
    return (
      this.db
        .prepare(
          `UPDATE runs SET lease_owner = ?, lease_until = ?
           WHERE id = ? AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)`,
        )
        .run(owner, until, id, now, owner).changes === 1
    );
  }

  leaseOwner(id: number): string | null {
    const row = this.db.prepare('SELECT lease_owner FROM runs WHERE id = ?').get(id) as
      | { lease_owner: string | null }
      | undefined;
    return row?.lease_owner ?? null;
  }

  /** Takes over a lease from a holder known to be dead (compare-and-set on the holder). */
  takeOver(id: number, deadOwner: string, owner: string, until: number): boolean {
    return (
      this.db
        .prepare('UPDATE runs SET lease_owner = ?, lease_until = ? WHERE id = ? AND lease_owner = ?')
        .run(owner, until, id, deadOwner).changes === 1
    );
  }

  release(id: number, owner: string): void {
    this.db
      .prepare('UPDATE runs SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?')
      .run(id, owner);
  }

  /** Compare-and-set on the run's version: false when the run moved since it was read. */
  update(id: number, expectedVersion: number, change: RunChange, now: number): boolean {
    return (
      this.db
        .prepare(
          `UPDATE runs SET state = ?, facts = ?, next_check_at = ?, deadline_at = ?, last_error = ?, wait_streak = ?,
                           version = version + 1, updated_at = ?
           WHERE id = ? AND version = ?`,
        )
        .run(
          change.state,
          JSON.stringify(change.facts),
          change.nextCheckAt,
          change.deadlineAt,
          change.lastError,
          change.waitStreak,
          now,
          id,
          expectedVersion,
        ).changes === 1
    );
  }

  /** Makes active runs due now (a group's members, once its approval is decided); their versions do not move. */
  wake(ids: number[], now: number): void {
    const wake = this.db.prepare(`UPDATE runs SET next_check_at = ?, wait_streak = 0 WHERE id = ? AND ${ACTIVE}`);
    for (const id of ids) wake.run(now, id);
  }

  /** Replaces a run's params (private fields dropped once they are no longer needed). */
  setParams(id: number, params: object): void {
    this.db.prepare('UPDATE runs SET params = ? WHERE id = ?').run(JSON.stringify(params), id);
  }

  /** Active runs requested by `user`; the members of a group count as their group, once. */
  countActiveBy(user: string): number {
    return (
      this.db
        .prepare(`SELECT COUNT(*) AS n FROM runs WHERE requested_by = ? AND ${ACTIVE} AND ${NOT_MEMBER}`)
        .get(user) as { n: number }
    ).n;
  }

  setThread(id: number, channelId: string, threadTs: string): void {
    this.db
      .prepare('UPDATE runs SET channel_id = ?, thread_ts = ? WHERE id = ? AND thread_ts IS NULL')
      .run(channelId, threadTs, id);
  }

  /** A group's member goes on alone: its params without the group, a channel of its own. */
  detach(id: number, params: object, channelId: string | null): void {
    this.db
      .prepare('UPDATE runs SET params = ?, channel_id = ?, thread_ts = NULL, version = version + 1 WHERE id = ?')
      .run(JSON.stringify(params), channelId, id);
  }

  lastId(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM runs').get() as { id: number }).id;
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number }).n;
  }
}
