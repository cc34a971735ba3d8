/**
 * The health of one member as a small state machine, driven by probe results:
 *
 *   Down ──(rise consecutive successes)──► Up ──(fall consecutive failures)──► Down
 *
 * A member starts Down and is used only after its first `rise` successes. A failure resets the run of
 * successes and a success resets the run of failures, so a flapping member stays where it is.
 */
export interface HealthState {
  readonly up: boolean;
  /** Consecutive successes (while Down) or failures (while Up) towards the next transition. */
  readonly run: number;
}

export interface HealthRule {
  fall: number;
  rise: number;
}

export const INITIAL_HEALTH: HealthState = { up: false, run: 0 };

/** The state after one probe result. */
export function observe(s: HealthState, ok: boolean, rule: HealthRule): HealthState {
  if (s.up) {
    if (ok) return s.run === 0 ? s : { up: true, run: 0 };
    const run = s.run + 1;
    return run >= rule.fall ? { up: false, run: 0 } : { up: true, run };
  }
  if (!ok) return s.run === 0 ? s : { up: false, run: 0 };
  const run = s.run + 1;
  return run >= rule.rise ? { up: true, run: 0 } : { up: false, run };
}
