import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Every object in the config rejects keys it does not know. */
const Obj = <T extends Parameters<typeof Type.Object>[0]>(props: T, description?: string) =>
  Type.Object(props, { additionalProperties: false, ...(description ? { description } : {}) });

const Name = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$', description: 'a name of letters, digits, dot, dash, underscore' });
const Port = Type.Integer({ minimum: 1, maximum: 65535, description: 'a port number 1..65535' });
const OptPort = Type.Integer({ minimum: 0, maximum: 65535, description: 'a port number, 0 to disable' });
const Address = Type.String({ format: 'ip', description: 'an IPv4 or IPv6 address' });
const Ms = (def: number, min = 1) => Type.Integer({ minimum: min, default: def, description: 'milliseconds' });

export const Technique = Type.Union([Type.Literal('proxy'), Type.Literal('redirect'), Type.Literal('local')], {
  description: 'one of proxy, redirect, local',
});

const WellKnown = Obj({
  address: Address,
  sip: Type.Optional(Port),
  h323: Type.Optional(Port),
  ras: Type.Optional(Port),
});

const Cidr = Type.String({ format: 'cidr', description: 'an address prefix such as 198.51.100.0/24 or 2001:db8::/32' });

const Pop = Obj({
  name: Name,
  kind: Type.Optional(Type.Union([Type.Literal('core'), Type.Literal('network'), Type.Literal('micro')], { description: 'one of core, network, micro' })),
  region: Type.Optional(Type.String()),
  reachableFrom: Type.Optional(Type.Array(Name, { description: 'names of configured networks that may reach this (micro) POP' })),
  web: Type.Optional(Type.String({ pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$', description: 'the public base URL of the POP\'s web listener, such as https://ams.example.net' })),
});

const Server = Obj({
  name: Name,
  pop: Name,
  address: Address,
  sipPort: Type.Optional(OptPort),
  sipTransport: Type.Optional(Type.Union([Type.Literal('udp'), Type.Literal('tcp')], { description: 'udp or tcp' })),
  h323Port: Type.Optional(OptPort),
  capacity: Type.Optional(Type.Integer({ minimum: 1, description: 'capacity units, at least 1' })),
  workTypes: Type.Optional(Type.Union([
    Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    Type.Record(Type.String({ minLength: 1 }), Type.Number({ minimum: 0 }), { minProperties: 1 }),
  ], { description: 'a list of work types, or a map of work type → cost in capacity units per call' })),
  builtin: Type.Optional(Type.Boolean({ description: 'true when `npm start` runs the built-in backend for this server' })),
  probe: Type.Optional(Type.Union([Type.Literal('options'), Type.Literal('tcp'), Type.Literal('none')], { description: 'one of options (SIP OPTIONS), tcp (connect), none' })),
});

const ConnectorPorts = Obj({
  sipProxied: Type.Optional(OptPort),
  sip: Type.Optional(OptPort),
  h323Proxied: Type.Optional(OptPort),
  h323: Type.Optional(OptPort),
  rasProxied: Type.Optional(OptPort),
  ras: Type.Optional(OptPort),
  health: Type.Optional(OptPort),
}, 'base ports; worker i listens on each base port + i');

const Connector = Obj({
  name: Name,
  pop: Name,
  address: Address,
  workers: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 64 }), Type.Literal('auto')], { description: 'a number of worker processes 1..64, or auto (one per core)' })),
  ports: ConnectorPorts,
});

const Layer1 = Obj({
  name: Type.Optional(Name),
  pop: Type.Optional(Name),
  bind: Type.Optional(Address),
  health: Type.Optional(Obj({
    intervalMs: Type.Optional(Ms(500, 20)),
    timeoutMs: Type.Optional(Ms(400, 10)),
    fall: Type.Optional(Type.Integer({ minimum: 1, default: 2 })),
    rise: Type.Optional(Type.Integer({ minimum: 1, default: 2 })),
  })),
  tcp: Type.Optional(Obj({
    connectTimeoutMs: Type.Optional(Ms(1000)),
    maxConnections: Type.Optional(Type.Integer({ minimum: 1 })),
    maxConnectionsPerSource: Type.Optional(Type.Integer({ minimum: 1, default: 500, description: 'relayed TCP connections one client address may hold' })),
  })),
  udp: Type.Optional(Obj({
    idleTimeoutMs: Type.Optional(Ms(120000, 100)),
    maxFlows: Type.Optional(Type.Integer({ minimum: 1 })),
    maxFlowsPerSource: Type.Optional(Type.Integer({ minimum: 1, default: 2000, description: 'UDP flows one client address may hold per listener' })),
  })),
  metrics: Type.Optional(Obj({ address: Type.Optional(Address), port: Type.Optional(OptPort) })),
  control: Type.Optional(Obj({
    address: Type.Optional(Address),
    port: Type.Optional(OptPort),
    token: Type.Optional(Type.String({ minLength: 16, description: 'a bearer token of at least 16 characters' })),
    tokenFile: Type.Optional(Type.String({ minLength: 1, description: 'path of a file holding the bearer token; relative to the config file' })),
  })),
  healthListener: Type.Optional(Obj({ address: Type.Optional(Address), port: Type.Optional(OptPort) }, 'GET /health alone, for probes from other hosts')),
  addresses: Type.Optional(Type.Array(Cidr, { description: 'prefixes layer 1 sends from (default loopback); with the connectors and the pair members, the only senders whose PROXY v2 headers are accepted' })),
});

const Sip = Obj({
  maxMessageBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1048576, default: 65536 })),
  headerTimeoutMs: Type.Optional(Ms(5000, 100)),
  idleTimeoutMs: Type.Optional(Ms(300000, 1000)),
  t1Ms: Type.Optional(Ms(500, 10)),
  backendTimeoutMs: Type.Optional(Ms(4000, 50)),
  transactionTimeoutMs: Type.Optional(Ms(32000, 100)),
  redirectTokenParam: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]*$' })),
  maxCallMs: Type.Optional(Ms(21_600_000, 1000)),
  maxConnections: Type.Optional(Type.Integer({ minimum: 1, default: 10000, description: 'SIP TCP connections one worker keeps open' })),
  maxConnectionsPerSource: Type.Optional(Type.Integer({ minimum: 1, default: 100, description: 'SIP TCP connections one source address may hold on a worker' })),
});

const H323 = Obj({
  maxMessageBytes: Type.Optional(Type.Integer({ minimum: 512, maximum: 65531, default: 16384, description: 'octets of one TPKT payload, 512..65531' })),
  headerTimeoutMs: Type.Optional(Ms(5000, 100)),
  idleTimeoutMs: Type.Optional(Ms(60000, 1000)),
  connectTimeoutMs: Type.Optional(Ms(2000, 50)),
  setupTimeoutMs: Type.Optional(Ms(4000, 50)),
  answerTimeoutMs: Type.Optional(Ms(180000, 1000)),
  forwardReleaseMs: Type.Optional(Ms(2000, 10)),
  maxConnections: Type.Optional(Type.Integer({ minimum: 1, default: 10000, description: 'H.225 connections from callers one worker keeps open' })),
  maxConnectionsPerSource: Type.Optional(Type.Integer({ minimum: 1, default: 100, description: 'H.225 connections one source address may hold on a worker' })),
  ras: Type.Optional(Obj({
    gatekeeperId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'a gatekeeper identifier of 1..128 characters' })),
    timeToLiveS: Type.Optional(Type.Integer({ minimum: 10, maximum: 86400, default: 300, description: 'seconds a registration lasts, 10..86400' })),
    maxRegistrations: Type.Optional(Type.Integer({ minimum: 1, default: 100000, description: 'registrations one worker keeps at most' })),
    maxAlternates: Type.Optional(Type.Integer({ minimum: 0, maximum: 32, default: 4, description: 'alternate gatekeepers listed at most, 0..32' })),
    maxRegistrationsPerSource: Type.Optional(Type.Integer({ minimum: 1, default: 100, description: 'registrations one RAS source address may hold' })),
    maxAliases: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024, default: 32, description: 'aliases one RRQ may register, 1..1024' })),
    maxDatagramBytes: Type.Optional(Type.Integer({ minimum: 512, maximum: 65535, default: 4096, description: 'octets of one RAS datagram, 512..65535' })),
    neighbours: Type.Optional(Type.Array(Cidr, { description: 'prefixes of gatekeepers whose LRQs are answered (the deployment\'s connectors always are)' })),
  })),
});

const Techniques = Obj({
  default: Type.Optional(Technique),
  classes: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Technique, { description: 'class key (sip, sip/vendor, sip/vendor/product, ...) → technique' })),
});

// ---- topology, policy and learning -------------------------------------------------------------

const Network = Obj({
  name: Name,
  prefixes: Type.Array(Cidr, { minItems: 1 }),
  customer: Type.Optional(Name),
  accessible: Type.Optional(Type.Array(Name, { description: 'names of the POPs or servers this network can reach' })),
});

const Customer = Obj({
  name: Name,
  regions: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'POP regions the customer allows' })),
  microPop: Type.Optional(Obj({ pop: Name, meetings: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'meeting names, or prefix*' }) })),
});

const CountryCode = Type.String({ pattern: '^[A-Z]{2}$', description: 'an ISO 3166 country code such as NL' });
const ContinentCode = Type.Union(['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'].map((c) => Type.Literal(c)), { description: 'a continent code: AF, AN, AS, EU, NA, OC or SA' });

const Geo = Obj({
  database: Type.Optional(Type.String({ minLength: 1, description: 'path of a MaxMind-format country database (GeoLite2-Country, DB-IP)' })),
  rules: Type.Optional(Type.Array(Obj({ country: Type.Optional(CountryCode), continent: Type.Optional(ContinentCode), pop: Name }), { description: 'first match wins; a rule with neither country nor continent matches everything' })),
  overrides: Type.Optional(Type.Array(Obj({ prefix: Cidr, country: Type.Optional(CountryCode), pop: Type.Optional(Name) }))),
});

const Profiles = Obj({
  path: Type.Optional(Type.String({ minLength: 1, description: 'the LMDB directory; relative to the config file' })),
  logSize: Type.Optional(Type.Integer({ minimum: 10, maximum: 10_000_000, description: 'outcome log entries kept per writer' })),
  readCacheMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000, description: 'milliseconds a decoded profile is trusted on the hot path' })),
});

const Learning = Obj({
  breakAfter: Type.Optional(Type.Integer({ minimum: 1, description: 'failures after which a technique breaks a class' })),
  minSources: Type.Optional(Type.Integer({ minimum: 1, description: 'distinct failing callers needed to flip a class' })),
  provenAfter: Type.Optional(Type.Integer({ minimum: 1, description: 'successes after which a technique is proven' })),
  provenRatio: Type.Optional(Type.Number({ minimum: 0.5, maximum: 1, description: 'a share between 0.5 and 1' })),
  rttToleranceMs: Type.Optional(Type.Integer({ minimum: 0, description: 'milliseconds' })),
  probationLimit: Type.Optional(Type.Integer({ minimum: 1, description: 'redirects of an unproven class that may await their arrival at once' })),
  redirectDeadlineMs: Type.Optional(Ms(8000, 100)),
  arrivalGraceMs: Type.Optional(Ms(2000, 0)),
  blockRetryMs: Type.Optional(Ms(3_600_000, 1000)),
  perSourcePerMinute: Type.Optional(Type.Integer({ minimum: 1, description: 'outcomes one source address may teach per minute' })),
});

const ServerHealth = Obj({
  intervalMs: Type.Optional(Ms(2000, 50)),
  timeoutMs: Type.Optional(Ms(1000, 10)),
  fall: Type.Optional(Type.Integer({ minimum: 1 })),
  rise: Type.Optional(Type.Integer({ minimum: 1 })),
  suspectMs: Type.Optional(Ms(10_000, 0)),
  suspectPerSourcePerMinute: Type.Optional(Type.Integer({ minimum: 1, description: 'server failures one source address may turn into a suspicion per minute' })),
});

const Admin = Obj({
  address: Type.Optional(Address),
  port: Type.Optional(OptPort),
  token: Type.Optional(Type.String({ minLength: 16, description: 'a bearer token of at least 16 characters' })),
  tokenFile: Type.Optional(Type.String({ minLength: 1, description: 'path of a file holding the bearer token; relative to the config file' })),
});

const NatsUrl = Type.String({ pattern: '^(nats|tls)://[^\\s/]+$', description: 'a NATS server URL such as nats://192.0.2.1:4222' });
const NatsName = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'a JetStream name of letters, digits, dash, underscore (at most 64)' });

const Replication = Obj({
  servers: Type.Array(NatsUrl, { minItems: 1, description: 'NATS server URLs, the POP\'s own first' }),
  stream: Type.Optional(NatsName),
  subjectPrefix: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', description: 'subject tokens of letters, digits, dash, underscore, separated by dots' })),
  replicas: Type.Optional(Type.Integer({ minimum: 1, maximum: 5, description: 'stream replicas 1..5 (at most the cluster size)' })),
  maxAgeMs: Type.Optional(Type.Integer({ minimum: 0, description: 'milliseconds an event stays in the stream; 0: no limit' })),
  duplicateWindowMs: Type.Optional(Ms(120_000, 1000)),
  ackWaitMs: Type.Optional(Ms(30_000, 500)),
  connectTimeoutMs: Type.Optional(Ms(5000, 100)),
  pingIntervalMs: Type.Optional(Ms(5000, 100)),
  reconnect: Type.Optional(Obj({
    waitMs: Type.Optional(Ms(1000, 10)),
    jitterMs: Type.Optional(Ms(200, 0)),
    maxAttempts: Type.Optional(Type.Integer({ minimum: -1, description: 'reconnect attempts per server, -1 for ever' })),
  })),
  pollMs: Type.Optional(Ms(20, 1)),
  publishWindow: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'events published at once, awaiting their acknowledgements' })),
  applyWindow: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'events applied at once' })),
  user: Type.Optional(Type.String({ minLength: 1 })),
  password: Type.Optional(Type.String({ minLength: 1 })),
  token: Type.Optional(Type.String({ minLength: 1 })),
  hosts: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Obj({
    servers: Type.Optional(Type.Array(NatsUrl, { minItems: 1, description: 'NATS server URLs, the POP\'s own first' })),
    consumer: Type.Optional(NatsName),
  }), { description: 'connector name → its own servers and consumer name' })),
}, 'profile replication between POPs through NATS JetStream');

const WorkTypes = Obj({
  default: Type.Optional(Type.String({ minLength: 1 })),
  classes: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), { description: 'class key → work type' })),
});

// ---- web and DNS: the techniques that act before the signalling ------------------------------

const WebTechnique = Type.Union([Type.Literal('http'), Type.Literal('uri')], { description: 'http (redirect to the chosen POP) or uri (the join page)' });
const MeetingName = Type.String({ pattern: '^[^\\s\\x00-\\x1f\\x7f/?#%\\\\]{1,128}$', description: 'a meeting name (up to 128 characters, no spaces, / ? # % or backslash), or prefix*' });

const Web = Obj({
  address: Type.Optional(Address),
  port: Type.Optional(OptPort),
  trustedProxies: Type.Optional(Type.Array(Cidr, { description: 'prefixes of reverse proxies whose X-Forwarded-For is believed' })),
  classes: Type.Optional(Type.Record(Type.String({ minLength: 1 }), WebTechnique, { description: 'browser class key (web, web/<browser>, web/<browser>/<platform>) → http or uri' })),
  linkDeadlineMs: Type.Optional(Ms(600_000, 1000)),
});

const Meeting = Obj({ name: MeetingName, customer: Type.Optional(Name) });

const DomainName = Type.String({
  pattern: '^(?=.{1,253}\\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\\.?$',
  description: 'a domain name such as vc.example.net',
});
const Ttl = Type.Integer({ minimum: 0, maximum: 604800, description: 'seconds, 0..604800' });

const DnsZone = Obj({
  name: DomainName,
  nameservers: Type.Array(DomainName, { minItems: 1, description: 'the NS names of the zone' }),
  hostmaster: Type.Optional(DomainName),
  ttl: Type.Optional(Ttl),
  negativeTtl: Type.Optional(Ttl),
});

const DnsName = Obj({
  name: DomainName,
  answers: Type.Union([
    Type.Literal('servers'), Type.Literal('connectors'), Type.Literal('pops'),
    Type.Array(Address, { minItems: 1 }),
  ], { description: 'servers, connectors, pops, or a list of addresses' }),
  ttl: Type.Optional(Ttl),
  client: Type.Optional(Type.Union([Type.Literal('sip'), Type.Literal('h323'), Type.Literal('web')], { description: 'sip, h323 or web' })),
});

const Dns = Obj({
  address: Type.Optional(Address),
  port: Type.Optional(OptPort),
  zones: Type.Array(DnsZone, { minItems: 1 }),
  names: Type.Optional(Type.Array(DnsName)),
  popAddresses: Type.Optional(Type.Record(Name, Type.Array(Address, { minItems: 1 }), { description: 'POP name → its public addresses' })),
  udpFactor: Type.Optional(Type.Number({ minimum: 1, maximum: 64, description: 'a factor between 1 and 64' })),
  tcpIdleMs: Type.Optional(Ms(10_000, 100)),
  maxTcpConnections: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  maxTcpConnectionsPerSource: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 10, description: 'DNS TCP connections one source address may hold' })),
});

const Limits = Obj({
  exempt: Type.Optional(Type.Array(Cidr, { description: 'prefixes no per-source limit or flood guard applies to (load testers, partner gateways)' })),
  flood: Type.Optional(Obj({
    requestsPerSecond: Type.Optional(Type.Integer({ minimum: 0, default: 100, description: 'requests per second one source may send before it is ignored; 0: no flood guard' })),
    windowMs: Type.Optional(Ms(2000, 100)),
    blockMs: Type.Optional(Ms(60_000, 100)),
  })),
  maxUnsentBytes: Type.Optional(Type.Integer({ minimum: 65536, default: 1_048_576, description: 'bytes a peer may leave unread before it is disconnected, at least 65536' })),
}, 'per-source limits and the flood guard of the public ports');

// ---- Failover: the layer-1 pair of each POP (keepalived), its BGP speaker (BIRD), the cross-POP policy ----

const IfName = Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,15}$', description: 'a network interface name (at most 15 characters)' });
const Ipv4 = Type.String({ format: 'ipv4', description: 'an IPv4 address' });
const Asn = Type.Integer({ minimum: 1, maximum: 4294967295, description: 'an AS number 1..4294967295' });

const PairMember = Obj({
  name: Name,
  address: Ipv4,
  priority: Type.Integer({ minimum: 1, maximum: 254, description: 'a VRRP priority 1..254' }),
});

const Pair = Obj({
  interface: IfName,
  vrid: Type.Integer({ minimum: 1, maximum: 255, description: 'a VRRP virtual router id 1..255' }),
  advertIntervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 40950, multipleOf: 10, description: 'milliseconds in steps of 10 (VRRPv3 centiseconds), 10..40950' })),
  unicast: Type.Optional(Type.Boolean({ description: 'true: adverts go to the other member by unicast; false: VRRP multicast' })),
  members: Type.Array(PairMember, { minItems: 2, maxItems: 2, description: 'exactly two members' }),
  check: Type.Optional(Obj({
    intervalS: Type.Optional(Type.Integer({ minimum: 1, maximum: 60, description: 'whole seconds 1..60 (keepalived runs track scripts at most once a second)' })),
    fall: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
    rise: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 })),
  }, 'the track script on layer 1 /health')),
}, 'the layer-1 pair: keepalived VRRP instance holding the well-known address');

const BgpNeighbour = Obj({
  address: Ipv4,
  as: Asn,
  bfd: Type.Optional(Type.Boolean({ description: 'true to tie the session to a BFD session' })),
});

const Bgp = Obj({
  localAs: Asn,
  routerId: Ipv4,
  localAddress: Type.Optional(Ipv4),
  edgeInterface: IfName,
  prefix: Type.Optional(Type.String({ pattern: '^[0-9.]+/[0-9]{1,2}$', description: 'an IPv4 prefix a.b.c.d/len' })),
  neighbours: Type.Array(BgpNeighbour, { minItems: 1 }),
  holdTimeS: Type.Optional(Type.Integer({ minimum: 3, maximum: 65535, description: 'seconds, at least 3' })),
  bfd: Type.Optional(Obj({
    intervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 10000, description: 'milliseconds 10..10000' })),
    multiplier: Type.Optional(Type.Integer({ minimum: 2, maximum: 255, description: 'missed packets before down, 2..255' })),
  })),
}, 'the BGP speaker at the POP edge that announces the well-known prefix');

const PopFailover = Obj({ pop: Name, pair: Pair, bgp: Bgp });

const Failover = Obj({
  primary: Name,
  anycast: Type.Optional(Type.Boolean({ description: 'true: every healthy POP announces, the others with a prepended AS path' })),
  failback: Type.Optional(Type.Union([Type.Literal('automatic'), Type.Literal('manual')], { description: 'automatic or manual' })),
  backupPrepend: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: 'AS path prepends of a backup announcement, 1..10' })),
  watch: Type.Optional(Obj({
    intervalMs: Type.Optional(Ms(100, 20)),
    timeoutMs: Type.Optional(Ms(250, 10)),
    fall: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    rise: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    minConnectorWorkers: Type.Optional(Type.Integer({ minimum: 1, description: 'healthy connector workers needed, at least 1' })),
  }, 'the health-driven announcement at each POP edge')),
  pops: Type.Array(PopFailover, { minItems: 1 }),
}, 'layer-1 pairs, BGP speakers and the cross-POP policy');
// ---- end of failover ----

export const ConfigSchema = Obj({
  pop: Name,
  wellKnown: WellKnown,
  pops: Type.Array(Pop, { minItems: 1 }),
  layer1: Type.Optional(Layer1),
  connectors: Type.Array(Connector, { minItems: 1 }),
  servers: Type.Array(Server, { minItems: 1 }),
  sip: Type.Optional(Sip),
  h323: Type.Optional(H323),
  techniques: Type.Optional(Techniques),
  workTypes: Type.Optional(WorkTypes),
  networks: Type.Optional(Type.Array(Network)),
  customers: Type.Optional(Type.Array(Customer)),
  geo: Type.Optional(Geo),
  profiles: Type.Optional(Profiles),
  learning: Type.Optional(Learning),
  admin: Type.Optional(Admin),
  serverHealth: Type.Optional(ServerHealth),
  replication: Type.Optional(Replication),
  runAs: Type.Optional(Obj({ user: Type.String(), group: Type.Optional(Type.String()) })),
  web: Type.Optional(Web),
  meetings: Type.Optional(Type.Array(Meeting)),
  dns: Type.Optional(Dns),
  limits: Type.Optional(Limits),
  failover: Type.Optional(Failover),
});

export type RawConfig = Static<typeof ConfigSchema>;
export type TechniqueName = Static<typeof Technique>;
export type AnySchema = TSchema;
