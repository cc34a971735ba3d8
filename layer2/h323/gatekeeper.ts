import type { ConnectorConfig, H323Config, ServerConfig, WellKnownConfig, WorkerEndpoint } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { Decision } from '../decide/types.js';
import type { Router } from '../route/router.js';
import type { ClientIdentity } from '../identify.js';
import { H323Error } from './errors.js';
import { transportAddress, type AliasAddress, type EndpointType, type TransportAddress, type VendorIdentifier } from './h225.js';
import type { H323Metrics } from './metrics.js';
import {
  buildAcf,
  buildArj,
  buildDcf,
  buildGcf,
  buildLcf,
  buildLrj,
  buildRcf,
  buildRrj,
  buildUcf,
  buildUrj,
  decodeRas,
  encodeRas,
  RAS_ABBREVIATIONS,
  rasBody,
  type AlternateGatekeeper,
  type RasMessage,
} from './ras.js';
import { newEndpointId, RegistrationTable, type Registration } from './registrations.js';
import { AddressSet } from '../../shared/net/address-set.js';
import { aliasDomain, meetingOf } from './rewrite.js';
import type { RasPeer } from './transport.js';
import { identifyH323 } from './vendor.js';
import type { PerObject } from './per/types.js';

export interface GatekeeperOptions {
  ras: H323Config['ras'];
  wellKnown: WellKnownConfig;
  connectors: readonly ConnectorConfig[];
  servers: readonly ServerConfig[];
  endpoint: WorkerEndpoint;
  router: Router;
  metrics: H323Metrics;
  log: Logger;
}

const UNKNOWN: ClientIdentity = { protocol: 'h323', vendor: '', product: '', version: '' };

/**
 * RAS on UDP: the connector as the gatekeeper of endpoints that register. GRQ → GCF, RRQ → RCF
 * (registration table with time to live), URQ → UCF, LRQ → LCF/LRJ, ARQ → ACF steering the call
 * (through this connector, or straight to the chosen server for classes taken by redirect), DRQ →
 * DCF. GCF and RCF list the other POPs' connectors as alternate gatekeepers; a class taken by
 * redirect whose POP is another gets RRJ/ARJ with `altGKInfo` naming that POP. A datagram that
 * does not decode is dropped and counted.
 *
 * RAS is UDP, so a source address is all a datagram proves. A registration belongs to the address
 * its RRQ came from: an alias that a live registration of another address holds is refused
 * (RRJ duplicateAlias), keep-alives, URQ and ARQ naming a registration count only from that address,
 * and endpoint identifiers are random. An RRQ with more than `maxAliases` aliases, a datagram over
 * `maxDatagramBytes`, a source over `maxRegistrationsPerSource` are refused before anything is
 * stored; LRQs are answered only for configured neighbours and the deployment's connectors.
 */
export class Gatekeeper {
  readonly table: RegistrationTable;
  readonly #c: { ras: H323Config['ras']; wellKnown: WellKnownConfig; servers: readonly ServerConfig[] };
  readonly #ep: WorkerEndpoint;
  readonly #router: Router;
  readonly #m: H323Metrics;
  readonly #log: Logger;
  /** RAS address (plain port) of each connector worker, by POP. */
  readonly #gatekeepers = new Map<string, Array<{ ip: string; port: number }>>();
  #seq = 0;
  #sweeper: NodeJS.Timeout | undefined;
  /** Whose LRQs are answered: `h323.ras.neighbours` and every connector of the deployment. */
  #neighbours: AddressSet;

  constructor(o: GatekeeperOptions) {
    this.#c = { ras: o.ras, wellKnown: o.wellKnown, servers: o.servers };
    this.#ep = o.endpoint;
    this.#router = o.router;
    this.#m = o.metrics;
    this.#log = o.log;
    this.table = new RegistrationTable(o.ras.maxRegistrations, o.ras.maxRegistrationsPerSource);
    this.#neighbours = new AddressSet([]);
    this.reconfigure(o.connectors);
    o.metrics.live.registrations = (): number => this.table.size;
  }

  /** The alternate gatekeepers of each POP and the neighbours, from the connectors (again on a reload). */
  reconfigure(connectors: readonly ConnectorConfig[]): void {
    this.#neighbours = new AddressSet([...this.#c.ras.neighbours, ...connectors.map((c) => c.address)]);
    this.#gatekeepers.clear();
    for (const c of connectors) {
      const list = this.#gatekeepers.get(c.pop) ?? [];
      for (const e of c.endpoints) if (e.ras > 0) list.push({ ip: e.address, port: e.ras });
      this.#gatekeepers.set(c.pop, list);
    }
  }

  start(): void {
    this.#sweeper = setInterval(() => this.table.sweep(Date.now()), 5000);
    this.#sweeper.unref();
  }

  stop(): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
  }

  onDatagram(bytes: Buffer, peer: RasPeer): void {
    if (bytes.length > this.#c.ras.maxDatagramBytes) {
      this.#m.rasDropped.labels('too_large').inc();
      return;
    }
    let m: RasMessage;
    try {
      m = decodeRas(bytes);
    } catch (err) {
      if (!(err instanceof H323Error)) throw err;
      this.#m.rasDropped.labels('malformed').inc();
      this.#log.debug({ code: err.code, reason: err.message, from: `${peer.remoteAddress}:${peer.remotePort}` }, 'RAS datagram that does not decode dropped');
      return;
    }
    this.#m.ras.labels(RAS_ABBREVIATIONS[m.choice] ?? 'other').inc();
    const out = this.#answer(m, peer, Date.now());
    if (out) peer.reply(encodeRas(out));
    else if (m.choice.endsWith('Request') && m.choice !== 'locationRequest') this.#m.rasDropped.labels('unsupported').inc();
  }

  #answer(m: RasMessage, peer: RasPeer, now: number): RasMessage | undefined {
    const v = rasBody(m) ?? {};
    switch (m.choice) {
      case 'gatekeeperRequest': {
        const et = v.endpointType as EndpointType | undefined;
        const d = this.#decide(peer, 'GRQ', identifyH323(et?.vendor), v.endpointAlias as AliasAddress[] | undefined, '');
        return buildGcf(m, { rasAddress: this.#ownRas(peer), gatekeeperIdentifier: this.#c.ras.gatekeeperId, alternates: this.#alternates(d) });
      }
      case 'registrationRequest':
        return this.#register(m, v, peer, now);
      case 'unregistrationRequest':
        return this.#unregister(m, v, peer, now);
      case 'locationRequest': {
        if (!this.#neighbours.has(peer.remoteAddress)) {
          // Not a neighbour: no answer at all (an LRJ would tell a scanner there is a gatekeeper here).
          this.#m.rasDropped.labels('not_neighbour').inc();
          return undefined;
        }
        const dest = (v.destinationInfo as AliasAddress[] | undefined) ?? [];
        const reg = this.#registered(dest, now);
        if (reg?.callSignal[0]) return buildLcf(m, { callSignalAddress: reg.callSignal[0], rasAddress: transportAddress(reg.rasAddress, reg.rasPort) });
        if (this.#c.servers.some((s) => s.h323Port > 0)) return buildLcf(m, { callSignalAddress: this.#ownSignal(peer), rasAddress: this.#ownRas(peer) });
        return buildLrj(m, 'requestDenied');
      }
      case 'admissionRequest':
        return this.#admit(m, v, peer, now);
      case 'disengageRequest':
        return buildDcf(m);
      default:
        return undefined;
    }
  }

  /** The live registration named by `id`, if it belongs to the address this datagram came from. */
  #registrant(id: unknown, peer: RasPeer, now: number): Registration | undefined {
    const key = endpointIdOf(id);
    const r = key ? this.table.byId(key, now) : undefined;
    return r && r.rasAddress === peer.remoteAddress ? r : undefined;
  }

  #refuse(m: RasMessage, reason: string, peer: RasPeer, detail: Record<string, unknown> = {}): void {
    this.#m.rasRefused.labels(reason).inc();
    this.#log.debug({ ras: RAS_ABBREVIATIONS[m.choice], reason, from: `${peer.remoteAddress}:${peer.remotePort}`, ...detail }, 'RAS request refused');
  }

  #register(m: RasMessage, v: PerObject, peer: RasPeer, now: number): RasMessage {
    const ras = this.#c.ras;
    const ttl = this.#ttl(v.timeToLive);
    const gk = ras.gatekeeperId;
    if (v.keepAlive === true) {
      // A lightweight RRQ refreshes a registration of its own source; anything else needs a full one.
      const r = this.#registrant(v.endpointIdentifier, peer, now);
      if (!r) {
        if (this.table.byId(endpointIdOf(v.endpointIdentifier), now)) this.#refuse(m, 'not_registrant', peer);
        return buildRrj(m, 'fullRegistrationRequired');
      }
      r.expires = now + ttl * 1000;
      r.rasPort = peer.remotePort;
      return buildRcf(m, { endpointIdentifier: r.endpointId, callSignalAddress: [this.#ownSignal(peer)], gatekeeperIdentifier: gk, timeToLive: ttl });
    }
    const aliases = (v.terminalAlias as AliasAddress[] | undefined) ?? [];
    if (aliases.length > ras.maxAliases) {
      this.#refuse(m, 'too_many_aliases', peer, { aliases: aliases.length });
      return buildRrj(m, 'resourceUnavailable');
    }
    const vendor = (v.endpointVendor as VendorIdentifier | undefined) ?? (v.terminalType as EndpointType | undefined)?.vendor;
    const identity = identifyH323(vendor);
    // An identifier presented from another address is not this endpoint's: it registers anew.
    const existing = this.#registrant(v.endpointIdentifier, peer, now);
    const taken = this.table.conflicts(aliases, peer.remoteAddress, now, existing?.endpointId);
    if (taken.length > 0) {
      this.#refuse(m, 'duplicate_alias', peer, { taken: taken.length });
      // A few of them say why; listing thousands would make the RRJ a reflection amplifier.
      return buildRrj(m, 'duplicateAlias', { duplicates: taken.slice(0, 16) });
    }
    if (!existing && this.table.sourceFull(peer.remoteAddress)) {
      this.#refuse(m, 'source_full', peer);
      return buildRrj(m, 'resourceUnavailable');
    }
    if (!existing && this.table.full) {
      this.#refuse(m, 'table_full', peer);
      return buildRrj(m, 'resourceUnavailable');
    }
    const d = this.#decide(peer, 'RRQ', identity, aliases, '');
    const away = this.#elsewhere(d);
    if (away) return buildRrj(m, 'resourceUnavailable', { alternates: away });
    const reg: Registration = {
      endpointId: existing?.endpointId ?? newEndpointId(this.#ep.id),
      aliases,
      callSignal: (v.callSignalAddress as TransportAddress[] | undefined) ?? [],
      rasAddress: peer.remoteAddress,
      rasPort: peer.remotePort,
      identity,
      expires: now + ttl * 1000,
    };
    this.table.add(reg);
    this.#log.info({ endpointId: reg.endpointId, aliases: aliases.length, from: `${peer.remoteAddress}:${peer.remotePort}`, ttl }, 'endpoint registered');
    return buildRcf(m, {
      endpointIdentifier: reg.endpointId,
      callSignalAddress: [this.#ownSignal(peer)],
      gatekeeperIdentifier: gk,
      terminalAlias: aliases,
      alternates: this.#alternates(d),
      timeToLive: ttl,
    });
  }

  /** URQ: by identifier or by alias, for registrations of the address it came from only. */
  #unregister(m: RasMessage, v: PerObject, peer: RasPeer, now: number): RasMessage {
    const id = endpointIdOf(v.endpointIdentifier);
    let removed = 0;
    let foreign = 0;
    const drop = (r: Registration | undefined): void => {
      if (!r) return;
      if (r.rasAddress !== peer.remoteAddress) foreign++;
      else if (this.table.remove(r.endpointId)) removed++;
    };
    if (id) drop(this.table.byId(id, now));
    else for (const a of (v.endpointAlias as AliasAddress[] | undefined) ?? []) drop(this.table.byAlias(a, now));
    if (removed > 0) return buildUcf(m);
    if (foreign > 0) {
      this.#refuse(m, 'not_registrant', peer);
      return buildUrj(m, 'permissionDenied');
    }
    return buildUrj(m, 'notCurrentlyRegistered');
  }

  #admit(m: RasMessage, v: PerObject, peer: RasPeer, now: number): RasMessage {
    const reg = this.#registrant(v.endpointIdentifier, peer, now);
    const dest = (v.destinationInfo as AliasAddress[] | undefined) ?? [];
    if (!reg) {
      const d = this.#decide(peer, 'ARQ', UNKNOWN, (v.srcInfo as AliasAddress[] | undefined) ?? [], meetingOf(dest[0]));
      const away = this.#elsewhere(d);
      return buildArj(m, 'callerNotRegistered', away ? { alternates: away } : {});
    }
    if (v.answerCall === true) return buildAcf(m, { destCallSignalAddress: this.#ownSignal(peer) });
    const callee = this.#registered(dest, now);
    if (callee?.callSignal[0]) return buildAcf(m, { destCallSignalAddress: callee.callSignal[0] });
    const d = this.#decide(peer, 'ARQ', reg.identity, reg.aliases, meetingOf(dest[0]));
    if (d.technique === 'redirect') {
      // A class taken by redirect goes straight to the chosen server; others come through the connector.
      const server = this.#router.candidates(d, 'h323')[0];
      if (server) return buildAcf(m, { destCallSignalAddress: transportAddress(server.address, server.h323Port) });
    }
    return buildAcf(m, { destCallSignalAddress: this.#ownSignal(peer) });
  }

  #registered(aliases: readonly AliasAddress[], now: number): Registration | undefined {
    for (const a of aliases) {
      const r = this.table.byAlias(a, now);
      if (r) return r;
    }
    return undefined;
  }

  #decide(peer: RasPeer, what: string, identity: ClientIdentity, aliases: readonly AliasAddress[] | undefined, meeting: string): Decision {
    return this.#router.decide({
      protocol: 'h323',
      callId: `${what}-${(++this.#seq).toString(36)}@${peer.remoteAddress}:${peer.remotePort}`,
      identity,
      source: peer.remoteAddress,
      domain: aliasDomain(aliases),
      meeting,
    }).decision;
  }

  /** For a class taken by redirect whose chosen POP is another: that POP's gatekeepers. */
  #elsewhere(d: Decision): AlternateGatekeeper[] | undefined {
    if (d.technique !== 'redirect' || !d.pop || d.pop === this.#ep.pop) return undefined;
    const list = (this.#gatekeepers.get(d.pop) ?? []).slice(0, Math.max(1, this.#c.ras.maxAlternates));
    return list.length ? list.map((g, i) => ({ ...g, priority: i, needToRegister: true })) : undefined;
  }

  /**
   * The other POPs' connectors, in the order the decision ranked their POPs (then configuration
   * order), one worker of each POP before the second of any, at most `maxAlternates`.
   */
  #alternates(d: Decision): AlternateGatekeeper[] {
    const order: string[] = [];
    for (const c of d.candidates) if (c.pop !== this.#ep.pop && !order.includes(c.pop)) order.push(c.pop);
    for (const p of this.#gatekeepers.keys()) if (p !== this.#ep.pop && !order.includes(p)) order.push(p);
    const out: AlternateGatekeeper[] = [];
    const max = this.#c.ras.maxAlternates;
    for (let round = 0; out.length < max; round++) {
      let any = false;
      for (const p of order) {
        const g = this.#gatekeepers.get(p)?.[round];
        if (!g || out.length >= max) continue;
        any = true;
        out.push({ ip: g.ip, port: g.port, priority: out.length, needToRegister: true });
      }
      if (!any) break;
    }
    return out;
  }

  #ttl(asked: unknown): number {
    const max = this.#c.ras.timeToLiveS;
    return typeof asked === 'number' && asked > 0 ? Math.min(asked, max) : max;
  }

  /** Our RAS address as the endpoint reached it. */
  #ownRas(peer: RasPeer): TransportAddress {
    return transportAddress(peer.localAddress, peer.localPort);
  }

  /** Our call signalling address as the endpoint should reach it: the well-known one behind layer 1, else this worker's plain port. */
  #ownSignal(peer: RasPeer): TransportAddress {
    if (peer.proxied || this.#ep.h323 === 0) return transportAddress(peer.proxied ? peer.localAddress : this.#c.wellKnown.address, this.#c.wellKnown.h323);
    return transportAddress(this.#ep.address, this.#ep.h323);
  }
}

/**
 * The endpoint identifier of a RAS request as the table keys it: an endpoint behind GnuGk sends the
 * one it was assigned padded with NULs to 128 characters; the padding is not part of it.
 */
export function endpointIdOf(v: unknown): string {
  return typeof v === 'string' ? v.replace(/\0+$/, '') : '';
}
