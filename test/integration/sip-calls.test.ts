import t from 'tap';
import { SipUas } from '../../scripts/sim/sip-uas.js';
import { runSipp, sippPath, startSippUas, waitFor } from '../helpers/procs.js';
import { metric, startStack } from '../helpers/stack.js';
import { fromRoot } from '../helpers/paths.js';
import { heavyTurn } from '../helpers/heavy.js';

// Every address of this file is in 127.0.1.0/24, so that it never meets another test file's ports.
const WK = '127.0.1.1';
const UAC = '127.0.1.100';
const SCENARIOS = `${fromRoot('scripts/sipp')}/`;

function config(o: { servers: string; connectors?: number; classes?: string }): string {
  const conns = Array.from({ length: o.connectors ?? 1 }, (_, i) => `
  - name: c${i + 1}
    pop: t
    address: 127.0.1.${2 + i}
    workers: 1
    ports: { sipProxied: 15060, sip: 25060, health: 18080 }`).join('');
  return `
pop: t
wellKnown: { address: ${WK}, sip: 5060, h323: 1720, ras: 1719 }
pops: [ { name: t } ]
layer1:
  health: { intervalMs: 100, timeoutMs: 100, fall: 2, rise: 1 }
  metrics: { address: ${WK}, port: 9100 }
  control: { address: ${WK}, port: 9101 }
connectors:${conns}
servers:
${o.servers}
sip: { backendTimeoutMs: 1500 }
# sipp is the load tester: hundreds of requests a second from one address, past the flood guard.
limits: { exempt: [${UAC}/32] }
techniques:
  default: proxy
  classes: { ${o.classes ?? ''} }
`;
}

let release = (): void => undefined;
t.before(async () => {
  sippPath();
  // 200 calls/s each way: not beside another load test or heavy lab (test/helpers/heavy.ts).
  release = await heavyTurn('SIP calls under load', (l) => t.comment(l));
});
t.teardown(() => release());

t.test('UDP: sipp UAC → layer 1 → layer 2 → sipp UAS, 2,000 calls at 200 calls/s', async (t) => {
  const uas = startSippUas('127.0.1.10', 5060, 'u1');
  const stack = await startStack(config({ servers: '  - { name: uas, pop: t, address: 127.0.1.10, sipPort: 5060, sipTransport: udp, probe: none, capacity: 100000 }' }));
  t.teardown(async () => {
    await stack.stop();
    await uas.stop();
  });
  const r = await runSipp(['-sn', 'uac', `${WK}:5060`, '-i', UAC, '-p', '5061', '-t', 'u1', '-m', '2000', '-r', '200', '-l', '600', '-default_behaviors', 'all,-abortunexp']);
  t.equal(r.failed, 0, 'no failed call');
  t.equal(r.successful, 2000, 'every call completed');
  t.equal(r.code, 0, r.output.slice(-2000));
  const m = await stack.workerMetrics('c1/0');
  t.equal(metric(m, 'vcp_sip_calls_total', { technique: 'local', outcome: 'answered' }), 2000, 'the connector proxied every call to its own POP (technique local)');
});

t.test('TCP: sipp UAC → layer 1 → layer 2 → sipp UAS over TCP, 2,000 calls at 200 calls/s', async (t) => {
  const uas = startSippUas('127.0.1.11', 5060, 't1');
  const stack = await startStack(config({ servers: '  - { name: uas-tcp, pop: t, address: 127.0.1.11, sipPort: 5060, sipTransport: tcp, probe: none, capacity: 100000 }' }));
  t.teardown(async () => {
    await stack.stop();
    await uas.stop();
  });
  const r = await runSipp(['-sn', 'uac', `${WK}:5060`, '-i', UAC, '-p', '5062', '-t', 't1', '-m', '2000', '-r', '200', '-l', '600', '-default_behaviors', 'all,-abortunexp']);
  t.equal(r.failed, 0, 'no failed call');
  t.equal(r.successful, 2000, 'every call completed');
  t.equal(r.code, 0, r.output.slice(-2000));
});

t.test('a client on the address of a server (sipp beside the built-in backend on one host): ACK and BYE go to the server, never back to the client', async (t) => {
  // The default configuration puts the backend on 127.0.0.1 and a load tester dials from there too:
  // an in-dialog request from the client must not be taken for one from the server because the two
  // share an address. sipp's UAC aborts a call on the unexpected message a misrouted ACK would be.
  const HOST = '127.0.1.14';
  const udp = startSippUas(HOST, 5090, 'u1');
  const stack = await startStack(config({ servers: `  - { name: here, pop: t, address: ${HOST}, sipPort: 5090, sipTransport: udp, probe: none, capacity: 100000 }` }));
  t.teardown(async () => {
    await stack.stop();
    await udp.stop();
  });
  const r = await runSipp(['-sn', 'uac', `${WK}:5060`, '-i', HOST, '-p', '5071', '-t', 'u1', '-m', '100', '-r', '50']);
  t.equal(r.failed, 0, 'through layer 1: no failed call');
  t.equal(r.successful, 100, 'through layer 1: every call completed') || t.comment(r.output.slice(-2000));
  const direct = await runSipp(['-sn', 'uac', '127.0.1.2:25060', '-i', HOST, '-p', '5072', '-t', 'u1', '-m', '100', '-r', '50']);
  t.equal(direct.failed, 0, 'on the plain port: no failed call');
  t.equal(direct.successful, 100, 'on the plain port: every call completed') || t.comment(direct.output.slice(-2000));
  const m = await stack.workerMetrics('c1/0');
  t.equal(metric(m, 'vcp_sip_dropped_total', { reason: 'ack_no_route' }), 0, 'no ACK dropped');
});

t.test('a client class configured for redirect gets a 302 to the chosen POP, follows it, and arrives with the token', async (t) => {
  const uas = new SipUas({ address: '127.0.1.12', port: 5060 });
  await uas.start();
  // The only server is in POP u: a caller entering at POP t is sent to u's connector (a redirect
  // never names the POP that decided), which carries the arrival to the server.
  const yaml = config({ servers: '  - { name: builtin, pop: u, address: 127.0.1.12, sipPort: 5060, sipTransport: udp }', classes: '"sip/roomkit-follow": redirect' })
    .replace('pops: [ { name: t } ]', 'pops: [ { name: t }, { name: u } ]')
    .replace('servers:', '  - { name: cu, pop: u, address: 127.0.1.4, workers: 1, ports: { sip: 25060, health: 18080 } }\nservers:')
    // Every call is to be redirected, also while the class is not yet proven (one at a time otherwise).
    .concat('learning: { probationLimit: 100 }\n');
  const stack = await startStack(yaml);
  t.teardown(async () => {
    await stack.stop();
    await uas.close();
  });
  const r = await runSipp(['-sf', `${SCENARIOS}uac-follow-redirect.xml`, `${WK}:5060`, '-i', UAC, '-p', '5063', '-t', 'u1', '-m', '20', '-r', '20']);
  t.equal(r.failed, 0, r.output.slice(-2000));
  t.equal(r.successful, 20);
  t.equal(uas.stats.tokens.size, 20, 'each redirected call arrived at the target with its own token');
  t.equal(uas.stats.byes, 20, 'and was hung up there');
  t.equal(metric(await stack.workerMetrics('c1/0'), 'vcp_sip_calls_total', { technique: 'redirect', outcome: 'redirected' }), 20);
  t.equal(metric(await stack.workerMetrics('cu/0'), 'vcp_route_arrivals_total', { match: 'token' }), 20, 'POP u recognised every arrival by its token');
  // A class without a setting is proxied: the built-in scenario sends no User-Agent.
  const p = await runSipp(['-sn', 'uac', `${WK}:5060`, '-i', UAC, '-p', '5064', '-t', 'u1', '-m', '10', '-r', '10']);
  t.equal(p.successful, 10);
  t.equal(uas.stats.tokens.size, 20, 'proxied calls carry no token');
});

t.test('kill -9 of one of two connectors: new calls succeed, the other connector keeps its calls', async (t) => {
  const uas = startSippUas('127.0.1.13', 5060, 'u1');
  const stack = await startStack(config({ connectors: 2, servers: '  - { name: uas, pop: t, address: 127.0.1.13, sipPort: 5060, sipTransport: udp, probe: none, capacity: 100000 }' }));
  t.teardown(async () => {
    await stack.stop();
    await uas.stop();
  });
  // One socket per call (-t un) so that layer 1 spreads the calls over both connectors; each call
  // lasts 2 s, so that calls are in progress on both when one connector dies.
  const run = runSipp(['-sn', 'uac', `${WK}:5060`, '-i', UAC, '-p', '5065', '-t', 'un', '-m', '600', '-r', '100', '-d', '2000', '-l', '1000', '-default_behaviors', 'all,-abortunexp', '-max_socket', '2000'], 60_000);
  const held = async (id: string): Promise<number> => metric(await stack.workerMetrics(id), 'vcp_sip_dialogs');
  let heldByC1 = 0;
  let heldByC2 = 0;
  await waitFor('calls in progress on both connectors', async () => {
    heldByC1 = await held('c1/0');
    heldByC2 = await held('c2/0');
    return heldByC1 >= 20 && heldByC2 >= 20;
  });
  t.pass(`both connectors hold calls (${heldByC1}, ${heldByC2})`);
  // The connector goes whole, supervisor and worker, as when its host loses the processes.
  const workerPid = await stack.workerPid('c1/0');
  process.kill(stack.connectors.get('c1')!.child.pid!, 'SIGKILL');
  process.kill(workerPid, 'SIGKILL');
  const r = await run;
  const answeredByC2 = metric(await stack.workerMetrics('c2/0'), 'vcp_sip_calls_total', { outcome: 'answered' });
  t.equal(r.successful + r.failed, 600, 'every call ended one way or the other');
  t.ok(r.failed <= heldByC1 + 20, `only calls of the killed connector were lost (failed ${r.failed}, it held ${heldByC1})`);
  t.ok(answeredByC2 > heldByC2, 'the surviving connector took the new calls');
  const after = await runSipp(['-sn', 'uac', `${WK}:5060`, '-i', UAC, '-p', '5066', '-t', 'un', '-m', '200', '-r', '100', '-max_socket', '1000']);
  t.equal(after.failed, 0, 'new calls after the kill all succeed');
  t.equal(after.successful, 200);
});
