import type { LiveState, ServerLive } from '../decide/types.js';
import type { ProfileStore } from '../profiles/store.js';

/** Load of one writer (a worker process), published in the host-local part of the store. */
interface LoadEntry {
  at: number;
  units: Record<string, number>;
}

export interface HealthEntry {
  up: boolean;
  at: number;
  rttMs: number;
  detail: string;
}

export interface DrainEntry {
  drained: boolean;
  at: number;
  by: string;
}

const NONE: ReadonlyMap<string, number> = new Map();

/** Entries older than this come from a writer that stopped: its load no longer counts. */
const STALE_MS = 5000;
/** Health older than this comes from a prober that stopped: the server counts as up again. */
const HEALTH_STALE_MS = 30_000;

/**
 * Live state for decisions: capacity units in use per server (this process's exact count plus what
 * the other processes on the host last published), server health written by the prober, and admin
 * drains. Refreshed from the store on a short timer, never read from it per decision.
 */
export class LiveView {
  readonly #store: ProfileStore;
  readonly #id: string;
  readonly #own = new Map<string, number>();
  #others = new Map<string, number>();
  #health = new Map<string, HealthEntry>();
  #drains = new Map<string, DrainEntry>();
  #state = new Map<string, ServerLive>();
  #dirty = false;
  readonly #suspects = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(store: ProfileStore, writerId: string) {
    this.#store = store;
    this.#id = writerId;
  }

  start(periodMs = 200): void {
    this.refresh();
    this.#timer = setInterval(() => {
      this.#publish();
      this.refresh();
    }, periodMs);
    this.#timer.unref();
  }

  stop(): Promise<unknown> {
    if (this.#timer) clearInterval(this.#timer);
    // A failed write is counted by the store (its health alarm); stopping goes on.
    return this.#store.removeLocal(`load/${this.#id}`).catch(() => false);
  }

  /** A call took (positive) or released (negative) capacity units on a server. */
  add(server: string, units: number): void {
    this.#own.set(server, Math.max(0, (this.#own.get(server) ?? 0) + units));
    this.#dirty = true;
    this.#rebuild(server);
  }


  state(now: number, pending: ReadonlyMap<string, number> = NONE): LiveState {
    return { now, servers: this.#state, pending };
  }

  health(): ReadonlyMap<string, HealthEntry> {
    return this.#health;
  }

  drains(): ReadonlyMap<string, DrainEntry> {
    return this.#drains;
  }

  /** Units each writer on the host last published, for the admin view. */
  loads(now = Date.now()): Array<{ writer: string; at: number; units: Record<string, number>; stale: boolean }> {
    return this.#store.rangeLocal<LoadEntry>('load/').map(({ key, value }) => ({ writer: key.slice('load/'.length), at: value.at, units: value.units, stale: now - value.at > STALE_MS }));
  }

  refresh(now = Date.now()): void {
    const others = new Map<string, number>();
    for (const { key, value } of this.#store.rangeLocal<LoadEntry>('load/')) {
      if (key === `load/${this.#id}` || now - value.at > STALE_MS) continue;
      for (const [s, u] of Object.entries(value.units)) others.set(s, (others.get(s) ?? 0) + u);
    }
    this.#others = others;
    const health = new Map<string, HealthEntry>();
    for (const { key, value } of this.#store.rangeLocal<HealthEntry>('health/')) {
      if (now - value.at <= HEALTH_STALE_MS) health.set(key.slice('health/'.length), value);
    }
    this.#health = health;
    const drains = new Map<string, DrainEntry>();
    for (const { key, value } of this.#store.rangeLocal<DrainEntry>('drain/')) if (value.drained) drains.set(key.slice('drain/'.length), value);
    this.#drains = drains;
    const state = new Map<string, ServerLive>();
    for (const [k, until] of this.#suspects) if (until <= now) this.#suspects.delete(k);
    const names = new Set([...others.keys(), ...this.#own.keys(), ...health.keys(), ...drains.keys(), ...this.#suspects.keys()]);
    for (const s of names) state.set(s, this.#entry(s));
    this.#state = state;
  }

  #entry(s: string): ServerLive {
    const e: ServerLive = { units: (this.#others.get(s) ?? 0) + (this.#own.get(s) ?? 0), up: this.#health.get(s)?.up ?? true, drained: this.#drains.has(s) };
    const until = this.#suspects.get(s);
    if (until !== undefined) e.suspectUntil = until;
    return e;
  }

  /**
   * Passive health: a call to the server just failed (no answer, refused, a server error), so new calls
   * avoid it until `until` — the prober's fall count would take seconds — unless nothing else is left.
   * A success clears it.
   */
  suspect(server: string, until: number): void {
    this.#suspects.set(server, until);
    this.#rebuild(server);
  }

  cleared(server: string): void {
    if (this.#suspects.delete(server)) this.#rebuild(server);
  }

  #rebuild(server: string): void {
    this.#state.set(server, this.#entry(server));
  }

  #publish(): void {
    if (!this.#dirty) return;
    this.#dirty = false;
    // Best effort: a failed write (counted by the store, alarmed on /health) is retried with the next change.
    this.#store.putLocal(`load/${this.#id}`, { at: Date.now(), units: Object.fromEntries(this.#own) }).catch(() => {
      this.#dirty = true;
    });
  }
}
