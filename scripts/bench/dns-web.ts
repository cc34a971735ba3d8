import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseConfig } from '../../shared/config/load.js';
import { ResolverOrder } from '../../layer2/dns/order.js';
import { Responder } from '../../layer2/dns/responder.js';
import { Authority } from '../../layer2/dns/zone.js';
import { Geo } from '../../layer2/geo/geo.js';
import { LearningEngine } from '../../layer2/learn/engine.js';
import { LiveView } from '../../layer2/learn/live.js';
import { ProfileStore } from '../../layer2/profiles/store.js';
import { WebMetrics } from '../../layer2/web/metrics.js';
import { joinPage } from '../../layer2/web/pages.js';
import { WebService } from '../../layer2/web/service.js';
import { webSections } from '../../layer2/web/start.js';
import { createRouter } from '../../layer2/route/create.js';
import { labDir } from './lab.js';

/**
 * The DNS responder and the web pages without sockets (what one core does per second):
 *   (a) DNS answers: A for a name answered with servers, ordered for the resolver (the order is the
 *       learning engine's decision, kept a second per resolver), with and without EDNS; NXDOMAIN;
 *       a malformed query (FORMERR);
 *   (b) the join page rendered from its view; the whole GET /join (three decisions, three tokens
 *       written to the store).
 *   node dist/scripts/bench/dns-web.js [--queries 300000] [--pages 3000]
 */
const { values } = parseArgs({ options: { queries: { type: 'string', default: '300000' }, pages: { type: 'string', default: '3000' } } });
const QUERIES = Number(values.queries);
const PAGES = Number(values.pages);

const dir = labDir('vcp-bench-dns-');
const config = parseConfig(`
pop: ams
wellKnown: { address: 127.0.9.1 }
pops: [ { name: ams, web: "https://ams.example.net" }, { name: sgp, web: "https://sgp.example.net" } ]
connectors: [ { name: c, pop: ams, address: 127.0.9.2, workers: 1, ports: { sip: 25060, health: 18080 } } ]
servers:
  - { name: ams-1, pop: ams, address: 192.0.2.11 }
  - { name: ams-2, pop: ams, address: 192.0.2.12 }
  - { name: sgp-1, pop: sgp, address: 198.51.100.11 }
  - { name: sgp-2, pop: sgp, address: 198.51.100.12 }
geo: { rules: [ { continent: AS, pop: sgp }, { pop: ams } ] }
profiles: { path: ${join(dir, 'profiles')} }
web: { port: 8080 }
meetings: [ { name: "*" } ]
dns:
  port: 15353
  zones: [ { name: vc.example.net, nameservers: [ns1.vc.example.net] } ]
  names: [ { name: sip.vc.example.net, answers: servers } ]
`, 'bench.yaml');

const store = ProfileStore.open(config.profiles.path, { origin: 'bench/0' });
const live = new LiveView(store, 'bench/0');
const log = pino({ level: 'silent' });
const engine = new LearningEngine({ config, store, geo: new Geo(config.geo), live, log, registry: new Registry() });
const order = new ResolverOrder(engine);
const responder = new Responder({ authority: new Authority(config), order: (s, c) => order.preference(s, c), udpFactor: config.dns.udpFactor });

function rate(label: string, n: number, fn: (i: number) => void): void {
  for (let i = 0; i < Math.min(n, 2000); i++) fn(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`${label.padEnd(58)} ${Math.round(n / s).toLocaleString('en-US').padStart(10)} /s\n`);
}

const q = (name: string, opt: boolean): Buffer =>
  dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'A', name }], ...(opt ? { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, options: [] } as never] } : {}) });
const resolvers = Array.from({ length: 1000 }, (_, i) => `203.0.${113 + (i % 2)}.${i % 250}`);
const a = q('sip.vc.example.net', false);
const aEdns = q('sip.vc.example.net', true);
const nx = q('nope.vc.example.net', false);
const bad = Buffer.concat([a, Buffer.from([0])]);

process.stdout.write(`DNS responder, ${config.servers.length} servers in 2 POPs, 1,000 resolvers\n`);
rate('A, servers ordered for the resolver (no EDNS)', QUERIES, (i) => responder.respond(a, resolvers[i % 1000]!, 'udp'));
rate('A, servers ordered for the resolver (EDNS OPT)', QUERIES, (i) => responder.respond(aEdns, resolvers[i % 1000]!, 'udp'));
rate('NXDOMAIN with the SOA', QUERIES, (i) => responder.respond(nx, resolvers[i % 1000]!, 'udp'));
rate('malformed (FORMERR)', QUERIES, (i) => responder.respond(bad, resolvers[i % 1000]!, 'udp'));

const view = {
  meeting: 'board',
  ways: [
    { kind: 'web' as const, server: 'ams-1', pop: 'ams', href: 'https://ams.example.net/meet/board?vcp-token=AQx0Qf1Yb2s3c4d5ZgAAAABkAAAAAAVhbXMtMZ6hZ2Vr3cq1uLnQ4wZ9xR', text: '' },
    { kind: 'sip' as const, server: 'ams-1', pop: 'ams', href: 'sip:board@192.0.2.2:25060;vcp-token=AQx0Qf1Yb2s3c4d5ZgAAAABkAAAAAAVhbXMtMZ6hZ2Vr3cq1uLnQ4wZ9xR', text: 'sip:board@192.0.2.2:25060;vcp-token=AQx0Qf1Yb2s3c4d5ZgAAAABkAAAAAAVhbXMtMZ6hZ2Vr3cq1uLnQ4wZ9xR' },
    { kind: 'h323' as const, server: 'ams-1', pop: 'ams', href: 'h323:board%2BAQx0Qf1Yb2s3c4d5ZgAAAABkAAAAAAVhbXMtMZ6hZ2Vr3cq1uLnQ4wZ9xR@192.0.2.2', text: 'board+AQx0Qf1Yb2s3c4d5ZgAAAABkAAAAAAVhbXMtMZ6hZ2Vr3cq1uLnQ4wZ9xR@192.0.2.2' },
  ],
  missing: [],
};
process.stdout.write('\nweb\n');
rate('join page rendered from its view', QUERIES / 3, () => joinPage(view));
const router = createRouter({ ...config, tokens: { keyFile: '', key: 'bench-key-bench-key-bench-key-bench-key' } }, { engine, live, registry: new Registry(), log });
const service = new WebService({ ...webSections(config), router, store, log, metrics: new WebMetrics(new Registry()) });
rate('GET /join: 3 decisions, 3 tokens recorded, page', PAGES, (i) => service.join('board', { source: resolvers[i % 1000]!, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36', id: `b${i}` }));

await new Promise((r) => setTimeout(r, 200));
await live.stop();
await store.close();
rmSync(dir, { recursive: true, force: true });
