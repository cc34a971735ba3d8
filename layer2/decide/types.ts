import type { ClassKey, ClientIdentity, Protocol } from '../identify.js';

/** How a call is carried. `local`: proxied to a server of this POP; `proxy`: proxied to another POP's server. */
export type Technique = 'proxy' | 'redirect' | 'local' | 'uri' | 'http';

/** Techniques that carry a signalling request (the others act before the client dials). */
export const SIGNALLING_TECHNIQUES: readonly Technique[] = ['redirect', 'proxy', 'local'];

/** Outcome counters of one technique for one class, or of one server for one network. */
export interface Counter {
  /** attempts whose outcome is known */
  a: number;
  /** successes */
  s: number;
  /** failures */
  f: number;
  /** latency sum (ms) and sample count */
  l: number;
  n: number;
  /** last success / last failure (epoch ms, 0 = never) */
  ts: number;
  tf: number;
}

export interface ClassProfile {
  key: string;
  /** Per technique. */
  t: Partial<Record<Technique, Counter>>;
  /** Distinct failing sources per technique (hashes, bounded): a class flips only on several callers' word. */
  fs: Partial<Record<Technique, string[]>>;
  /** Admin override: wins over everything learned. */
  override?: { technique: Technique; at: number; by: string };
  /** Last override change (set or clear), for last-writer-wins across replicas. */
  ovAt: number;
  /** Outcomes older than an admin reset are ignored. */
  resetAt: number;
}

export interface ServerRecord extends Counter {
  /** Learned inaccessible until this time (epoch ms); 0 = not blocked. */
  blockedUntil: number;
  /** Last time a client of the network reached the server's POP itself (a redirect followed); 0 = never. */
  tr: number;
}

export interface NetworkProfile {
  key: string;
  /** Per server: performance seen from this network, and learned blocks. */
  servers: Record<string, ServerRecord>;
  /** Measured round-trip time from this network to each POP (ms, moving average) and its sample count. */
  pops: Record<string, { rtt: number; n: number }>;
  /** Admin override: the only POPs/servers this network may use (names). */
  allow?: { names: string[]; at: number; by: string };
  ovAt: number;
  resetAt: number;
}

/** A network the request comes from, most specific identifier first. */
export interface NetworkId {
  /** Profile key: `net:<name>` (configured), `p4:<prefix>/24`, `p6:<prefix>/48`, `dom:<domain>`. */
  key: string;
  /** Whether reachability learned for this key is physical (address-based) rather than by name (domain). */
  physical: boolean;
  /** A configured network: its name (micro POP reach, static accessible set, customer). */
  name?: string;
}

/** Everything known about the requester, gathered by the connector before deciding. */
export interface DecisionRequest {
  protocol: Protocol;
  client: ClientIdentity;
  chain: readonly ClassKey[];
  source: string;
  networks: readonly NetworkId[];
  /** Geo of the source: from the database or a prefix override. */
  geo: { country: string; continent: string; pop: string };
  customer: string;
  meeting: string;
  workType: string;
  /** Servers already tried for this request (failover): left out. */
  exclude: readonly string[];
}

export interface PopTopo {
  name: string;
  kind: 'core' | 'network' | 'micro';
  region: string;
  /** Micro POPs: configured network names that may reach it. */
  reachableFrom: readonly string[];
}

export interface ServerTopo {
  name: string;
  pop: string;
  capacity: number;
  /** work type → cost in capacity units per call */
  workTypes: Readonly<Record<string, number>>;
}

export interface CustomerPolicy {
  name: string;
  /** Allowed POP regions; empty = any. */
  regions: readonly string[];
  /** Meetings (exact names or `prefix*`) that go to a micro POP. */
  microPop?: { pop: string; meetings: readonly string[] };
}

export interface NetworkTopo {
  name: string;
  customer: string;
  /** Static accessible POP or server names; empty = not restricted. */
  accessible: readonly string[];
}

/** The configuration the decision reads: built once at start, plain data. */
export interface Topology {
  localPop: string;
  pops: readonly PopTopo[];
  popByName: ReadonlyMap<string, PopTopo>;
  servers: readonly ServerTopo[];
  customers: Readonly<Record<string, CustomerPolicy>>;
  networks: Readonly<Record<string, NetworkTopo>>;
  /** Configured technique per class key (most specific wins), and the default. */
  techniques: { default: Technique; classes: Readonly<Record<string, Technique>> };
  learning: LearningPolicy;
}

export interface LearningPolicy {
  /** failures (from at least `minSources` sources) after which a technique is known to break a class */
  breakAfter: number;
  minSources: number;
  /** successes after which a technique is proven for a class */
  provenAfter: number;
  /** a proven or broken verdict needs at least this success ratio / at most this one */
  provenRatio: number;
  /** RTTs within this many ms of the best are equal (geo then breaks the tie) */
  rttToleranceMs: number;
  /** redirects of a class not yet proven that may await their arrival at once (the rest are proxied) */
  probationLimit: number;
}

export interface ServerLive {
  units: number;
  up: boolean;
  drained: boolean;
  /** Calls to it failed lately (timeouts, refusals): avoided until then while others can take the call. */
  suspectUntil?: number;
}

/** Live state at the moment of the decision (no clock inside decide: `now` comes from here). */
export interface LiveState {
  now: number;
  /** Per server: capacity units in use across the POP, health, admin drain. Absent = idle, up. */
  servers: ReadonlyMap<string, ServerLive>;
  /** Redirects awaiting their arrival, per class key (most specific level of the class issued to). */
  pending: ReadonlyMap<string, number>;
}

/** Profiles read for this request, aligned with `chain` and `networks` (undefined = nothing known). */
export interface ProfileSnapshot {
  classes: ReadonlyArray<ClassProfile | undefined>;
  networks: ReadonlyArray<NetworkProfile | undefined>;
}

export interface ServerChoice {
  server: string;
  pop: string;
}

export interface Decision {
  /** Empty when nothing is accessible: the connector answers 503 / releases the call. */
  pop: string;
  server: string;
  /** Every usable server in preference order (the first is `server`), for failover. */
  candidates: ServerChoice[];
  technique: Technique;
  /** The class level whose record or setting decided the technique (`default` when none). */
  decidedBy: string;
  reasons: string[];
}
