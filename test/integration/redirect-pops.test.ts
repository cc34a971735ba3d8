import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { H323Endpoint } from '../../scripts/sim/h323-endpoint.js';
import { H323Mcu } from '../../scripts/sim/h323-mcu.js';
import { SipUas } from '../../scripts/sim/sip-uas.js';
import { ROOT, sippPath, start, waitFor, within } from '../helpers/procs.js';
import { metric, startStack, type Stack } from '../helpers/stack.js';

// The two-POP experiment as a new user runs it: `techniques: { default: redirect }` and no class
// configured, everything on loopback. Layer 1 of POP a holds the well-known address 127.0.121.1;
// connector ca (POP a) on .2, cb (POP b) on .3; servers a-1 on .10 and b-1 on .11, each a SIP UAS and
// an H.323 MCU. Callers in 127.0.122.0/24 are located at POP a (where they enter), those in
// 127.0.123.0/24 at POP b (two networks: a network is learned per /24, its round trips included). Three kinds of client call, each from both halves:
//   sipp keeping the 302's URI parameters (room-follow.xml), sipp dialling only its Contact's host
//   and port (room-follow-bare.xml), and the H.323 room-system simulator following a Facility forward.
// Every call must complete; no 302 may name the connector that sent it; POP b must recognise every
// arrival (by token, or by Call-ID + From tag / callIdentifier from the caller's network), so that
// POP a counts no redirect as missed.

const WK = '127.0.121.1';
const CA = '127.0.121.2';
const CB = '127.0.121.3';
const YAML = `
pop: a
wellKnown: { address: ${WK}, sip: 5060, h323: 1720, ras: 1719 }
pops: [ { name: a, region: eu }, { name: b, region: us } ]
layer1:
  health: { intervalMs: 100, timeoutMs: 100, fall: 2, rise: 1 }
  metrics: { address: ${WK}, port: 9100 }
  control: { address: ${WK}, port: 9101 }
connectors:
  - { name: ca, pop: a, address: ${CA}, workers: 1, ports: { sipProxied: 15060, sip: 25060, h323Proxied: 11720, h323: 21720, health: 18080 } }
  - { name: cb, pop: b, address: ${CB}, workers: 1, ports: { sipProxied: 15060, sip: 25060, h323Proxied: 11720, h323: 21720, health: 18080 } }
servers:
  - { name: a-1, pop: a, address: 127.0.121.10, sipPort: 5060, h323Port: 1720, probe: none }
  - { name: b-1, pop: b, address: 127.0.121.11, sipPort: 5060, h323Port: 1720, probe: none }
geo:
  overrides: [ { prefix: 127.0.122.0/24, pop: a }, { prefix: 127.0.123.0/24, pop: b } ]
techniques: { default: redirect }
# Every call of a class is redirected, also before its class is proven (else one at a time).
learning: { probationLimit: 1000, redirectDeadlineMs: 3000, arrivalGraceMs: 1000, perSourcePerMinute: 600 }
profiles: { path: profiles }
admin: { port: 0 }
`;

type Kind = 'sip-keep' | 'sip-bare' | 'h323';
interface Result {
  kind: Kind;
  source: string;
  home: 'a' | 'b';
  ok: boolean;
  /** host:port a 302 or a Facility sent the caller to ('' when none came). */
  to: string;
  detail: string;
}

function sippCall(dir: string, scenario: string, source: string, port: number, ua: string): Promise<{ ok: boolean; to: string; detail: string }> {
  const log = join(dir, `call-${port}.log`);
  const p = start(sippPath(), [
    '-sf', join(ROOT, 'scripts/sipp', scenario), `${WK}:5060`, '-key', 'ua', ua, '-s', 'board', '-i', source, '-p', String(port), '-t', 'u1', '-m', '1',
    '-nostdin', '-trace_logs', '-log_file', log, '-timeout', `${Math.ceil(within(30_000) / 1000)}s`, '-timeout_error', '-max_retrans', '5', '-default_behaviors', 'all,-abortunexp',
  ], { cwd: dir });
  return p.exited.then((code) => {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    return { ok: code === 0, to: /redirect ([0-9.]+:[0-9]+)/.exec(text)?.[1] ?? '', detail: code === 0 ? '' : p.output().slice(-600) };
  });
}

t.test('two POPs, techniques { default: redirect }: every call of every client kind completes, and no redirect names the connector that sent it', async (t) => {
  const servers = ['127.0.121.10', '127.0.121.11'];
  const uas = servers.map((address) => new SipUas({ address, port: 5060 }));
  const mcus = servers.map((address) => new H323Mcu({ address, port: 1720 }));
  let stack: Stack | undefined;
  t.teardown(async () => {
    await stack?.stop();
    await Promise.all([...uas.map((u) => u.close()), ...mcus.map((m) => m.close())]);
  });
  for (const u of uas) await u.start();
  for (const m of mcus) await m.start();
  stack = await startStack(YAML);
  const dir = t.testdir();

  const perHalf = 4;
  const results: Result[] = [];
  let n = 0;
  for (const kind of ['sip-keep', 'sip-bare', 'h323'] as const) {
    for (const home of ['a', 'b'] as const) {
      for (let i = 0; i < perHalf; i++) {
        n++;
        const source = `127.0.${home === 'a' ? 122 : 123}.${10 + n}`;
        if (kind === 'h323') {
          const ep = new H323Endpoint({ host: WK, port: 1720, localAddress: source, onForward: 'follow', timeoutMs: within(20_000), holdMs: 100, calledNumber: '8001' });
          try {
            const r = await ep.call();
            results.push({ kind, source, home, ok: r.ok, to: r.forwardedTo[0] ?? '', detail: r.ok ? '' : JSON.stringify(r) });
          } finally {
            ep.close();
          }
        } else {
          const r = await sippCall(dir, kind === 'sip-keep' ? 'room-follow.xml' : 'room-follow-bare.xml', source, 33000 + n, kind === 'sip-keep' ? 'RoomKit-Keep/1.0' : 'RoomKit-Bare/1.0');
          results.push({ kind, source, home, ...r });
        }
      }
    }
  }

  for (const r of results) {
    t.ok(r.ok, `${r.kind} from ${r.source} (located at POP ${r.home}) completed${r.detail ? `: ${r.detail}` : ''}`);
    t.not(r.to.split(':')[0], CA, `${r.kind} from ${r.source}: not sent back to the connector it called`);
    if (r.home === 'a') t.equal(r.to, '', `${r.kind} from ${r.source}: carried at POP a, where it entered`);
    else t.match(r.to, new RegExp(`^${CB.replace(/\./g, '\\.')}:(25060|21720)$`), `${r.kind} from ${r.source}: sent to POP b's connector (${r.to})`);
  }
  const count = (kind: Kind, home: string): number => results.filter((r) => r.kind === kind && r.home === home && r.ok).length;
  t.comment(`completed: ${(['sip-keep', 'sip-bare', 'h323'] as const).map((k) => `${k} ${count(k, 'a')}+${count(k, 'b')}/${2 * perHalf}`).join(', ')}`);

  const ca = await stack.workerMetrics('ca/0');
  const cb = await stack.workerMetrics('cb/0');
  t.equal(metric(cb, 'vcp_route_arrivals_total', { match: 'token' }), perHalf, 'POP b recognised the callers that kept the parameters by their token');
  t.equal(metric(cb, 'vcp_route_arrivals_total', { match: 'identifiers' }), 2 * perHalf, 'and the others by Call-ID + From tag or callIdentifier, from their network');
  t.equal(metric(ca, 'vcp_sip_calls_total', { technique: 'redirect', outcome: 'redirected' }), 2 * perHalf);
  t.equal(metric(ca, 'vcp_h323_calls_total', { technique: 'redirect', outcome: 'redirected' }), perHalf);
  t.equal(metric(ca, 'vcp_route_redirects_kept_local_total'), 3 * perHalf, 'every call located at POP a was handled there');
  t.equal(uas[1]!.stats.byes, 2 * perHalf, 'b-1 carried every SIP call located at POP b');
  t.equal(uas[0]!.stats.byes, 2 * perHalf, 'a-1 every SIP call located at POP a');
  // Past every deadline and its grace: nothing may be counted as a redirect not followed.
  await waitFor('POP a closed its redirects', async () => metric(await stack!.workerMetrics('ca/0'), 'vcp_redirects_pending') === 0);
  const after = await stack.workerMetrics('ca/0');
  t.equal(metric(after, 'vcp_redirect_misses_total'), 0, 'no redirect counted as missed');
  t.equal(metric(after, 'vcp_decision_outcomes_total', { technique: 'redirect', outcome: 'missed' }), 0);
});
