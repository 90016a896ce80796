import type { ScanResult } from '../domain/scan.ts';
import { type Db, preparedOnce, type Statements } from './db.ts';

/** A domain a scan found: where its mail is (a service spec) and the OVH zone holding its records, if any. */
export interface ScanEntry {
  domain: string;
  service: string;
  zone: string | null;
}

/** A found domain still to check, by its place in the scan. */
export interface PendingScan extends ScanEntry {
  position: number;
}

/** The domains of fleet scans (DESIGN §2.7): found first, then each one's result as the scan checks it. */
export class ScanRepository {
  private readonly db: Statements;

  constructor(db: Db) {
    this.db = preparedOnce(db);
  }

  /** The domains the scan found, in order (written again, they stay as they are). */
  enqueue(runId: number, entries: ScanEntry[]): void {
    const insert = this.db.prepare(
      `INSERT INTO scan_results (run_id, position, domain, service, zone) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    );
    entries.forEach((entry, i) => {
      insert.run(runId, i, entry.domain, entry.service, entry.zone);
    });
  }

  /** The next domains without a result, in the order they were found. */
  pending(runId: number, limit: number): PendingScan[] {
    return this.db
      .prepare(
        `SELECT position, domain, service, zone FROM scan_results WHERE run_id = ? AND result IS NULL
         ORDER BY position LIMIT ?`,
      )
      .all(runId, limit) as PendingScan[];
  }

  record(runId: number, checked: { position: number; result: ScanResult }[]): void {
    const update = this.db.prepare('UPDATE scan_results SET result = ? WHERE run_id = ? AND position = ?');
    for (const { position, result } of checked) update.run(JSON.stringify(result), runId, position);
  }

  /** How many domains the scan found, and how many it has checked. */
  progress(runId: number): { total: number; checked: number } {
    return this.db
      .prepare('SELECT COUNT(*) AS total, COUNT(result) AS checked FROM scan_results WHERE run_id = ?')
      .get(runId) as { total: number; checked: number };
  }

  results(runId: number): ScanResult[] {
    const rows = this.db
      .prepare('SELECT result FROM scan_results WHERE run_id = ? AND result IS NOT NULL ORDER BY position')
      .all(runId) as { result: string }[];
    return rows.map((row) => JSON.parse(row.result));
  }
}
