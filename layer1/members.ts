import type { WorkerEndpoint } from '../shared/config/types.js';
import { INITIAL_HEALTH, type HealthState } from './health-state.js';
import { memberSeed, type Candidate } from './pick.js';

/** The member port a listener relays to: SIP (UDP and TCP), H.225 call signalling (TCP), RAS (UDP). */
export type TargetPort = 'sipProxied' | 'h323Proxied' | 'rasProxied';

/**
 * Plain counters the relays bump on their hot paths; metrics read them when scraped (no label lookup
 * per datagram).
 */
export interface MemberStats {
  tcpTotal: number;
  tcpActive: number;
  udpFlowsActive: number;
  udpFlowsCreated: number;
  bytesIn: number;
  bytesOut: number;
  datagramsIn: number;
  datagramsOut: number;
  connectErrors: number;
  probeFailures: number;
}

/** One connector worker as layer 1 sees it: where it listens, whether it is healthy, whether it drains. */
export class Member implements Candidate {
  readonly id: string;
  readonly seed: number;
  readonly endpoint: WorkerEndpoint;
  health: HealthState = INITIAL_HEALTH;
  /** Drained by an operator (control API). */
  draining = false;
  /** Draining by its own word (`"status":"draining"` in its /health answer): it is being replaced. */
  drainRequested = false;
  readonly stats: MemberStats = {
    tcpTotal: 0, tcpActive: 0, udpFlowsActive: 0, udpFlowsCreated: 0, bytesIn: 0, bytesOut: 0,
    datagramsIn: 0, datagramsOut: 0, connectErrors: 0, probeFailures: 0,
  };

  constructor(endpoint: WorkerEndpoint) {
    this.endpoint = endpoint;
    this.id = endpoint.id;
    this.seed = memberSeed(endpoint.id);
  }

  get up(): boolean {
    return this.health.up;
  }

  /** Takes new flows and connections: healthy and not draining (by an operator or by its own word). */
  get eligible(): boolean {
    return this.health.up && !this.draining && !this.drainRequested;
  }

  get address(): string {
    return this.endpoint.address;
  }

  port(target: TargetPort): number {
    return this.endpoint[target];
  }
}

/** The members of one layer-1 instance, in configuration order. */
export class MemberSet {
  list: readonly Member[];
  #byId: Map<string, Member>;

  constructor(endpoints: readonly WorkerEndpoint[]) {
    this.list = endpoints.map((e) => new Member(e));
    this.#byId = new Map(this.list.map((m) => [m.id, m]));
  }

  /**
   * A reload: the members become `endpoints`. A member whose endpoint is unchanged keeps its health,
   * drain state and counters; a new or changed one starts down (used once probed healthy). Returns
   * the members that left (their open flows and connections go on until they end).
   */
  update(endpoints: readonly WorkerEndpoint[]): Member[] {
    const same = (a: WorkerEndpoint, b: WorkerEndpoint): boolean => JSON.stringify(a) === JSON.stringify(b);
    const next = endpoints.map((e) => {
      const m = this.#byId.get(e.id);
      return m && same(m.endpoint, e) ? m : new Member(e);
    });
    const kept = new Set(next);
    const gone = this.list.filter((m) => !kept.has(m));
    this.list = next;
    this.#byId = new Map(next.map((m) => [m.id, m]));
    return gone;
  }

  get(id: string): Member | undefined {
    return this.#byId.get(id);
  }

  /** The members that serve `target` at all (port not 0), healthy or not. */
  serving(target: TargetPort): Member[] {
    return this.list.filter((m) => m.port(target) !== 0);
  }

  get upCount(): number {
    let n = 0;
    for (const m of this.list) if (m.up) n++;
    return n;
  }
}
