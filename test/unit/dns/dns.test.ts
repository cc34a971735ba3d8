import t from 'tap';
import fc from 'fast-check';
import dnsPacket, { type Packet } from 'dns-packet';
import { parseConfig } from '../../../shared/config/load.js';
import { permute, type Entry, type Preference } from '../../../layer2/dns/permute.js';
import { Responder, type Outcome } from '../../../layer2/dns/responder.js';
import { Authority } from '../../../layer2/dns/zone.js';

// Addresses here are data only: nothing binds in this file.
const CONFIG = `
pop: ams
wellKnown: { address: 192.0.2.1 }
pops:
  - { name: ams }
  - { name: sgp }
  - { name: hq, kind: micro, reachableFrom: [acme] }
connectors:
  - { name: a, pop: ams, address: 192.0.2.2, workers: 1, ports: { sip: 25060, health: 18080 } }
  - { name: b, pop: sgp, address: 198.51.100.2, workers: 1, ports: { sip: 25060, health: 18080 } }
servers:
  - { name: ams-1, pop: ams, address: 192.0.2.11 }
  - { name: ams-2, pop: ams, address: 192.0.2.12 }
  - { name: ams-6, pop: ams, address: "2001:db8::12" }
  - { name: sgp-1, pop: sgp, address: 198.51.100.11 }
  - { name: hq-1, pop: hq, address: 203.0.113.11 }
networks: [ { name: acme, prefixes: [203.0.113.0/24] } ]
dns:
  port: 15353
  udpFactor: 3
  zones:
    - { name: VC.Example.NET., nameservers: [ns1.vc.example.net, ns.elsewhere.org], ttl: 7200, negativeTtl: 30 }
    - { name: other.test, nameservers: [ns.other.test] }
  names:
    - { name: ns1.vc.example.net, answers: [192.0.2.53, "2001:db8::53"] }
    - { name: sip.vc.example.net, answers: servers, ttl: 20 }
    - { name: meet.vc.example.net, answers: connectors }
    - { name: deep.east.vc.example.net, answers: pops }
    - { name: vc.example.net, answers: [192.0.2.80] }
    - { name: many.other.test, answers: [${Array.from({ length: 40 }, (_, i) => `10.9.0.${i + 1}`).join(', ')}] }
  popAddresses: { ams: [192.0.2.100], sgp: [198.51.100.100] }
`;
const config = parseConfig(CONFIG, 'dns.yaml');

t.test('config: names lower case without the trailing dot, defaults filled, names outside every zone refused', async (t) => {
  t.equal(config.dns.zones[0]!.name, 'vc.example.net');
  t.equal(config.dns.zones[0]!.hostmaster, 'hostmaster.vc.example.net');
  t.equal(config.dns.names[1]!.ttl, 20);
  t.equal(config.dns.names[2]!.ttl, 30);
  t.equal(config.dns.udpFactor, 3);
  t.equal(config.dns.enabled, true);
  t.throws(() => parseConfig(CONFIG.replace('name: sip.vc.example.net', 'name: sip.example.com'), 'dns.yaml'), { code: 'VCP_ERR_CONFIG', message: /dns\.names\[1\]\.name.*inside one of the zones/ });
  t.throws(() => parseConfig(CONFIG.replace('udpFactor: 3', 'udpFactor: 0.5'), 'dns.yaml'), { message: /dns\.udpFactor.*between 1 and 64/ });
  t.throws(() => parseConfig(CONFIG.replace('popAddresses: { ams:', 'popAddresses: { nowhere:'), 'dns.yaml'), { message: /popAddresses\.nowhere/ });
  t.equal(parseConfig(CONFIG.replace('port: 15353', 'port: 0'), 'x').dns.enabled, false);
});

const e = (address: string, pop: string, key = address): Entry => ({ address, pop, key });

t.test('permute: closest POP first, equals rotate, unusable left out, nothing left → the fallback', async (t) => {
  const entries = [e('a1', 'ams', 'ams-1'), e('a2', 'ams', 'ams-2'), e('s1', 'sgp', 'sgp-1'), e('h1', 'hq', 'hq-1'), e('a3', 'ams', 'ams-3')];
  const cases: Array<[string, Preference, number, string[]]> = [
    ['ams first, turn 0', { pops: ['ams', 'sgp'] }, 0, ['a1', 'a2', 'a3', 's1']],
    ['ams first, turn 1 rotates the equals', { pops: ['ams', 'sgp'] }, 1, ['a2', 'a3', 'a1', 's1']],
    ['ams first, turn 3 is turn 0 again', { pops: ['ams', 'sgp'] }, 3, ['a1', 'a2', 'a3', 's1']],
    ['sgp first', { pops: ['sgp', 'ams'] }, 0, ['s1', 'a1', 'a2', 'a3']],
    ['a POP the decision did not name is left out', { pops: ['sgp'] }, 5, ['s1']],
    ['an unusable server is left out', { pops: ['ams', 'sgp'], usable: new Set(['ams-2', 'sgp-1']) }, 0, ['a2', 's1']],
    ['the micro POP when the decision names it', { pops: ['hq', 'ams'] }, 0, ['h1', 'a1', 'a2', 'a3']],
    ['nothing usable: every entry, by POP name', { pops: [] }, 0, ['a1', 'a2', 'a3', 'h1', 's1']],
    ['duplicate POPs in the preference count once', { pops: ['sgp', 'sgp', 'ams'] }, 0, ['s1', 'a1', 'a2', 'a3']],
  ];
  for (const [why, pref, turn, want] of cases) t.same(permute(entries, pref, turn).map((x) => x.address), want, why);
  t.same(permute(entries, { pops: [] }, 0, entries.filter((x) => x.pop !== 'hq')).map((x) => x.address), ['a1', 'a2', 'a3', 's1'], 'the fallback list');
  t.same(permute([e('x', 'ams'), e('x', 'sgp'), e('y', 'sgp')], { pops: ['sgp', 'ams'] }, 0).map((x) => x.address), ['x', 'y'], 'an address listed twice keeps its first place');
  t.same(permute([], { pops: ['ams'] }, 0), []);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom('p', 'q', 'r'), fc.integer({ min: 0, max: 30 })), { maxLength: 20 }), fc.nat(), (raw, turn) => {
      const list = raw.map(([pop, n]) => e(`${pop}${n}`, pop));
      const out = permute(list, { pops: ['q', 'p', 'r'] }, turn);
      const distinct = new Set(list.map((x) => x.address));
      // every address once; POPs in preference order
      const rank = (p: string): number => ['q', 'p', 'r'].indexOf(p);
      return out.length === distinct.size && out.every((x, i) => i === 0 || rank(out[i - 1]!.pop) <= rank(x.pop));
    }),
    { numRuns: 1000 },
  );
});

interface Asked {
  source: string;
  client: string;
}
function responder(pops: string[] = ['ams', 'sgp'], usable?: Set<string>): { r: Responder; asked: Asked[] } {
  const asked: Asked[] = [];
  const r = new Responder({
    authority: new Authority(config, 1_700_000_000_000),
    order: (source, client) => {
      asked.push({ source, client });
      return { pops, ...(usable ? { usable } : {}) };
    },
    udpFactor: config.dns.udpFactor,
  });
  return { r, asked };
}

const query = (name: string, type: string, extra: Partial<Packet> = {}): Buffer =>
  dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: type as 'A', name, class: 'IN' }], ...extra });
const edns = (size = 4096, version = 0): Partial<Packet> => ({ additionals: [{ type: 'OPT', name: '.', udpPayloadSize: size, ednsVersion: version, flags: 0, options: [] } as never] });

/** What dns-packet decodes, as these tests read it. */
interface Rec {
  type: string;
  name: string;
  data?: unknown;
  ttl?: number;
  flags?: number;
  udpPayloadSize?: number;
  extendedRcode?: number;
}
interface Decoded {
  id: number;
  rcode: string;
  opcode: string;
  flag_aa: boolean;
  flag_rd: boolean;
  flag_ra: boolean;
  flag_tc: boolean;
  questions: Array<{ name: string; type: string }>;
  answers: Rec[];
  authorities: Rec[];
  additionals: Rec[];
  size: number;
  truncated: boolean;
}

function answered(o: Outcome): Decoded {
  if ('dropped' in o) throw new Error(`dropped: ${o.error}`);
  const d = dnsPacket.decode(o.response) as unknown as Omit<Decoded, 'size' | 'truncated'>;
  return { ...d, size: o.response.length, truncated: o.truncated };
}

t.test('A, AAAA and ANY for served names, ordered for the resolver, authoritative, TTLs as configured', async (t) => {
  const { r, asked } = responder(['sgp', 'ams']);
  const a = answered(r.respond(query('sip.vc.example.net', 'A'), '203.0.113.50', 'udp'));
  t.equal(a.rcode, 'NOERROR');
  t.ok(a.flag_aa, 'authoritative');
  t.ok(a.flag_rd, 'RD copied');
  t.notOk(a.flag_ra, 'no recursion here');
  t.equal(a.id, 4242);
  t.same(a.answers!.map((x) => x.data), ['198.51.100.11', '192.0.2.11', '192.0.2.12'], 'sgp first, then ams; no IPv6 in an A answer');
  t.same(a.answers!.map((x) => (x as { ttl: number }).ttl), [20, 20, 20]);
  t.same(asked, [{ source: '203.0.113.50', client: 'sip' }]);
  const b = answered(r.respond(query('sip.vc.example.net', 'A'), '203.0.113.50', 'udp'));
  t.same(b.answers!.map((x) => x.data), ['198.51.100.11', '192.0.2.12', '192.0.2.11'], 'the next query: the equals of ams rotated');
  const six = answered(r.respond(query('sip.vc.example.net', 'AAAA'), '203.0.113.50', 'udp'));
  t.same(six.answers!.map((x) => x.data), ['2001:db8::12']);
  const any = answered(r.respond(query('sip.vc.example.net', 'ANY'), '203.0.113.50', 'tcp'));
  t.equal(any.answers!.length, 4);
  const meet = answered(r.respond(query('meet.vc.example.net', 'A'), '203.0.113.50', 'udp'));
  t.same(meet.answers!.map((x) => x.data), ['198.51.100.2', '192.0.2.2'], 'connectors of the preferred POPs');
  const deep = answered(r.respond(query('deep.east.vc.example.net', 'A'), '203.0.113.50', 'udp'));
  t.same(deep.answers!.map((x) => x.data), ['198.51.100.100', '192.0.2.100'], 'POP addresses');
  const ns1 = answered(r.respond(query('ns1.vc.example.net', 'A'), '203.0.113.50', 'udp'));
  t.same(ns1.answers!.map((x) => x.data), ['192.0.2.53'], 'fixed addresses');
});

t.test('the decision leaves out unusable servers; nothing usable → every address outside micro POPs', async (t) => {
  const some = answered(responder(['ams'], new Set(['ams-2', 'ams'])).r.respond(query('sip.vc.example.net', 'A'), '192.0.2.200', 'udp'));
  t.same(some.answers!.map((x) => x.data), ['192.0.2.12']);
  const none = answered(responder([]).r.respond(query('sip.vc.example.net', 'A'), '192.0.2.200', 'udp'));
  t.same(none.answers!.map((x) => x.data), ['192.0.2.11', '192.0.2.12', '198.51.100.11'], 'hq-1 (micro POP) not handed out');
  const micro = answered(responder(['hq', 'ams']).r.respond(query('sip.vc.example.net', 'A'), '203.0.113.9', 'udp'));
  t.equal(micro.answers![0]!.data, '203.0.113.11', 'the micro POP first for its own network');
});

t.test('zone apex: SOA, NS with glue, addresses; case of the question kept (0x20)', async (t) => {
  const { r } = responder();
  const soa = answered(r.respond(query('vc.EXAMPLE.net', 'SOA'), '192.0.2.200', 'udp'));
  t.equal(soa.questions![0]!.name, 'vc.EXAMPLE.net', 'the question as asked');
  const data = soa.answers![0]!.data as { mname: string; rname: string; serial: number; minimum: number };
  t.equal(data.mname.toLowerCase(), 'ns1.vc.example.net', 'names compressed against the question keep its case');
  t.equal(data.rname.toLowerCase(), 'hostmaster.vc.example.net');
  t.equal(data.serial, 1_700_000_000);
  t.equal(data.minimum, 30);
  t.equal((soa.answers![0] as { ttl: number }).ttl, 7200);
  const ns = answered(r.respond(query('vc.example.net', 'NS'), '192.0.2.200', 'tcp'));
  t.same(ns.answers!.map((x) => x.data), ['ns1.vc.example.net', 'ns.elsewhere.org']);
  t.same(ns.additionals!.map((x) => x.data), ['192.0.2.53', '2001:db8::53'], 'glue for the nameserver inside the zone');
  const nsUdp = answered(r.respond(query('vc.example.net', 'NS'), '192.0.2.200', 'udp'));
  t.ok(nsUdp.flag_tc, 'the same over UDP from a 32-octet query exceeds 3 × 32 octets: truncated');
  const apexA = answered(r.respond(query('vc.example.net', 'A'), '192.0.2.200', 'udp'));
  t.same(apexA.answers!.map((x) => x.data), ['192.0.2.80']);
  const otherApex = answered(r.respond(query('other.test', 'A'), '192.0.2.200', 'udp'));
  t.equal(otherApex.answers!.length, 0, 'an apex without addresses: NODATA');
  t.equal(otherApex.authorities![0]!.type, 'SOA');
});

t.test('NXDOMAIN, NODATA (also for empty non-terminals), REFUSED outside the zones and for transfers', async (t) => {
  const { r } = responder();
  const cases: Array<[string, string, string, boolean]> = [
    ['nope.vc.example.net', 'A', 'NXDOMAIN', true],
    ['sip.vc.example.net', 'MX', 'NOERROR', true],
    ['sip.vc.example.net', 'TXT', 'NOERROR', true],
    ['east.vc.example.net', 'A', 'NOERROR', true],
    ['x.deep.east.vc.example.net', 'A', 'NXDOMAIN', true],
    ['example.net', 'A', 'REFUSED', false],
    ['vc.example.net.evil.org', 'A', 'REFUSED', false],
    ['xvc.example.net', 'A', 'REFUSED', false],
    ['vc.example.net', 'AXFR', 'REFUSED', false],
    ['vc.example.net', 'IXFR', 'REFUSED', false],
  ];
  for (const [name, type, rcode, soa] of cases) {
    const a = answered(r.respond(query(name, type), '192.0.2.200', 'udp'));
    t.equal(a.rcode, rcode, `${name} ${type}`);
    t.equal(a.answers!.length, 0, `${name} ${type}: no answers`);
    t.equal(a.authorities!.length === 1 && a.authorities![0]!.type === 'SOA', soa, `${name} ${type}: SOA in authority`);
    if (soa) t.equal((a.authorities![0] as { ttl: number }).ttl, 30, 'negative TTL');
  }
  const chaos = answered(r.respond(dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'TXT', name: 'version.bind', class: 'CH' }] }), '192.0.2.200', 'udp'));
  t.equal(chaos.rcode, 'REFUSED', 'CHAOS class');
});

t.test('malformed queries: FORMERR when the header can be read, dropped otherwise; other opcodes NOTIMP', async (t) => {
  const { r } = responder();
  const ok = query('sip.vc.example.net', 'A');
  t.same(r.respond(Buffer.from([1, 2, 3]), 's', 'udp'), { dropped: 'short', error: 'shorter than a DNS header' });
  const resp = Buffer.from(ok);
  resp[2]! |= 0x80;
  t.match(r.respond(resp, 's', 'udp'), { dropped: 'response' });
  const rcodeOf = (b: Buffer): string => answered(r.respond(b, 's', 'udp')).rcode!;
  t.equal(rcodeOf(Buffer.concat([ok, Buffer.from([0])])), 'FORMERR', 'a byte after the question');
  const two = Buffer.from(ok);
  two.writeUInt16BE(2, 4);
  t.equal(rcodeOf(two), 'FORMERR', 'two questions announced');
  const zero = Buffer.from(ok);
  zero.writeUInt16BE(0, 4);
  t.equal(rcodeOf(zero), 'FORMERR', 'no question');
  t.equal(rcodeOf(ok.subarray(0, ok.length - 2)), 'FORMERR', 'question cut short');
  const ptr = Buffer.concat([ok.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
  t.equal(rcodeOf(ptr), 'FORMERR', 'a compression pointer in the question');
  const withAnswer = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'sip.vc.example.net' }], answers: [{ type: 'A', name: 'x', data: '1.2.3.4' }] });
  t.equal(rcodeOf(withAnswer), 'FORMERR', 'a query carrying answers');
  const twoOpt = dnsPacket.encode({ type: 'query', id: 9, questions: [{ type: 'A', name: 'sip.vc.example.net' }], additionals: [...edns().additionals!, ...edns().additionals!] });
  t.equal(rcodeOf(twoOpt), 'FORMERR', 'two OPT records');
  const badAr = Buffer.from(ok);
  badAr.writeUInt16BE(1, 10);
  t.equal(rcodeOf(badAr), 'FORMERR', 'an additional record announced and missing');
  const optQ = query('sip.vc.example.net', 'OPT');
  t.equal(rcodeOf(optQ), 'FORMERR', 'OPT as the question type');
  const notify = Buffer.from(ok);
  notify[2] = (notify[2]! & 0x87) | (4 << 3);
  const n = answered(r.respond(notify, 's', 'udp'));
  t.equal(n.rcode, 'NOTIMP');
  t.equal(n.opcode, 'NOTIFY', 'opcode echoed');
  const f = answered(r.respond(two, 's', 'udp'));
  t.equal(f.id, 4242, 'the id of a malformed query is kept');
  t.equal(f.questions!.length, 0);
});

t.test('EDNS: OPT echoed with our payload size, DO copied, BADVERS for version 1', async (t) => {
  const { r } = responder();
  const a = answered(r.respond(query('sip.vc.example.net', 'A', edns(4096)), 's', 'udp'));
  const opt = a.additionals!.find((x) => x.type === 'OPT') as { udpPayloadSize: number; flags: number; extendedRcode: number } | undefined;
  t.equal(opt?.udpPayloadSize, 1232);
  const withDo = query('sip.vc.example.net', 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: dnsPacket.DNSSEC_OK, options: [] } as never] });
  const d = answered(r.respond(withDo, 's', 'udp'));
  t.equal(((d.additionals![0] as { flags: number }).flags & 0x8000) !== 0, true, 'DO copied');
  const v1 = answered(r.respond(query('sip.vc.example.net', 'A', edns(4096, 1)), 's', 'udp'));
  const o = v1.additionals![0] as { extendedRcode: number };
  t.equal(o.extendedRcode, 1, 'BADVERS = extended rcode 1 with header rcode 0');
  t.equal(v1.rcode, 'NOERROR');
  t.equal(v1.answers!.length, 0);
});

t.test('UDP responses stay within query size × factor (and the client payload size): truncated with TC=1', async (t) => {
  const { r } = responder();
  const q = query('many.other.test', 'A');
  const small = answered(r.respond(q, 's', 'udp'));
  t.ok(small.truncated && small.flag_tc, 'TC set');
  t.ok(small.size <= q.length * 3, `${small.size} ≤ ${q.length} × 3`);
  t.equal(small.answers!.length, 0);
  t.equal(small.questions![0]!.name, 'many.other.test');
  const qe = query('many.other.test', 'A', edns(4096));
  const big = answered(r.respond(qe, 's', 'udp'));
  t.ok(big.truncated && big.size <= qe.length * 3, 'EDNS does not lift the amplification bound');
  t.ok(big.additionals!.some((x) => x.type === 'OPT'), 'OPT kept in a truncated response');
  const tcp = answered(r.respond(q, 's', 'tcp'));
  t.notOk(tcp.flag_tc);
  t.equal(tcp.answers!.length, 40, 'TCP: every address');
  const padded = dnsPacket.encode({ type: 'query', id: 7, questions: [{ type: 'A', name: 'many.other.test' }], additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, options: [{ code: 12, data: Buffer.alloc(300) }] } as never] });
  const fits = answered(r.respond(padded, 's', 'udp'));
  t.notOk(fits.truncated, 'a larger query may get a larger answer');
  t.equal(fits.answers!.length, 40);
  t.ok(fits.size <= Math.min(padded.length * 3, 4096));
  const plain = answered(r.respond(query('sip.vc.example.net', 'A'), 's', 'udp'));
  t.ok(plain.size <= 512, 'no EDNS: at most 512 octets');
  t.ok(plain.size < 12 + 24 + 3 * 30, 'answers point at the question name (compression)');
});

t.test('fuzz: any bytes get an answer within the bound or a counted drop, never an exception', async () => {
  const { r } = responder();
  const check = (b: Buffer): boolean => {
    const o = r.respond(b, '192.0.2.9', 'udp');
    if ('dropped' in o) return b.length < 12 || (b[2]! & 0x80) !== 0;
    if (o.response.length > Math.max(512, b.length * 3) && o.response.length > b.length * 3) return false;
    return o.response.readUInt16BE(0) === b.readUInt16BE(0) && (o.response[2]! & 0x80) !== 0;
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (a) => check(Buffer.from(a))), { numRuns: 20_000 });
  const names = fc.constantFrom('sip.vc.example.net', 'vc.example.net', 'many.other.test', 'nope.vc.example.net', 'example.com', 'deep.east.vc.example.net');
  const types = fc.constantFrom('A', 'AAAA', 'ANY', 'NS', 'SOA', 'MX', 'TXT');
  fc.assert(
    fc.property(names, types, fc.boolean(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), (name, type, withEdns, flips) => {
      const b = Buffer.from(query(name, type, withEdns ? edns(4096) : {}));
      for (const [at, v] of flips) b[at % b.length] = v;
      const o = r.respond(b, '192.0.2.9', 'udp');
      if ('dropped' in o) return true;
      return o.response.length <= Math.max(b.length * 3, 12) || o.response.length <= b.length * 3;
    }),
    { numRuns: 20_000 },
  );
});
