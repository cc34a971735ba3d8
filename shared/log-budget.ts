/**
 * At most `perWindow` log lines of one kind per window: a flood of bad events or a long outage is
 * told with its first lines and a count of the ones left out, never a line per message.
 */
export class LogBudget {
  readonly #perWindow: number;
  readonly #windowMs: number;
  #start = 0;
  #used = 0;
  #suppressed = 0;

  constructor(perWindow: number, windowMs: number) {
    this.#perWindow = perWindow;
    this.#windowMs = windowMs;
  }

  /** May a line be written now? `suppressed` tells how many were left out since the last one. */
  take(now: number): { ok: boolean; suppressed: number } {
    if (now - this.#start >= this.#windowMs) {
      this.#start = now;
      this.#used = 0;
    }
    if (this.#used >= this.#perWindow) {
      this.#suppressed++;
      return { ok: false, suppressed: 0 };
    }
    this.#used++;
    const suppressed = this.#suppressed;
    this.#suppressed = 0;
    return { ok: true, suppressed };
  }
}
