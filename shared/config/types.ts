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
  /** work type → cost in capacity units per call */
  workTypes: Record<string, number>;
  builtin: boolean;
  /** How the connector supervisor checks the server: SIP OPTIONS, a TCP connect, or not at all. */
  probe: 'options' | 'tcp' | 'none';
}

export interface PopConfig {
  name: string;
  kind: 'core' | 'network' | 'micro';
  region: string;
  /** Micro POPs: names of configured networks that may reach it. */
  reachableFrom: string[];
}

export interface NetworkConfig {
  name: string;
  prefixes: string[];
  customer: string;
  accessible: string[];
}

export interface CustomerConfig {
  name: string;
  regions: string[];
  microPop: { pop: string; meetings: string[] } | undefined;
}

export interface GeoConfig {
  /** Absolute path of a MaxMind-format country database; '' = the embedded DB-IP country database. */
  database: string;
  rules: Array<{ country: string; continent: string; pop: string }>;
  overrides: Array<{ prefix: string; country: string; pop: string }>;
}

export interface LearningConfig {
  breakAfter: number;
  minSources: number;
  provenAfter: number;
  provenRatio: number;
  rttToleranceMs: number;
  probationLimit: number;
  redirectDeadlineMs: number;
  arrivalGraceMs: number;
  blockRetryMs: number;
  perSourcePerMinute: number;
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
  /** A call not seen to end within this time releases its capacity units (its BYE went another way). */
  maxCallMs: number;
}

/** Profile replication through NATS JetStream, resolved for every connector of the file. */
export interface ReplicationConfig {
  stream: string;
  subjectPrefix: string;
  replicas: number;
  maxAgeMs: number;
  duplicateWindowMs: number;
  ackWaitMs: number;
  connectTimeoutMs: number;
  /** a server that answers no ping within two of these is taken as gone (a silent cut) */
  pingIntervalMs: number;
  reconnect: { waitMs: number; jitterMs: number; maxAttempts: number };
  pollMs: number;
  publishWindow: number;
  applyWindow: number;
  auth: { user: string; password: string } | { token: string } | undefined;
  /** connector name → the servers its host connects to and its durable consumer's name */
  hosts: Record<string, { servers: string[]; consumer: string }>;
}

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
  workTypes: { default: string; classes: Record<string, string> };
  networks: NetworkConfig[];
  customers: CustomerConfig[];
  geo: GeoConfig;
  /** LMDB directory (absolute) and the outcome-log size per writer. */
  profiles: { path: string; logSize: number; readCacheMs: number };
  learning: LearningConfig;
  /** Admin API; `token` from the config, else read from (or created in) `tokenFile`. Port 0 = off; address '' = the connector's. */
  admin: { address: string; port: number; token: string | undefined; tokenFile: string };
  serverHealth: { intervalMs: number; timeoutMs: number; fall: number; rise: number };
  /** Absent: no replication (a single POP), and no outbox. */
  replication: ReplicationConfig | undefined;
  runAs: { user: string; group: string } | undefined;
}
