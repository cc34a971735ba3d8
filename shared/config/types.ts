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
  ras: number;
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
  /** Public base URL of the POP's web listener, without a trailing slash ('' = none). */
  web: string;
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
  tcp: { connectTimeoutMs: number; maxConnections: number; maxConnectionsPerSource: number };
  udp: { idleTimeoutMs: number; maxFlows: number; maxFlowsPerSource: number };
  metrics: { address: string; port: number };
  /** The control API; a token is required wherever it listens on a non-loopback address. */
  control: { address: string; port: number; token: string | undefined; tokenFile: string | undefined };
  /** GET /health alone, for probes from elsewhere (the POP edge, a load balancer). Port 0 = none. */
  healthListener: { address: string; port: number };
  /**
   * Prefixes PROXY v2 headers are accepted from on the proxied ports: `layer1.addresses` (loopback
   * when not set), every connector's address and every layer-1 pair member's. Anything else is dropped.
   */
  trustedSources: string[];
}

/** Limits that apply to every source address of the public ports, but those of `exempt`. */
export interface LimitsConfig {
  /** Prefixes no per-source limit or flood guard applies to (load testers, partner gateways). */
  exempt: string[];
  /** A source sending more than `requestsPerSecond` (over `windowMs`) is ignored for `blockMs`; 0 = off. */
  flood: { requestsPerSecond: number; windowMs: number; blockMs: number };
  /** A peer that lets more than this many bytes wait unsent (it does not read) is disconnected. */
  maxUnsentBytes: number;
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
  /** TCP connections of one worker (plain and proxied ports), and of one source address. */
  maxConnections: number;
  maxConnectionsPerSource: number;
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

export interface H323Config {
  /** Largest TPKT payload accepted; a longer one is refused from its header. */
  maxMessageBytes: number;
  /** PROXY v2 header, and a message begun but not finished, must arrive within this. */
  headerTimeoutMs: number;
  /** A connection that holds no call and sends nothing is closed after this. */
  idleTimeoutMs: number;
  /** TCP connect to a server. */
  connectTimeoutMs: number;
  /** Setup sent to a server → its Alerting or Connect; past it the next server is tried. */
  setupTimeoutMs: number;
  /** Alerting → Connect; past it the call is released both ways. */
  answerTimeoutMs: number;
  /** After a Facility callForwarded: how long the caller has to release before we do. */
  forwardReleaseMs: number;
  /** H.225 connections from callers, per worker and per source address. */
  maxConnections: number;
  maxConnectionsPerSource: number;
  ras: {
    gatekeeperId: string;
    timeToLiveS: number;
    maxRegistrations: number;
    maxAlternates: number;
    /** Registrations one RAS source address may hold. */
    maxRegistrationsPerSource: number;
    /** Aliases one RRQ may register. */
    maxAliases: number;
    /** Larger RAS datagrams are dropped before decoding. */
    maxDatagramBytes: number;
    /** Prefixes whose LRQs are answered (besides every connector of the deployment); others are dropped. */
    neighbours: string[];
  };
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
  h323: H323Config;
  techniques: { default: TechniqueName; classes: Record<string, TechniqueName> };
  workTypes: { default: string; classes: Record<string, string> };
  networks: NetworkConfig[];
  customers: CustomerConfig[];
  geo: GeoConfig;
  /** LMDB directory (absolute) and the outcome-log size per writer. */
  profiles: { path: string; logSize: number; readCacheMs: number };
  learning: LearningConfig;
  /** Admin API; `token` from the config, else read from (or created in) `tokenFile`. Port 0 = off; address '' = loopback (`adminAddress`). */
  admin: { address: string; port: number; token: string | undefined; tokenFile: string };
  serverHealth: { intervalMs: number; timeoutMs: number; fall: number; rise: number; suspectMs: number; suspectPerSourcePerMinute: number };
  /** Absent: no replication (a single POP), and no outbox. */
  replication: ReplicationConfig | undefined;
  runAs: { user: string; group: string } | undefined;
  /** Absent when the file has no failover section (a single-POP deployment). */
  failover?: FailoverConfig;
  /** The layer-1 pair member this process runs as, when --node (or VCP_NODE) named one. */
  node?: string;
  web: WebConfig;
  meetings: MeetingConfig[];
  dns: DnsConfig;
  limits: LimitsConfig;
}

// ---- web and DNS ---------------------------------------------------------------------------------

/** The join page and HTTP redirect listener of a connector host. Served when `enabled` (section present, port not 0). */
export interface WebConfig {
  enabled: boolean;
  /** '' = the connector's address */
  address: string;
  port: number;
  /** Prefixes of reverse proxies whose X-Forwarded-For is believed. */
  trustedProxies: string[];
  /** Browser class key (lower case) → technique configured for it. */
  classes: Record<string, 'http' | 'uri'>;
  /** How long a join link waits for its use before it counts as missed. */
  linkDeadlineMs: number;
}

/** A meeting the appliance knows: an exact name or `prefix*`, with the customer it belongs to ('' = none). */
export interface MeetingConfig {
  name: string;
  customer: string;
}

export interface DnsZoneConfig {
  /** lower case, no trailing dot */
  name: string;
  nameservers: string[];
  hostmaster: string;
  ttl: number;
  negativeTtl: number;
}

export interface DnsNameConfig {
  /** lower case, no trailing dot */
  name: string;
  /** Whose addresses the A/AAAA answers list, or fixed addresses. */
  answers: 'servers' | 'connectors' | 'pops' | string[];
  ttl: number;
  /** The client type the answer order is decided for. */
  client: 'sip' | 'h323' | 'web';
}

/** The authoritative DNS responder of a connector host. Served when `enabled` (section present, port not 0). */
export interface DnsConfig {
  enabled: boolean;
  /** '' = the connector's address */
  address: string;
  port: number;
  zones: DnsZoneConfig[];
  names: DnsNameConfig[];
  popAddresses: Record<string, string[]>;
  /** A UDP response is at most the query's size times this (else truncated, TC=1). */
  udpFactor: number;
  tcpIdleMs: number;
  maxTcpConnections: number;
  maxTcpConnectionsPerSource: number;
}
