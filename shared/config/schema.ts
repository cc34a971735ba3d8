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

const Pop = Obj({
  name: Name,
  kind: Type.Optional(Type.Union([Type.Literal('core'), Type.Literal('network'), Type.Literal('micro')], { description: 'one of core, network, micro' })),
  region: Type.Optional(Type.String()),
});

const Server = Obj({
  name: Name,
  pop: Name,
  address: Address,
  sipPort: Type.Optional(OptPort),
  sipTransport: Type.Optional(Type.Union([Type.Literal('udp'), Type.Literal('tcp')], { description: 'udp or tcp' })),
  h323Port: Type.Optional(OptPort),
  capacity: Type.Optional(Type.Integer({ minimum: 1, description: 'capacity units, at least 1' })),
  workTypes: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
  builtin: Type.Optional(Type.Boolean({ description: 'true when `npm start` runs the built-in backend for this server' })),
});

const ConnectorPorts = Obj({
  sipProxied: Type.Optional(OptPort),
  sip: Type.Optional(OptPort),
  h323Proxied: Type.Optional(OptPort),
  h323: Type.Optional(OptPort),
  rasProxied: Type.Optional(OptPort),
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
  })),
  udp: Type.Optional(Obj({
    idleTimeoutMs: Type.Optional(Ms(120000, 100)),
    maxFlows: Type.Optional(Type.Integer({ minimum: 1 })),
  })),
  metrics: Type.Optional(Obj({ address: Type.Optional(Address), port: Type.Optional(OptPort) })),
  control: Type.Optional(Obj({ address: Type.Optional(Address), port: Type.Optional(OptPort) })),
});

const Sip = Obj({
  maxMessageBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1048576, default: 65536 })),
  headerTimeoutMs: Type.Optional(Ms(5000, 100)),
  idleTimeoutMs: Type.Optional(Ms(300000, 1000)),
  t1Ms: Type.Optional(Ms(500, 10)),
  backendTimeoutMs: Type.Optional(Ms(4000, 50)),
  transactionTimeoutMs: Type.Optional(Ms(32000, 100)),
  redirectTokenParam: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]*$' })),
});

const Techniques = Obj({
  default: Type.Optional(Technique),
  classes: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Technique, { description: 'class key (sip, sip/vendor, sip/vendor/product, ...) → technique' })),
});

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
  techniques: Type.Optional(Techniques),
  runAs: Type.Optional(Obj({ user: Type.String(), group: Type.Optional(Type.String()) })),
  metrics: Type.Optional(Obj({ address: Type.Optional(Address), port: Type.Optional(OptPort) })),
  failover: Type.Optional(Failover),
});

export type RawConfig = Static<typeof ConfigSchema>;
export type TechniqueName = Static<typeof Technique>;
export type AnySchema = TSchema;
