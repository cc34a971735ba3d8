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
});

export type RawConfig = Static<typeof ConfigSchema>;
export type TechniqueName = Static<typeof Technique>;
export type AnySchema = TSchema;
