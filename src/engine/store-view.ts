import type { Store } from '../store/index.ts';
import type { StoreView } from './types.ts';

/** What a workflow may read of other runs (a group of its members, a member of its group), read-only. */
export function storeView(store: Store): StoreView {
  return {
    run: (id) => store.runs.get(id),
    approval: (id) => store.approvals.get(id),
    approvals: (runId) => store.approvals.forRun(runId),
    scanPending: (runId, limit) => store.scans.pending(runId, limit),
    scanResults: (runId) => store.scans.results(runId),
  };
}
