import { isIP } from 'node:net';
import type { Config, DnsNameConfig, DnsZoneConfig } from '../../shared/config/types.js';
import { addressBytes } from '../../shared/net/prefix.js';
import type { Entry } from './permute.js';

export interface Zone extends DnsZoneConfig {
  /** SOA serial: the responder's start time in seconds (the data comes from the config file). */
  serial: number;
  /** Fixed addresses of the zone's own nameservers (glue), when the names list them. */
  glue: Map<string, AddressEntry[]>;
}

export interface AddressEntry extends Entry {
  family: 4 | 6;
  bytes: Uint8Array;
}

export interface ServedName {
  name: string;
  zone: Zone;
  ttl: number;
  client: DnsNameConfig['client'];
  /** `static`: the configured list, only rotated; the others are ordered for the resolver */
  kind: 'servers' | 'connectors' | 'pops' | 'static';
  entries: AddressEntry[];
  /** listed when the decision leaves no entry (nothing usable): every entry outside micro POPs */
  fallback: AddressEntry[];
}

export type Lookup =
  | { kind: 'refused' }
  | { kind: 'nxdomain'; zone: Zone }
  /** an empty non-terminal: exists, holds no records (RFC 8020) */
  | { kind: 'empty'; zone: Zone }
  | { kind: 'apex'; zone: Zone; served: ServedName | undefined }
  | { kind: 'name'; zone: Zone; served: ServedName };

function entry(address: string, pop: string, key: string): AddressEntry {
  return { address, pop, key, family: isIP(address) === 6 ? 6 : 4, bytes: addressBytes(address)! };
}

/** The data the responder is authoritative for: its zones and the names in them. */
export class Authority {
  readonly zones: Zone[];
  readonly #names = new Map<string, ServedName>();
  readonly #empty = new Set<string>();

  constructor(c: Config, startedAt = Date.now()) {
    const serial = Math.floor(startedAt / 1000) >>> 0;
    this.zones = c.dns.zones.map((z) => ({ ...z, serial, glue: new Map() })).sort((a, b) => b.name.length - a.name.length);
    const micro = new Set(c.pops.filter((p) => p.kind === 'micro').map((p) => p.name));
    for (const n of c.dns.names) {
      const zone = this.#zoneOf(n.name)!;
      let kind: ServedName['kind'];
      let entries: AddressEntry[];
      if (Array.isArray(n.answers)) {
        kind = 'static';
        entries = n.answers.map((a) => entry(a, '', a));
      } else {
        kind = n.answers;
        if (kind === 'servers') entries = c.servers.map((s) => entry(s.address, s.pop, s.name));
        else if (kind === 'connectors') entries = c.connectors.map((x) => entry(x.address, x.pop, x.pop));
        else entries = Object.entries(c.dns.popAddresses).flatMap(([pop, list]) => list.map((a) => entry(a, pop, pop)));
      }
      // Addresses of micro POPs are for their own networks: the decision lets those through, and an
      // answer that falls back to every address leaves them out.
      const fallback = entries.filter((e) => !micro.has(e.pop));
      this.#names.set(n.name, { name: n.name, zone, ttl: n.ttl, client: n.client, kind, entries, fallback });
      for (let p = parent(n.name); p && p !== zone.name && p.endsWith(zone.name); p = parent(p)) this.#empty.add(p);
    }
    for (const z of this.zones) {
      for (const ns of z.nameservers) {
        const s = this.#names.get(ns);
        if (s?.kind === 'static') z.glue.set(ns, s.entries);
      }
    }
  }

  #zoneOf(name: string): Zone | undefined {
    for (const z of this.zones) if (name === z.name || name.endsWith(`.${z.name}`)) return z;
    return undefined;
  }

  /** What the responder knows about `name` (lower case); `odd`: a label no served name can hold. */
  lookup(name: string, odd = false): Lookup {
    const zone = this.#zoneOf(name);
    if (!zone) return { kind: 'refused' };
    if (odd) return { kind: 'nxdomain', zone };
    const served = this.#names.get(name);
    if (name === zone.name) return { kind: 'apex', zone, served };
    if (served) return { kind: 'name', zone, served };
    if (this.#empty.has(name)) return { kind: 'empty', zone };
    return { kind: 'nxdomain', zone };
  }
}

function parent(name: string): string {
  const i = name.indexOf('.');
  return i < 0 ? '' : name.slice(i + 1);
}
