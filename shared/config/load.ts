import { readFileSync } from 'node:fs';
import { isIP, isIPv4 } from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { FormatRegistry } from '@sinclair/typebox';
import { Value, ValueErrorType, type ValueError } from '@sinclair/typebox/value';
import { isMap, isSeq, parseDocument, LineCounter, type Document } from 'yaml';
import { ConfigError } from '../errors.js';
import { applyIdentity, identityFromEnv, type IdentityFlags } from './identity.js';
import { dirname, resolve as resolvePath } from 'node:path';
import { parsePrefix } from '../net/prefix.js';
import { ConfigSchema, Dns, Web, type RawConfig } from './schema.js';
import type { Config, ConnectorConfig, DnsConfig, FailoverConfig, MeetingConfig, PairMemberConfig, ReplicationConfig, WebConfig, WorkerEndpoint } from './types.js';

if (!FormatRegistry.Has('ip')) FormatRegistry.Set('ip', (v) => isIP(v) !== 0);
if (!FormatRegistry.Has('ipv4')) FormatRegistry.Set('ipv4', (v) => isIPv4(v));
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(v) && !Number.isNaN(Date.parse(v)));
if (!FormatRegistry.Has('cidr')) FormatRegistry.Set('cidr', (v) => parsePrefix(v) !== undefined);

/** Cost per call in capacity units of the work types a server lists without costs. */
export const DEFAULT_WORK_COSTS: Readonly<Record<string, number>> = { reflector: 1, transcoder: 4 };

/** Resolve the path of config/default.yaml whether running from source or from dist/. */
export function defaultConfigPath(): string {
  const here = fileURLToPath(import.meta.url);
  const marker = here.includes('/dist/') ? here.slice(0, here.lastIndexOf('/dist/')) : here.slice(0, here.lastIndexOf('/shared/'));
  return `${marker}/config/default.yaml`;
}

/**
 * Read, validate and resolve a config file as seen from this node: `identity` (the --pop/--node
 * flags) wins over VCP_POP/VCP_NODE in the environment (see identity.ts).
 */
export function loadConfigFile(file: string, identity: IdentityFlags = {}): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  const env = identityFromEnv();
  return applyIdentity(parseConfig(text, file), { pop: identity.pop ?? env.pop, node: identity.node ?? env.node });
}

/** Parse and validate YAML text; `file` names the source in every error. */
export function parseConfig(text: string, file: string): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0];
    throw new ConfigError(file, pos ? `line ${pos.line} column ${pos.col}` : '', `YAML syntax: ${e.message.split('\n')[0]}`);
  }
  const raw: unknown = doc.toJS();
  const where = (path: string): string => locate(doc, lines, path);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(file, '', 'expected a mapping at the top level');
  // Fixed defaults live in the schema: filled in first, then the whole is checked.
  const filled: unknown = Value.Default(ConfigSchema, raw);
  const first = Value.Errors(ConfigSchema, filled).First();
  if (first) throw new ConfigError(file, where(first.path), describe(first));
  return resolve(filled as RawConfig, file, where);
}

function describe(e: ValueError): string {
  const desc = (e.schema as { expected?: string }).expected;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return 'unknown key (not part of the configuration schema)';
    case ValueErrorType.ObjectRequiredProperty:
      return 'required key is missing';
    case ValueErrorType.Union:
      return `expected ${desc ?? 'one of the allowed forms'}, got ${JSON.stringify(e.value)}`;
    default:
      return `expected ${desc ?? e.message.replace(/^Expected /, '').toLowerCase()}, got ${JSON.stringify(e.value)}`;
  }
}

/** JSON pointer → `a.b[0].c (line N)`. */
function locate(doc: Document, lines: LineCounter, pointer: string): string {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let dotted = '';
  for (const p of parts) dotted += /^\d+$/.test(p) ? `[${p}]` : dotted ? `.${p}` : p;
  let node: unknown = doc.contents;
  let offset: number | undefined;
  for (const p of parts) {
    if (isMap(node)) {
      const pair = node.items.find((it) => (it.key as { value?: unknown } | null)?.value === p);
      if (!pair) break;
      offset = (pair.key as { range?: [number, number, number] } | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node)) {
      node = node.items[Number(p)];
      offset = (node as { range?: [number, number, number] } | null)?.range?.[0] ?? offset;
    } else break;
  }
  if (offset === undefined) offset = (doc.contents as { range?: [number, number, number] } | null)?.range?.[0];
  return offset === undefined ? dotted : `${dotted || '(root)'} (line ${lines.linePos(offset).line})`;
}

function resolve(raw: RawConfig, file: string, where: (p: string) => string): Config {
  const fail = (pointer: string, expected: string): never => {
    throw new ConfigError(file, where(pointer), expected);
  };
  const popNames = new Set<string>();
  raw.pops.forEach((p, i) => {
    if (popNames.has(p.name)) fail(`/pops/${i}/name`, `a unique POP name ("${p.name}" appears twice)`);
    popNames.add(p.name);
  });
  if (!popNames.has(raw.pop)) fail('/pop', `the name of a POP listed under pops (${[...popNames].join(', ')})`);

  const used = new Map<string, string>();
  const claim = (address: string, proto: string, port: number, owner: string, pointer: string): void => {
    if (port === 0) return;
    const key = `${address}|${proto}|${port}`;
    const prev = used.get(key);
    if (prev) fail(pointer, `a ${proto} port not already used by ${prev} (${address}:${port})`);
    used.set(key, owner);
  };
  const wellKnown = raw.wellKnown;
  claim(wellKnown.address, 'tcp', wellKnown.sip, 'wellKnown.sip', '/wellKnown/sip');
  claim(wellKnown.address, 'udp', wellKnown.sip, 'wellKnown.sip', '/wellKnown/sip');
  claim(wellKnown.address, 'tcp', wellKnown.h323, 'wellKnown.h323', '/wellKnown/h323');
  claim(wellKnown.address, 'udp', wellKnown.ras, 'wellKnown.ras', '/wellKnown/ras');

  const cores = availableParallelism();
  const connectorNames = new Set<string>();
  const connectors: ConnectorConfig[] = raw.connectors.map((c, i) => {
    if (connectorNames.has(c.name)) fail(`/connectors/${i}/name`, `a unique connector name ("${c.name}" appears twice)`);
    connectorNames.add(c.name);
    if (!popNames.has(c.pop)) fail(`/connectors/${i}/pop`, `the name of a POP listed under pops, got "${c.pop}"`);
    const workers = c.workers === 'auto' ? cores : c.workers;
    const base = { ...c.ports, sip: c.ports.sip ?? 0, health: c.ports.health ?? 0 };
    if (base.sip === 0) fail(`/connectors/${i}/ports`, 'a plain sip port (key sip): workers use it towards backends');
    if (base.health === 0) fail(`/connectors/${i}/ports`, 'a health port (key health): layer 1 probes it');
    const endpoints: WorkerEndpoint[] = [];
    for (let w = 0; w < workers; w++) {
      const at = (p: number): number => (p === 0 ? 0 : p + w);
      const ep: WorkerEndpoint = {
        id: `${c.name}/${w}`,
        connector: c.name,
        pop: c.pop,
        index: w,
        address: c.address,
        sipProxied: at(base.sipProxied),
        sip: at(base.sip),
        h323Proxied: at(base.h323Proxied),
        h323: at(base.h323),
        rasProxied: at(base.rasProxied),
        ras: at(base.ras),
        health: at(base.health),
      };
      for (const [key, proto] of [['sipProxied', 'both'], ['sip', 'both'], ['h323Proxied', 'tcp'], ['h323', 'tcp'], ['rasProxied', 'udp'], ['ras', 'udp'], ['health', 'tcp']] as const) {
        const port = ep[key];
        if (port > 65535) fail(`/connectors/${i}/ports/${key}`, `a base port that leaves room for ${workers} workers (worker ${w} would need ${port})`);
        if (proto !== 'udp') claim(c.address, 'tcp', port, `connector ${ep.id} ${key}`, `/connectors/${i}/ports/${key}`);
        if (proto !== 'tcp') claim(c.address, 'udp', port, `connector ${ep.id} ${key}`, `/connectors/${i}/ports/${key}`);
      }
      endpoints.push(ep);
    }
    return { name: c.name, pop: c.pop, address: c.address, workers, endpoints };
  });

  const serverNames = new Set<string>();
  const servers = raw.servers.map((s, i) => {
    if (serverNames.has(s.name)) fail(`/servers/${i}/name`, `a unique server name ("${s.name}" appears twice)`);
    serverNames.add(s.name);
    if (!popNames.has(s.pop)) fail(`/servers/${i}/pop`, `the name of a POP listed under pops, got "${s.pop}"`);
    return { ...s, workTypes: workCosts(s.workTypes), probe: s.probe ?? (s.sipPort === 0 ? 'tcp' : 'options') };
  });
  const popOrServer = (name: string): boolean => popNames.has(name) || serverNames.has(name);

  const networkNames = new Set<string>();
  const customerNames = new Set(raw.customers.map((c) => c.name));
  raw.networks.forEach((n, i) => {
    if (networkNames.has(n.name)) fail(`/networks/${i}/name`, `a unique network name ("${n.name}" appears twice)`);
    networkNames.add(n.name);
    if (n.customer && !customerNames.has(n.customer)) fail(`/networks/${i}/customer`, `the name of a customer listed under customers, got "${n.customer}"`);
    n.accessible.forEach((a, j) => {
      if (!popOrServer(a)) fail(`/networks/${i}/accessible/${j}`, `the name of a POP or a server, got "${a}"`);
    });
  });
  raw.pops.forEach((p, i) => p.reachableFrom.forEach((n, j) => {
    if (!networkNames.has(n)) fail(`/pops/${i}/reachableFrom/${j}`, `the name of a network listed under networks, got "${n}"`);
  }));
  const seenCustomers = new Set<string>();
  raw.customers.forEach((c, i) => {
    if (seenCustomers.has(c.name)) fail(`/customers/${i}/name`, `a unique customer name ("${c.name}" appears twice)`);
    seenCustomers.add(c.name);
    if (c.microPop && !popNames.has(c.microPop.pop)) fail(`/customers/${i}/microPop/pop`, `the name of a POP listed under pops, got "${c.microPop.pop}"`);
  });
  const geo = raw.geo;
  geo.rules.forEach((r, i) => {
    if (!popNames.has(r.pop)) fail(`/geo/rules/${i}/pop`, `the name of a POP listed under pops, got "${r.pop}"`);
  });
  geo.overrides.forEach((o, i) => {
    if (o.pop !== undefined && !popNames.has(o.pop)) fail(`/geo/overrides/${i}/pop`, `the name of a POP listed under pops, got "${o.pop}"`);
    if (o.pop === undefined && o.country === undefined) fail(`/geo/overrides/${i}`, 'a country or a pop for this prefix');
  });
  const base = dirname(resolvePath(file));
  const at = (p: string): string => resolvePath(base, p);
  const lower = <V>(m: Record<string, V>): Record<string, V> => Object.fromEntries(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v]));

  return {
    file,
    pop: raw.pop,
    wellKnown,
    pops: raw.pops.map((p) => ({ ...p, web: (p.web ?? '').replace(/\/+$/, '') })),
    layer1: {
      ...raw.layer1,
      pop: raw.layer1.pop ?? raw.pop,
      bind: raw.layer1.bind ?? wellKnown.address,
      control: resolveControl(raw.layer1.control, fail, at),
      trustedSources: [...new Set([...(raw.layer1.addresses ?? ['127.0.0.0/8', '::1/128']), ...connectors.map((c) => c.address), ...(raw.failover?.pops ?? []).flatMap((p) => p.pair.members.map((m) => m.address))])],
    },
    connectors,
    servers,
    sip: raw.sip,
    h323: { ...raw.h323, ras: { ...raw.h323.ras, gatekeeperId: raw.h323.ras.gatekeeperId ?? `vcproxy-${raw.pop}` } },
    techniques: { default: raw.techniques.default, classes: lower(raw.techniques.classes) },
    workTypes: { default: raw.workTypes.default, classes: lower(raw.workTypes.classes) },
    networks: raw.networks,
    customers: raw.customers,
    geo: {
      database: geo.database ? at(geo.database) : '',
      rules: geo.rules.map((r) => ({ country: r.country ?? '', continent: r.continent ?? '', pop: r.pop })),
      overrides: geo.overrides.map((o) => ({ prefix: o.prefix, country: o.country ?? '', pop: o.pop ?? '' })),
    },
    profiles: { ...raw.profiles, path: at(raw.profiles.path) },
    learning: raw.learning,
    admin: { ...raw.admin, address: raw.admin.address ?? '', token: raw.admin.token, tokenFile: at(raw.admin.tokenFile) },
    serverHealth: raw.serverHealth,
    tokens: { ...raw.tokens, keyFile: at(raw.tokens.keyFile), ...(raw.tokens.previousKeyFile ? { previousKeyFile: at(raw.tokens.previousKeyFile) } : {}) },
    service: raw.service,
    replication: raw.replication ? resolveReplication(raw.replication, connectors, fail) : undefined,
    runAs: raw.runAs ? { user: raw.runAs.user, group: raw.runAs.group ?? raw.runAs.user } : undefined,
    limits: raw.limits,
    ...resolveWebDns(raw, fail, popNames, customerNames),
    ...(raw.failover ? { failover: resolveFailover(raw, popNames, fail) } : {}),
  };
}

export const isLoopback = (a: string): boolean => a === '::1' || a.startsWith('127.') || a === 'localhost';

/**
 * Where a connector's admin API listens: `admin.address` when set; otherwise loopback — the
 * connector's own address when that is a loopback one (several connectors on one test host each
 * keep their own), else 127.0.0.1.
 */
export const adminAddress = (config: Config, connector: { address: string }): string =>
  config.admin.address || (isLoopback(connector.address) ? connector.address : '127.0.0.1');

/** Layer 1's control API: loopback by default; anywhere else only with a token. */
function resolveControl(c: RawConfig['layer1']['control'], fail: (pointer: string, expected: string) => never, at: (p: string) => string): Config['layer1']['control'] {
  if (c.port !== 0 && !isLoopback(c.address) && c.token === undefined && c.tokenFile === undefined) {
    fail('/layer1/control', `a token (token, or tokenFile) when the control API listens on ${c.address}, which is not loopback: whoever reaches it could drain every member`);
  }
  return { ...c, ...(c.tokenFile !== undefined ? { tokenFile: at(c.tokenFile) } : {}) };
}

// ---- Failover: pairs, BGP speakers and the cross-POP policy (schema.ts `Failover`) ----

const member = (m: PairMemberConfig): PairMemberConfig => ({ name: m.name, address: m.address, priority: m.priority });

/** a.b.c.d → 32-bit unsigned number. */
const ipv4Number = (a: string): number => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);

function resolveFailover(raw: RawConfig, popNames: Set<string>, fail: (pointer: string, expected: string) => never): FailoverConfig {
  const f = raw.failover!;
  const wk = raw.wellKnown.address;
  if (!isIPv4(wk)) fail('/wellKnown/address', 'an IPv4 address when a failover section is present (the POP edges announce an IPv4 prefix)');
  const health = raw.layer1.healthListener;
  if (health.address !== '0.0.0.0' || health.port === 0) {
    fail('/layer1/healthListener', 'layer1.healthListener on 0.0.0.0 with a port when a failover section is present: the POP edge probes every layer-1 member at <member address>:<health port>/health');
  }
  if (!popNames.has(f.primary)) fail('/failover/primary', `the name of a POP listed under pops (${[...popNames].join(', ')}), got "${f.primary}"`);
  const seenPops = new Set<string>();
  const seenNodes = new Map<string, string>();
  const seenAs = new Map<number, string>();
  const pops = f.pops.map((p, i) => {
    const at = `/failover/pops/${i}`;
    if (!popNames.has(p.pop)) fail(`${at}/pop`, `the name of a POP listed under pops (${[...popNames].join(', ')}), got "${p.pop}"`);
    if (seenPops.has(p.pop)) fail(`${at}/pop`, `one failover entry per POP ("${p.pop}" appears twice)`);
    seenPops.add(p.pop);
    const [m0, m1] = p.pair.members;
    p.pair.members.forEach((m, j) => {
      const prev = seenNodes.get(m.name);
      if (prev) fail(`${at}/pair/members/${j}/name`, `a node name unique in the whole topology ("${m.name}" is already a member in POP ${prev})`);
      seenNodes.set(m.name, p.pop);
    });
    if (m0!.address === m1!.address) fail(`${at}/pair/members/1/address`, `an address different from the other member's (${m0!.address})`);
    const b = p.bgp;
    const prevAs = seenAs.get(b.localAs);
    if (prevAs) fail(`${at}/bgp/localAs`, `an AS number no other POP uses (${b.localAs} is POP ${prevAs}'s): the POPs tell each other apart by the origin AS of the announcement`);
    seenAs.set(b.localAs, p.pop);
    b.neighbours.forEach((n, j) => {
      if (n.as === b.localAs) fail(`${at}/bgp/neighbours/${j}/as`, `an external neighbour: an AS different from localAs ${b.localAs}`);
    });
    const prefix = b.prefix ?? `${wk}/32`;
    const [net, lenText] = prefix.split('/') as [string, string];
    const len = Number(lenText);
    if (!isIPv4(net) || len < 8 || len > 32) fail(`${at}/bgp/prefix`, `an IPv4 prefix with a length of 8..32, got "${prefix}"`);
    const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    if ((ipv4Number(net) & mask) >>> 0 !== ipv4Number(net)) fail(`${at}/bgp/prefix`, `a prefix without host bits set, got "${prefix}"`);
    if ((ipv4Number(wk) & mask) >>> 0 !== ipv4Number(net)) fail(`${at}/bgp/prefix`, `a prefix that contains the well-known address ${wk}, got "${prefix}"`);
    return {
      pop: p.pop,
      pair: { ...p.pair, members: [member(m0!), member(m1!)] as [PairMemberConfig, PairMemberConfig] },
      bgp: { ...b, localAddress: b.localAddress ?? b.routerId, prefix },
    };
  });
  if (!seenPops.has(f.primary)) fail('/failover/primary', `a POP that has an entry under failover.pops (${[...seenPops].join(', ')}), got "${f.primary}"`);
  return { ...f, pops: [...pops.filter((p) => p.pop === f.primary), ...pops.filter((p) => p.pop !== f.primary)] };
}

function resolveReplication(r: NonNullable<RawConfig['replication']>, connectors: ConnectorConfig[], fail: (pointer: string, expected: string) => never): ReplicationConfig {
  const names = new Set(connectors.map((c) => c.name));
  for (const name of Object.keys(r.hosts)) {
    if (!names.has(name)) fail(`/replication/hosts/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`, `the name of a connector listed under connectors, got "${name}"`);
  }
  if (r.password !== undefined && r.user === undefined) fail('/replication', 'a user with the password');
  if (r.user !== undefined && r.password === undefined) fail('/replication', 'a password with the user');
  if (r.token !== undefined && r.user !== undefined) fail('/replication', 'either token or user and password, not both');
  if (r.maxAgeMs && r.maxAgeMs < r.duplicateWindowMs) fail('/replication/maxAgeMs', 'at least duplicateWindowMs (JetStream keeps a message at least as long as it detects its duplicates)');
  const hosts: ReplicationConfig['hosts'] = {};
  const consumers = new Map<string, string>();
  for (const c of connectors) {
    const h = r.hosts[c.name];
    // NATS names take no dots: a connector "pop.a-1" consumes as "pop_a-1".
    const consumer = h?.consumer ?? c.name.replace(/\./g, '_');
    const other = consumers.get(consumer);
    if (other !== undefined) fail(`/replication/hosts`, `a consumer name per connector: ${other} and ${c.name} would both consume as "${consumer}" (set hosts.<connector>.consumer)`);
    consumers.set(consumer, c.name);
    hosts[c.name] = { servers: h?.servers ?? r.servers, consumer };
  }
  const { user, password, token, hosts: _hosts, ...rest } = r;
  return { ...rest, auth: token !== undefined ? { token } : user !== undefined ? { user, password: password! } : undefined, hosts };
}

// ---- web and DNS ---------------------------------------------------------------------------------

const lowerName = (n: string): string => n.toLowerCase().replace(/\.$/, '');

function resolveWebDns(
  raw: RawConfig,
  fail: (pointer: string, expected: string) => never,
  popNames: ReadonlySet<string>,
  customerNames: ReadonlySet<string>,
): { web: WebConfig; meetings: MeetingConfig[]; dns: DnsConfig } {
  const w = raw.web;
  const classes: Record<string, 'http' | 'uri'> = {};
  for (const [k, v] of Object.entries(w?.classes ?? {})) {
    const key = k.toLowerCase();
    if (key !== 'web' && !key.startsWith('web/')) fail(`/web/classes/${k}`, `a browser class key (web or web/...), got "${k}"`);
    classes[key] = v;
  }
  // Without a web section nothing listens; the keys still read as their defaults.
  const webKeys = w ?? (Value.Default(Web, {}) as NonNullable<RawConfig['web']>);
  const web: WebConfig = { ...webKeys, enabled: w !== undefined && webKeys.port !== 0, address: webKeys.address ?? '', classes };
  raw.meetings.forEach((m, i) => {
    if (m.customer && !customerNames.has(m.customer)) fail(`/meetings/${i}/customer`, `the name of a customer listed under customers, got "${m.customer}"`);
  });

  const d = raw.dns ?? (Value.Default(Dns, { zones: [] }) as NonNullable<RawConfig['dns']>);
  const zones = d.zones.map((z, i) => {
    const name = lowerName(z.name);
    return { ...z, name, nameservers: z.nameservers.map(lowerName), hostmaster: lowerName(z.hostmaster ?? `hostmaster.${name}`), index: i };
  });
  const zoneSeen = new Set<string>();
  zones.forEach((z) => {
    if (zoneSeen.has(z.name)) fail(`/dns/zones/${z.index}/name`, `a zone listed once ("${z.name}" appears twice)`);
    zoneSeen.add(z.name);
  });
  const inZone = (n: string): boolean => zones.some((z) => n === z.name || n.endsWith(`.${z.name}`));
  for (const pop of Object.keys(d.popAddresses)) {
    if (!popNames.has(pop)) fail(`/dns/popAddresses/${pop}`, `the name of a POP listed under pops, got "${pop}"`);
  }
  const nameSeen = new Set<string>();
  const names = d.names.map((n, i) => {
    const name = lowerName(n.name);
    if (!inZone(name)) fail(`/dns/names/${i}/name`, `a name inside one of the zones (${zones.map((z) => z.name).join(', ')}), got "${n.name}"`);
    if (nameSeen.has(name)) fail(`/dns/names/${i}/name`, `a name listed once ("${name}" appears twice)`);
    nameSeen.add(name);
    if (n.answers === 'pops' && Object.keys(d.popAddresses).length === 0) fail(`/dns/names/${i}/answers`, 'dns.popAddresses for answers: pops');
    return { ...n, name };
  });
  const dns: DnsConfig = {
    ...d,
    enabled: raw.dns !== undefined && d.port !== 0,
    address: d.address ?? '',
    zones: zones.map(({ index: _i, ...z }) => z),
    names,
  };
  return { web, meetings: raw.meetings, dns };
}

function workCosts(w: string[] | Record<string, number> | undefined): Record<string, number> {
  if (w === undefined) return { reflector: DEFAULT_WORK_COSTS.reflector! };
  if (Array.isArray(w)) return Object.fromEntries(w.map((t) => [t, DEFAULT_WORK_COSTS[t] ?? 1]));
  return { ...w };
}
