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
  draining = false;
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

  /** Takes new flows and connections: healthy and not draining. */
  get eligible(): boolean {
    return this.health.up && !this.draining;
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
  readonly list: readonly Member[];
  readonly #byId: Map<string, Member>;

  constructor(endpoints: readonly WorkerEndpoint[]) {
    this.list = endpoints.map((e) => new Member(e));
    this.#byId = new Map(this.list.map((m) => [m.id, m]));
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
