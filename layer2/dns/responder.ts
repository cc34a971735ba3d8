import dnsPacket from 'dns-packet';
import { DnsFormatError } from './errors.js';
import { permute, type Preference } from './permute.js';
import { Flag, HEADER_BYTES, QClass, QType, RCode, readHeader, readQuestion, Writer, type Header, type Question } from './wire.js';
import type { AddressEntry, Authority, ServedName, Zone } from './zone.js';

/** The UDP payload size this responder advertises in its OPT record (the DNS flag day 2020 figure). */
export const OUR_UDP_SIZE = 1232;
const CLASSIC_UDP = 512;

export type Transport = 'udp' | 'tcp';

export type Outcome =
  | { response: Buffer; rcode: RCode; qtype: number; truncated: boolean; error?: string }
  | { dropped: 'short' | 'response'; error: string };

export interface ResponderOptions {
  authority: Authority;
  /** POP preference for a resolver's address and the client type a name is decided for. */
  order: (source: string, client: ServedName['client']) => Preference;
  /** A UDP response is at most the query's size times this. */
  udpFactor: number;
}

interface Edns {
  version: number;
  udpSize: number;
  dnssecOk: boolean;
}

interface Rr {
  owner: string;
  type: number;
  ttl: number;
  data: (w: Writer, pointers: ReadonlyMap<string, number>) => void;
}

/**
 * The authoritative answer to one query, a function of the bytes, the resolver's address and the
 * transport (plus the rotation turn it keeps): A/AAAA for served names ordered for the resolver,
 * SOA/NS at zone apexes, NXDOMAIN/NODATA with the SOA inside a zone, REFUSED outside, FORMERR for a
 * malformed query whose header can be read, NOTIMP for other opcodes, BADVERS for EDNS versions
 * above 0. Over UDP the response never exceeds the query's size times `udpFactor` (nor the client's
 * payload size): a larger one goes out as header and question with TC=1.
 */
export class Responder {
  readonly #a: Authority;
  readonly #order: ResponderOptions['order'];
  readonly #factor: number;
  #turn = 0;

  constructor(o: ResponderOptions) {
    this.#a = o.authority;
    this.#order = o.order;
    this.#factor = o.udpFactor;
  }

  respond(query: Buffer, source: string, transport: Transport): Outcome {
    if (query.length < HEADER_BYTES) return { dropped: 'short', error: 'shorter than a DNS header' };
    const h = readHeader(query);
    if (h.flags & Flag.QR) return { dropped: 'response', error: 'a response, not a query' };
    if (h.opcode !== 0) return this.#bare(h, RCode.NOTIMP, undefined);
    if (h.qd !== 1) return this.#bare(h, RCode.FORMERR, undefined, `${h.qd} questions`);
    let q: Question;
    let edns: Edns | undefined;
    try {
      q = readQuestion(query);
      if (h.an !== 0 || h.ns !== 0) throw new DnsFormatError('a query with answer or authority records');
      edns = h.ar > 0 ? readEdns(query) : q.end === query.length ? undefined : fail('bytes after the question');
    } catch (err) {
      return this.#bare(h, RCode.FORMERR, undefined, err instanceof DnsFormatError ? err.message : 'records that cannot be read');
    }
    if (edns && edns.version > 0) return this.#bare(h, RCode.BADVERS, q, undefined, edns);
    const limit = transport === 'tcp' ? 65535 : Math.min(Math.max(CLASSIC_UDP, edns?.udpSize ?? CLASSIC_UDP), Math.floor(query.length * this.#factor));
    return this.#answer(h, q, edns, source, limit);
  }

  #answer(h: Header, q: Question, edns: Edns | undefined, source: string, limit: number): Outcome {
    if (q.type === QType.OPT) return this.#bare(h, RCode.FORMERR, q, 'OPT as the question type', edns);
    if (q.klass !== QClass.IN) return this.#bare(h, RCode.REFUSED, q, undefined, edns);
    const found = this.#a.lookup(q.name, q.odd);
    if (found.kind === 'refused' || q.type === QType.AXFR || q.type === QType.IXFR) return this.#bare(h, RCode.REFUSED, q, undefined, edns);
    const zone = found.zone;
    const answers: Rr[] = [];
    const extra: Rr[] = [];
    const addresses = (s: ServedName | undefined): void => {
      if (!s) return;
      const want4 = q.type === QType.A || q.type === QType.ANY;
      const want6 = q.type === QType.AAAA || q.type === QType.ANY;
      if (!want4 && !want6) return;
      for (const e of this.#ordered(s, source)) {
        if ((e.family === 4 && want4) || (e.family === 6 && want6)) answers.push(addressRr(q.name, s.ttl, e));
      }
    };
    if (found.kind === 'apex') {
      if (q.type === QType.SOA || q.type === QType.ANY) answers.push(soaRr(zone, zone.ttl));
      if (q.type === QType.NS || q.type === QType.ANY) {
        for (const ns of zone.nameservers) {
          answers.push({ owner: zone.name, type: QType.NS, ttl: zone.ttl, data: (w, p) => w.name(ns, p) });
          for (const e of zone.glue.get(ns) ?? []) extra.push(addressRr(ns, zone.ttl, e));
        }
      }
      addresses(found.served);
    } else if (found.kind === 'name') {
      addresses(found.served);
    }
    const rcode = found.kind === 'nxdomain' ? RCode.NXDOMAIN : RCode.NOERROR;
    const authority = answers.length === 0 ? [soaRr(zone, Math.min(zone.ttl, zone.negativeTtl))] : [];

    const ptrs = suffixPointers(q);
    const full = write(h, q, rcode, true, answers, authority, extra, edns, ptrs, false);
    if (full.length <= limit) return { response: full, rcode, qtype: q.type, truncated: false };
    return { response: write(h, q, rcode, true, [], [], [], edns, ptrs, true), rcode, qtype: q.type, truncated: true };
  }

  #ordered(s: ServedName, source: string): AddressEntry[] {
    const turn = this.#turn++ & 0x3fffffff;
    if (s.kind === 'static') return permute(s.entries, { pops: [''] }, turn);
    return permute(s.entries, this.#order(source, s.client), turn, s.fallback);
  }

  /** A response without answers: the question echoed when it could be read, OPT when the query had one. */
  #bare(h: Header, rcode: RCode, q: Question | undefined, error?: string, edns?: Edns): Outcome {
    const response = write(h, q, rcode, false, [], [], [], edns, q ? suffixPointers(q) : new Map(), false);
    return { response, rcode, qtype: q?.type ?? 0, truncated: false, ...(error ? { error } : {}) };
  }
}

function fail(message: string): never {
  throw new DnsFormatError(message);
}

/** EDNS(0) from the additional section, read with dns-packet; at most one OPT, owned by the root. */
function readEdns(query: Buffer): Edns | undefined {
  let pkt: ReturnType<typeof dnsPacket.decode>;
  try {
    pkt = dnsPacket.decode(query);
  } catch {
    throw new DnsFormatError('additional records that cannot be read');
  }
  if (dnsPacket.decode.bytes !== query.length) throw new DnsFormatError('bytes after the last record');
  let edns: Edns | undefined;
  for (const r of pkt.additionals ?? []) {
    if (r.type !== 'OPT') continue;
    if (edns) throw new DnsFormatError('more than one OPT record');
    if (r.name !== '.' && r.name !== '') throw new DnsFormatError('OPT record not owned by the root');
    const o = r as { udpPayloadSize?: number; ednsVersion?: number; flags?: number };
    edns = { version: o.ednsVersion ?? 0, udpSize: o.udpPayloadSize ?? CLASSIC_UDP, dnssecOk: ((o.flags ?? 0) & 0x8000) !== 0 };
  }
  return edns;
}

/** Every suffix of the question name → where it starts in the message (the question sits at offset 12). */
function suffixPointers(q: Question): Map<string, number> {
  const m = new Map<string, number>();
  let rest = q.name;
  for (const off of q.labelOffsets) {
    m.set(rest, off);
    const dot = rest.indexOf('.');
    rest = dot < 0 ? '' : rest.slice(dot + 1);
  }
  return m;
}

function addressRr(owner: string, ttl: number, e: AddressEntry): Rr {
  return { owner, type: e.family === 6 ? QType.AAAA : QType.A, ttl, data: (w) => w.bytes(e.bytes) };
}

function soaRr(z: Zone, ttl: number): Rr {
  return {
    owner: z.name,
    type: QType.SOA,
    ttl,
    data: (w, p) => {
      w.name(z.nameservers[0]!, p);
      w.name(z.hostmaster, p);
      w.u32(z.serial);
      w.u32(3600);
      w.u32(600);
      w.u32(86400 * 14);
      w.u32(z.negativeTtl);
    },
  };
}

function write(
  h: Header, q: Question | undefined, rcode: RCode, aa: boolean, answers: Rr[], authority: Rr[], extra: Rr[],
  edns: Edns | undefined, pointers: ReadonlyMap<string, number>, truncated: boolean,
): Buffer {
  const w = new Writer(512);
  const flags = Flag.QR | (h.flags & (0x7800 | Flag.RD | Flag.CD)) | (aa ? Flag.AA : 0) | (truncated ? Flag.TC : 0) | (rcode & 0xf);
  w.u16(h.id);
  w.u16(flags);
  w.u16(q ? 1 : 0);
  w.u16(answers.length);
  w.u16(authority.length);
  w.u16(extra.length + (edns ? 1 : 0));
  if (q) w.bytes(q.raw);
  for (const list of [answers, authority, extra]) {
    for (const r of list) {
      w.name(r.owner, pointers);
      w.u16(r.type);
      w.u16(QClass.IN);
      w.u32(r.ttl);
      w.sized(() => r.data(w, pointers));
    }
  }
  if (edns) {
    // OPT: root owner, class = our payload size, TTL = extended rcode, version 0, DO echoed (RFC 3225).
    w.u8(0);
    w.u16(QType.OPT);
    w.u16(OUR_UDP_SIZE);
    w.u8(rcode >> 4);
    w.u8(0);
    w.u16(edns.dnssecOk ? 0x8000 : 0);
    w.u16(0);
  }
  return w.done();
}
