import type { Notice } from '../domain/notices.ts';
import type { Run, RunState } from '../domain/runs.ts';
import type { Text } from '../domain/text.ts';
import type { StepOutcome } from './types.ts';

/** The outcomes every workflow returns, written once. */

type Facts = Record<string, unknown>;

/** The next step is ready: go on in the same pass. */
export function proceed(state: RunState, facts: Facts, notices: Notice[] = []): StepOutcome {
  return { state, facts, next: 'now', notices };
}

/** Not yet: stay, remember what was seen, look again with backoff. */
export function waitFor(run: Run, facts: Facts, observation: string, notices: Notice[] = []): StepOutcome {
  return { state: run.state, facts: { ...facts, lastObservation: observation }, next: 'wait', notices };
}

const RESUME_HINT = 'Fix the cause, then `/dkim retry` resumes from this step.';

/** Terminal: the requester is told why, and `/dkim retry` resumes in `resumeIn`. */
export function failed(
  facts: Facts,
  resumeIn: RunState,
  message: string,
  said: { text?: Text; hint?: Text } = {},
): StepOutcome {
  return {
    state: 'failed',
    facts: { ...facts, failedIn: resumeIn },
    next: 'none',
    lastError: message,
    notices: [
      { type: 'reply', level: 'error', mention: true, text: said.text ?? message },
      { type: 'reply', text: said.hint ?? RESUME_HINT },
    ],
  };
}
