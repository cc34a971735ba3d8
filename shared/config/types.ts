import type { Static } from '@sinclair/typebox';
import type * as S from './schema.js';

/**
 * The resolved configuration. Each section's type is the schema's (`Static<>`, every fixed default
 * filled in by `Value.Default`); only what `load.ts` derives from other keys is added here: the
 * workers of a connector, the defaults that depend on another key, paths made absolute.
 */

export type { TechniqueName } from './schema.js';

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

export type ServerConfig = Omit<Static<typeof S.Server>, 'workTypes' | 'probe'> & {
  /** work type → cost in capacity units per call */
  workTypes: Record<string, number>;
  /** How the connector supervisor checks the server: SIP OPTIONS, a TCP connect, or not at all. */
  probe: 'options' | 'tcp' | 'none';
};

/** `web`: the public base URL of the POP's web listener, without a trailing slash ('' = none). */
export type PopConfig = Omit<Static<typeof S.Pop>, 'web'> & { web: string };
export type NetworkConfig = Static<typeof S.Network>;
export type CustomerConfig = Static<typeof S.Customer>;
export type WellKnownConfig = Static<typeof S.WellKnown>;

/** `database`: absolute path, '' = the embedded DB-IP country database. */
export interface GeoConfig {
  database: string;
  rules: Array<{ country: string; continent: string; pop: string }>;
  overrides: Array<{ prefix: string; country: string; pop: string }>;
}

export type LearningConfig = Static<typeof S.Learning>;
/**
 * `trustedSources`: the prefixes PROXY v2 headers are accepted from on the proxied ports —
 * `layer1.addresses` (loopback when not set), every connector's address, every pair member's.
 * `control.tokenFile`: absolute.
 */
export type Layer1Config = Static<typeof S.Layer1> & { pop: string; bind: string; trustedSources: string[] };
export type SipConfig = Static<typeof S.Sip>;
export type H323Config = Omit<Static<typeof S.H323>, 'ras'> & { ras: Static<typeof S.H323Ras> & { gatekeeperId: string } };
export type TechniquesConfig = Static<typeof S.Techniques>;
export type WorkTypesConfig = Static<typeof S.WorkTypes>;
/** `path`: absolute. */
export type ProfilesConfig = Static<typeof S.Profiles>;
export type ServerHealthConfig = Static<typeof S.ServerHealth>;
/** `keyFile`, `previousKeyFile`: absolute. */
export type TokensConfig = Static<typeof S.Tokens>;
/** Per-source limits, flood guard and write backpressure of the public ports. */
export type LimitsConfig = Static<typeof S.Limits>;
export type ServiceConfig = Static<typeof S.Service>;
/** `address` '' = loopback (`adminAddress` in load.ts); `tokenFile` absolute. */
export type AdminConfig = Omit<Static<typeof S.Admin>, 'token'> & { address: string; token: string | undefined };

/** Profile replication through NATS JetStream, resolved for every connector of the file. */
export type ReplicationConfig = Omit<Static<typeof S.Replication>, 'user' | 'password' | 'token' | 'hosts'> & {
  auth: { user: string; password: string } | { token: string } | undefined;
  /** connector name → the servers its host connects to and its durable consumer's name */
  hosts: Record<string, { servers: string[]; consumer: string }>;
};

// ---- Failover: the layer-1 pair of each POP, its BGP speaker, the cross-POP policy ----

export type PairMemberConfig = Static<typeof S.PairMember>;
/** One keepalived VRRP instance per POP: both members start BACKUP with nopreempt. */
export type PairConfig = Omit<Static<typeof S.Pair>, 'members'> & { members: [PairMemberConfig, PairMemberConfig] };
export type BgpNeighbourConfig = Static<typeof S.BgpNeighbour>;
/** The BIRD speaker at the POP edge; `prefix` contains the well-known address. */
export type BgpConfig = Omit<Static<typeof S.Bgp>, 'localAddress' | 'prefix'> & { localAddress: string; prefix: string };
export interface PopFailoverConfig {
  pop: string;
  pair: PairConfig;
  bgp: BgpConfig;
}
/** `pops`: the primary first, then the other POPs in the order of the file. */
export type FailoverConfig = Omit<Static<typeof S.Failover>, 'pops'> & { pops: PopFailoverConfig[] };

// ---- web and DNS ---------------------------------------------------------------------------------

/** The join page and HTTP redirect listener of a connector host. Served when `enabled` (section present, port not 0). */
export type WebConfig = Static<typeof S.Web> & {
  enabled: boolean;
  /** '' = the connector's address */
  address: string;
};

/** A meeting the appliance knows: an exact name or `prefix*`, with the customer it belongs to ('' = none). */
export type MeetingConfig = Static<typeof S.Meeting>;
/** `name`, `nameservers`, `hostmaster`: lower case, no trailing dot. */
export type DnsZoneConfig = Omit<Static<typeof S.DnsZone>, 'hostmaster'> & { hostmaster: string };
/** `name`: lower case, no trailing dot. */
export type DnsNameConfig = Static<typeof S.DnsName>;

/** The authoritative DNS responder of a connector host. Served when `enabled` (section present, port not 0). */
export type DnsConfig = Omit<Static<typeof S.Dns>, 'zones' | 'address'> & {
  enabled: boolean;
  /** '' = the connector's address */
  address: string;
  zones: DnsZoneConfig[];
};

/** What the decision and the learning read: the deployment's topology and policy. */
export type DeploymentConfig = Pick<Config, 'pop' | 'pops' | 'connectors' | 'servers' | 'networks' | 'customers' | 'techniques' | 'workTypes' | 'learning' | 'serverHealth'>;

/** The validated configuration with every default filled in. */
export interface Config {
  file: string;
  pop: string;
  wellKnown: WellKnownConfig;
  pops: PopConfig[];
  layer1: Layer1Config;
  connectors: ConnectorConfig[];
  servers: ServerConfig[];
  sip: SipConfig;
  h323: H323Config;
  techniques: TechniquesConfig;
  workTypes: WorkTypesConfig;
  networks: NetworkConfig[];
  customers: CustomerConfig[];
  geo: GeoConfig;
  profiles: ProfilesConfig;
  learning: LearningConfig;
  admin: AdminConfig;
  serverHealth: ServerHealthConfig;
  tokens: TokensConfig;
  service: ServiceConfig;
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
