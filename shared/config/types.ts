import type { TechniqueName } from './schema.js';

/** One connector worker process: each is a layer-1 member of its own. Port 0 = not served. */
export interface WorkerEndpoint {
  id: string;
  connector: string;
  pop: string;
  index: number;
  address: string;
  sipProxied: number;
  sip: number;
  h323Proxied: number;
  h323: number;
  rasProxied: number;
  health: number;
}

export interface ConnectorConfig {
  name: string;
  pop: string;
  address: string;
  workers: number;
  endpoints: WorkerEndpoint[];
}

export interface ServerConfig {
  name: string;
  pop: string;
  address: string;
  sipPort: number;
  sipTransport: 'udp' | 'tcp';
  h323Port: number;
  capacity: number;
  workTypes: string[];
  builtin: boolean;
}

export interface PopConfig {
  name: string;
  kind: 'core' | 'network' | 'micro';
  region: string;
}

export interface Layer1Config {
  name: string;
  pop: string;
  bind: string;
  health: { intervalMs: number; timeoutMs: number; fall: number; rise: number };
  tcp: { connectTimeoutMs: number; maxConnections: number };
  udp: { idleTimeoutMs: number; maxFlows: number };
  metrics: { address: string; port: number };
  control: { address: string; port: number };
}

export interface SipConfig {
  maxMessageBytes: number;
  headerTimeoutMs: number;
  idleTimeoutMs: number;
  t1Ms: number;
  backendTimeoutMs: number;
  transactionTimeoutMs: number;
  redirectTokenParam: string;
}

// ---- Failover: the layer-1 pair of each POP, its BGP speaker, the cross-POP policy ----

export interface PairMemberConfig {
  name: string;
  address: string;
  priority: number;
}

/** One keepalived VRRP instance per POP: both members start BACKUP with nopreempt. */
export interface PairConfig {
  interface: string;
  vrid: number;
  advertIntervalMs: number;
  unicast: boolean;
  members: [PairMemberConfig, PairMemberConfig];
  check: { intervalS: number; fall: number; rise: number };
}

export interface BgpNeighbourConfig {
  address: string;
  as: number;
  bfd: boolean;
}

/** The BIRD speaker at the POP edge; `prefix` contains the well-known address. */
export interface BgpConfig {
  localAs: number;
  routerId: string;
  localAddress: string;
  edgeInterface: string;
  prefix: string;
  neighbours: BgpNeighbourConfig[];
  holdTimeS: number;
  bfd: { intervalMs: number; multiplier: number };
}

export interface PopFailoverConfig {
  pop: string;
  pair: PairConfig;
  bgp: BgpConfig;
}

export interface FailoverConfig {
  primary: string;
  /** Every healthy POP announces; those that are not the primary prepend their AS path. */
  anycast: boolean;
  failback: 'automatic' | 'manual';
  backupPrepend: number;
  watch: { intervalMs: number; timeoutMs: number; fall: number; rise: number; minConnectorWorkers: number };
  /** The primary first, then the other POPs in the order of the file. */
  pops: PopFailoverConfig[];
}

// ---- end of failover ----

/** The validated configuration with every default filled in. */
export interface Config {
  file: string;
  pop: string;
  wellKnown: { address: string; sip: number; h323: number; ras: number };
  pops: PopConfig[];
  layer1: Layer1Config;
  connectors: ConnectorConfig[];
  servers: ServerConfig[];
  sip: SipConfig;
  techniques: { default: TechniqueName; classes: Record<string, TechniqueName> };
  runAs: { user: string; group: string } | undefined;
  /** Absent when the file has no failover section (a single-POP deployment). */
  failover?: FailoverConfig;
  /** The layer-1 pair member this process runs as, when --node (or VCP_NODE) named one. */
  node?: string;
}
