import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { H323Endpoint } from './h323-endpoint.js';
import { H323Mcu } from './h323-mcu.js';
import { SipUas } from './sip-uas.js';

/**
 * The learning simulation: a mixed population of room systems calls a two-POP deployment through the
 * real connector processes, while the profiles learn.
 *
 *   POP a (eu): connector ca 127.0.7.2, server a-1 127.0.7.10     POP b (us): connector cb 127.0.7.3, server b-1 127.0.7.11
 *   networks:   n1 127.0.40.0/24 (geo → a)   n2 127.0.41.0/24 (geo → b)   n3 127.0.42.0/24 (geo → b, its firewall drops POP b)
 *
 * Classes: SIP room systems (sipp scenarios) that follow a 302 and that drop it, both configured for
 * redirect, and one left to the default (proxy); H.323 room systems (the endpoint simulator) that
 * follow a Facility forward and that drop the connection on one. Every call is placed at the entry
 * (connector ca) from a fresh address of its network, one at a time with a fixed gap; each result says
 * whether the call completed and where a redirect sent it. The firewall is a real nftables rule.
 */

export type Behaviour = 'follow' | 'drop';

export interface Member {
  /** The class as the simulation names it, and the User-Agent it sends (SIP). */
  name: string;
  protocol: 'sip' | 'h323';
  ua: string;
  /** H.323: the vendor identity in its Setup; `configKey` is its class key in `techniques.classes`. */
  t35?: { manufacturer: number; product: string; version: string };
  configKey: string;
  behaviour: Behaviour;
  /** Configured technique for the class (absent: the default). */
  configured?: 'redirect' | 'proxy';
  networks: string[];
}

export interface CallResult {
  i: number;
  at: number;
  member: string;
  behaviour: Behaviour;
  network: string;
  source: string;
  ok: boolean;
  /** host:port a 302 sent the client to, '' when none came. */
  redirectedTo: string;
  ms: number;
}

export interface SimOptions {
  rounds: number;
  gapMs: number;
  population?: Member[];
  /** Print one line per call. */
  verbose?: boolean;
  /** Log level of the connectors, whose lines then go to this process's stdout (default: silent). */
  connectorLog?: string;
  log?: (line: string) => void;
  /** How long the connectors may take to start (default 60 s). */
  startTimeoutMs?: number;
}

export const NETWORKS: Record<string, { prefix: string; base: string; geoPop: string; blocks?: string }> = {
  n1: { prefix: '127.0.40.0/24', base: '127.0.40.', geoPop: 'a' },
  n2: { prefix: '127.0.41.0/24', base: '127.0.41.', geoPop: 'b' },
  n3: { prefix: '127.0.42.0/24', base: '127.0.42.', geoPop: 'b', blocks: '127.0.7.3' },
};

export const POP_ADDRESS: Record<string, string> = { '127.0.7.2': 'a', '127.0.7.3': 'b' };

export const DEFAULT_POPULATION: Member[] = [
  { name: 'follow', protocol: 'sip', ua: 'RoomKit-Follow/1.0', configKey: 'sip/roomkit-follow', behaviour: 'follow', configured: 'redirect', networks: ['n1', 'n2', 'n3'] },
  { name: 'drop', protocol: 'sip', ua: 'Legacy-Drop/2.0', configKey: 'sip/legacy-drop', behaviour: 'drop', configured: 'redirect', networks: ['n1', 'n2', 'n3'] },
  { name: 'polycom', protocol: 'sip', ua: 'Polycom HDX 8000 HD (Release - 3.1.2)', configKey: '', behaviour: 'follow', networks: ['n1', 'n3'] },
  { name: 'h323-follow', protocol: 'h323', ua: '', t35: { manufacturer: 20560, product: 'RealPresence Group 500', version: '6.2.2' }, configKey: 'h323/polycom', behaviour: 'follow', configured: 'redirect', networks: ['n1', 'n2', 'n3'] },
  { name: 'h323-drop', protocol: 'h323', ua: '', t35: { manufacturer: 41242, product: 'LifeSize Icon 600', version: '3.11' }, configKey: 'h323/lifesize', behaviour: 'drop', configured: 'redirect', networks: ['n1', 'n2', 'n3'] },
];

/** The project root, whether this runs from dist/ or from source (tests). */
const SELF = fileURLToPath(import.meta.url);
const ROOT = SELF.includes('/dist/') ? SELF.slice(0, SELF.lastIndexOf('/dist/')) : SELF.slice(0, SELF.lastIndexOf('/scripts/'));
const CONNECTOR = join(ROOT, 'dist/layer2/main.js');
const SCENARIOS = join(ROOT, 'scripts/sipp');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function config(population: Member[], profiles: string): string {
  const classes = population.filter((m) => m.configured).map((m) => `"${m.configKey}": ${m.configured}`);
  return `
pop: a
wellKnown: { address: 127.0.7.1, sip: 5060 }
pops:
  - { name: a, region: eu }
  - { name: b, region: us }
connectors:
  - { name: ca, pop: a, address: 127.0.7.2, workers: 1, ports: { sip: 25060, h323: 21720, health: 18080 } }
  - { name: cb, pop: b, address: 127.0.7.3, workers: 1, ports: { sip: 25060, h323: 21720, health: 18080 } }
servers:
  - { name: a-1, pop: a, address: 127.0.7.10, sipPort: 5060, h323Port: 1720, probe: none }
  - { name: b-1, pop: b, address: 127.0.7.11, sipPort: 5060, h323Port: 1720, probe: none }
geo:
  overrides:
${Object.values(NETWORKS).map((n) => `    - { prefix: ${n.prefix}, pop: ${n.geoPop} }`).join('\n')}
techniques:
  default: proxy
  classes: { ${classes.join(', ')} }
learning: { redirectDeadlineMs: 1500, arrivalGraceMs: 300, perSourcePerMinute: 600, blockRetryMs: 600000 }
profiles: { path: ${profiles} }
admin: { port: 0 }
`;
}

function httpOk(url: string): Promise<boolean> {
  return fetch(url).then((r) => r.ok, () => false);
}

/** A real firewall for network n3: nftables drops its packets to POP b's connector. */
function firewall(on: boolean): void {
  const blocked = Object.entries(NETWORKS).filter(([, n]) => n.blocks);
  if (on) {
    const rules = blocked.map(([, n]) => `add rule inet vcp_learnsim out ip saddr ${n.prefix} ip daddr ${n.blocks} drop`).join('\n');
    const script = `table inet vcp_learnsim\ndelete table inet vcp_learnsim\ntable inet vcp_learnsim {\n chain out { type filter hook output priority 0; policy accept; }\n}\n${rules}\n`;
    execFileSync('nft', ['-f', '-'], { input: script });
  } else {
    try {
      execFileSync('nft', ['delete', 'table', 'inet', 'vcp_learnsim'], { stdio: 'ignore' });
    } catch {
      // not there
    }
  }
}

/** One H.323 call by the endpoint simulator; drop = closes the connection on a Facility forward. */
async function runH323(member: Member, source: string): Promise<{ ok: boolean; redirectedTo: string }> {
  const t = member.t35!;
  const ep = new H323Endpoint({
    host: '127.0.7.2', port: 21720, localAddress: source, onForward: member.behaviour, timeoutMs: 3000, holdMs: 100,
    identity: { t35CountryCode: 181, t35Extension: 0, manufacturerCode: t.manufacturer, productId: t.product, versionId: t.version },
    calledNumber: '8001',
  });
  try {
    const r = await ep.call();
    // A forward the simulator did not follow still says where it pointed: the first hop it names.
    const to = r.forwardedTo[0] ?? (r.forward ? 'forward' : '');
    return { ok: r.ok, redirectedTo: to };
  } finally {
    ep.close();
  }
}

function runSipp(member: Member, source: string, port: number, dir: string): Promise<{ ok: boolean; redirectedTo: string }> {
  const log = join(dir, `call-${port}.log`);
  const args = [
    '-sf', join(SCENARIOS, `room-${member.behaviour}.xml`), '127.0.7.2:25060', '-key', 'ua', member.ua, '-s', 'meeting1',
    '-i', source, '-p', String(port), '-t', 'u1', '-m', '1', '-nostdin', '-trace_logs', '-log_file', log, '-timeout', '12s', '-timeout_error',
    '-max_retrans', '3', '-default_behaviors', 'all,-abortunexp',
  ];
  return new Promise((resolve) => {
    const child = spawn('sipp', args, { cwd: dir, stdio: 'ignore' });
    child.on('exit', (code) => {
      const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
      const m = /redirect ([0-9.]+:[0-9]+)/.exec(text);
      resolve({ ok: code === 0, redirectedTo: m ? m[1]! : '' });
    });
  });
}

export interface SimResult {
  calls: CallResult[];
  config: string;
}

export async function runLearningSimulation(o: SimOptions): Promise<SimResult> {
  const population = o.population ?? DEFAULT_POPULATION;
  const say = o.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'vcp-learnsim-'));
  const file = join(dir, 'config.yaml');
  const text = config(population, join(dir, 'profiles'));
  writeFileSync(file, text);
  const backends = [new SipUas({ address: '127.0.7.10', port: 5060 }), new SipUas({ address: '127.0.7.11', port: 5060 })];
  const mcus = [new H323Mcu({ address: '127.0.7.10', port: 1720 }), new H323Mcu({ address: '127.0.7.11', port: 1720 })];
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    firewall(false);
    await Promise.all(children.map((c) => new Promise<void>((r) => {
      if (c.exitCode !== null || c.signalCode !== null) return r();
      c.once('exit', () => r());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 3000).unref();
    })));
    await Promise.all([...backends.map((b) => b.close()), ...mcus.map((m) => m.close())]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const b of backends) await b.start();
    for (const m of mcus) await m.start();
    for (const c of ['ca', 'cb']) {
      children.push(spawn(process.execPath, [CONNECTOR, '--config', file, '--connector', c], { stdio: ['ignore', o.connectorLog ? 'inherit' : 'ignore', 'inherit'], env: { ...process.env, VCP_LOG_LEVEL: o.connectorLog ?? 'error' } }));
    }
    const until = Date.now() + (o.startTimeoutMs ?? 60_000);
    while (!(await httpOk('http://127.0.7.2:18080/health')) || !(await httpOk('http://127.0.7.3:18080/health'))) {
      if (Date.now() > until) throw new Error('the connectors did not start');
      await sleep(100);
    }
    firewall(true);

    const schedule: Array<{ member: Member; network: string }> = [];
    for (let r = 0; r < o.rounds; r++) for (const m of population) for (const n of m.networks) schedule.push({ member: m, network: n });
    const calls: CallResult[] = [];
    const host = new Map<string, number>();
    const t0 = Date.now();
    const inflight: Array<Promise<void>> = [];
    for (let i = 0; i < schedule.length; i++) {
      const { member, network } = schedule[i]!;
      // A fresh room system of that network each time (addresses .1 to .199 in turn).
      const k = (host.get(network) ?? 0) + 1;
      host.set(network, k);
      const source = `${NETWORKS[network]!.base}${1 + ((k - 1) % 199)}`;
      const started = Date.now();
      inflight.push(
        (member.protocol === 'h323' ? runH323(member, source) : runSipp(member, source, 30000 + i, dir)).then((r) => {
          const c: CallResult = { i, at: started - t0, member: member.name, behaviour: member.behaviour, network, source, ok: r.ok, redirectedTo: r.redirectedTo, ms: Date.now() - started };
          calls.push(c);
          if (o.verbose) say(`${String(i).padStart(4)} ${(c.at / 1000).toFixed(1).padStart(6)}s ${member.name.padEnd(8)} ${network} ${source.padEnd(13)} ${c.ok ? 'ok    ' : 'FAILED'} ${describe(member, c.redirectedTo)}`);
        }),
      );
      await sleep(o.gapMs);
    }
    await Promise.all(inflight);
    calls.sort((a, b) => a.i - b.i);
    return { calls, config: text };
  } finally {
    await stop();
  }
}

function describe(m: Member, to: string): string {
  const how = m.protocol === 'h323' ? 'Facility forward' : '302';
  if (!to) return 'proxied';
  if (to === 'forward') return `${how}, not followed`;
  return `${how} → POP ${POP_ADDRESS[to.split(':')[0]!] ?? to}`;
}

export interface Analysis {
  /** Failed calls per class. */
  perClass: Record<string, number>;
  /** Failed calls of redirect-following classes per (network, POP they were sent to). */
  perNetworkPop: Record<string, number>;
  /** Per class: index (within the class's calls) of its last failure, and how many calls followed it. */
  settled: Record<string, { calls: number; lastFailure: number; after: number }>;
  total: { calls: number; failed: number };
}

export function analyse(calls: readonly CallResult[]): Analysis {
  const perClass: Record<string, number> = {};
  const perNetworkPop: Record<string, number> = {};
  const settled: Analysis['settled'] = {};
  for (const c of calls) {
    const s = (settled[c.member] ??= { calls: 0, lastFailure: -1, after: 0 });
    s.calls++;
    perClass[c.member] ??= 0;
    if (c.ok) continue;
    perClass[c.member]!++;
    s.lastFailure = s.calls - 1;
    if (c.behaviour === 'follow' && c.redirectedTo) {
      const k = `${c.network} → POP ${POP_ADDRESS[c.redirectedTo.split(':')[0]!] ?? c.redirectedTo}`;
      perNetworkPop[k] = (perNetworkPop[k] ?? 0) + 1;
    }
  }
  for (const s of Object.values(settled)) s.after = s.calls - 1 - s.lastFailure;
  return { perClass, perNetworkPop, settled, total: { calls: calls.length, failed: calls.filter((c) => !c.ok).length } };
}

/** Failures per window of `size` calls: the learning curve. */
export function curve(calls: readonly CallResult[], size: number): Array<{ from: number; calls: number; failed: number; redirected: number }> {
  const out: Array<{ from: number; calls: number; failed: number; redirected: number }> = [];
  for (let i = 0; i < calls.length; i += size) {
    const w = calls.slice(i, i + size);
    out.push({ from: i, calls: w.length, failed: w.filter((c) => !c.ok).length, redirected: w.filter((c) => c.redirectedTo).length });
  }
  return out;
}
