import type { IncomingMessage } from 'node:http';
import type { Config, WorkerEndpoint } from '../shared/config/types.js';

/** A worker being replaced whose UDP SIP traffic stopped this long no longer waits for its UDP calls. */
export const DRAIN_QUIET_MS = 10_000;

/** The header layer 1's health prober names itself in: which layer-1 node probes this worker. */
export const PROBER_HEADER = 'x-vcp-layer1';

/** The layer-1 nodes that probe the workers of a POP: the pair members, or the one layer 1. */
export function layer1Nodes(config: Config, pop: string): string[] {
  const pair = config.failover?.pops.find((p) => p.pop === pop)?.pair;
  return pair ? pair.members.map((m) => m.name) : [config.layer1.name];
}

/**
 * A worker's standing with layer 1, from the health probes it answers: whether every layer-1 node of
 * its POP has seen it healthy (`rise` answers in a row since it started), and whether it is being
 * drained. Draining is said in the `/health` body (`"status":"draining"`, still 200 so that layer 1
 * keeps its flows on it): layer 1 sends it no new flow or connection while it finishes its calls.
 */
export class Layer1Standing {
  #draining = false;
  readonly #answered = new Map<string, number>();
  readonly #nodes: string[];
  readonly #rise: number;
  #waiters: Array<() => void> = [];

  constructor(config: Config, endpoint: WorkerEndpoint) {
    this.#nodes = layer1Nodes(config, endpoint.pop);
    this.#rise = config.layer1.health.rise;
  }

  get draining(): boolean {
    return this.#draining;
  }

  drain(): void {
    this.#draining = true;
  }

  /** Fields of the `/health` body; counts the probe when a layer-1 node sent it. */
  answer(req: IncomingMessage): Record<string, unknown> {
    const node = req.headers[PROBER_HEADER];
    if (typeof node === 'string' && node.length <= 64) {
      this.#answered.set(node, (this.#answered.get(node) ?? 0) + 1);
      if (this.seen) for (const w of this.#waiters.splice(0)) w();
    }
    return this.#draining ? { status: 'draining' } : {};
  }

  /** Every layer-1 node of the POP has probed this worker healthy enough times to count it up. */
  get seen(): boolean {
    return this.#nodes.every((n) => (this.#answered.get(n) ?? 0) >= this.#rise);
  }

  /** Resolves true once seen by every layer-1 node, false when `timeoutMs` passed first. */
  whenSeen(timeoutMs: number): Promise<boolean> {
    if (this.seen) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      timer.unref();
      const done = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#waiters.push(done);
    });
  }
}

/**
 * Waits until `active()` has been 0 for `settleMs` (the worker's calls have ended, and the last
 * answers it sent have left its sockets: a response still queued when the process exits is lost) or
 * `timeoutMs` passed; resolves with what was still active. Checked every `everyMs`: a call ends on a
 * message, not on a timer of ours.
 */
export function callsEnded(active: () => number, timeoutMs: number, everyMs = 100, settleMs = 2000): Promise<number> {
  const until = Date.now() + timeoutMs;
  let idleSince: number | undefined;
  return new Promise((resolve) => {
    const check = (): void => {
      const n = active();
      const now = Date.now();
      if (n > 0) idleSince = undefined;
      else idleSince ??= now;
      if ((idleSince !== undefined && now - idleSince >= settleMs) || now >= until) return resolve(n);
      setTimeout(check, Math.min(everyMs, Math.max(1, until - now)));
    };
    check();
  });
}
