import type { Run } from '../../domain/runs.ts';
import type { StepContext } from '../../engine/types.ts';
import { keyedApi, mxPlanApi, type SetupFacts } from '../setup/facts.ts';

/** A key signs once enabling: a selector being enabled is turned off too, never reported as off. */
export const SIGNING: readonly string[] = ['inProduction', 'enabling'];

/** The selectors (Exchange, Email Pro) or `switch` (MX Plan) that sign now at OVH, in OVH's order. */
export async function signingNow(run: Run, facts: SetupFacts, ctx: StepContext): Promise<string[]> {
  if (facts.offer === 'mxplan') {
    return (await mxPlanApi(ctx, run.domain).dkim()).status === 'enabled' ? ['switch'] : [];
  }
  const api = keyedApi(ctx, facts, run.domain);
  const signing: string[] = [];
  for (const selector of await api.existing()) {
    if (SIGNING.includes((await api.dkim(selector)).status)) signing.push(selector);
  }
  return signing;
}
