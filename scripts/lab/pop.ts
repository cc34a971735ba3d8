import { readFileSync, writeFileSync } from 'node:fs';
import { renderKeepalived } from '../../layer1/pair/keepalived.js';
import type { Config } from '../../shared/config/types.js';
import { renderBirdSpeaker } from '../failover/bird-speaker.js';
import { dist, httpOk, LabError, repo, type RunDir, sh, signalPid, waitUntil } from './exec.js';
import { LAB, type MemberLayout, type PopLayout } from './layout.js';

/**
 * One POP host of the lab: its LAN (a bridge at the edge), a namespace per layer-1 pair member and
 * one for the servers (connectors and backend), and every process the POP runs, all from dist/.
 * The edge itself is a namespace in the drill and the VM in Vagrant (`pl.edgeNs` undefined).
 */
export interface PopHost {
  config: Config;
  topology: string;
  pl: PopLayout;
  run: RunDir;
}

const edge = (h: PopHost, args: string[]): void => {
  sh('ip', args, { ns: h.pl.edgeNs });
};

function addNs(ns: string): void {
  if (sh('ip', ['netns', 'list']).out.split('\n').some((l) => l.split(' ')[0] === ns)) throw new LabError(`network namespace ${ns} exists already: remove it (scripts/drill --cleanup) or pick another prefix`);
  sh('ip', ['netns', 'add', ns]);
  sh('ip', ['link', 'set', 'lo', 'up'], { ns });
}

/** A namespace on the POP LAN with `addresses` on its eth0 and the edge as its gateway. */
function attach(h: PopHost, ns: string, port: string, iface: string, addresses: string[]): void {
  addNs(ns);
  edge(h, ['link', 'add', port, 'type', 'veth', 'peer', 'name', iface, 'netns', ns]);
  edge(h, ['link', 'set', port, 'master', h.pl.lanIf, 'up']);
  for (const a of addresses) sh('ip', ['addr', 'add', `${a}/24`, 'dev', iface], { ns });
  sh('ip', ['link', 'set', iface, 'up'], { ns });
  sh('ip', ['route', 'add', 'default', 'via', h.pl.lanAddress], { ns });
}

export function popNetworkUp(h: PopHost): void {
  const { pl } = h;
  const sysctl = (k: string, v: string, ns = pl.edgeNs): void => void sh('sysctl', ['-qw', `${k}=${v}`], { ns });
  sysctl('net.ipv4.ip_forward', '1');
  edge(h, ['link', 'add', pl.lanIf, 'type', 'bridge']);
  edge(h, ['addr', 'add', `${pl.lanAddress}/24`, 'dev', pl.lanIf]);
  edge(h, ['link', 'set', pl.lanIf, 'up']);
  // The pair announces a moved address by gratuitous ARP; take it even for a new entry.
  sysctl(`net.ipv4.conf.${pl.lanIf}.arp_accept`, '1');
  // Replies to clients leave through the upstream router (in Vagrant the VM's default route is NAT).
  edge(h, ['route', 'replace', LAB.client.net, 'via', pl.routerAddress]);
  for (const m of pl.members) {
    attach(h, m.ns, m.port, m.iface, [m.address]);
    // The standby's layer 1 binds the well-known address it does not hold yet.
    sysctl('net.ipv4.ip_nonlocal_bind', '1', m.ns);
  }
  attach(h, pl.servers.ns, pl.servers.port, 'eth0', pl.servers.addresses);
}

export const layer1Argv = (h: PopHost, node: string): string[] => [process.execPath, dist('layer1/main.js'), '--config', h.topology, '--node', node];

export async function startServers(h: PopHost): Promise<void> {
  const { pl, run } = h;
  for (const b of pl.backends) run.start(`${pl.pop}.${b.name}`, pl.servers.ns, process.execPath, [dist('scripts/sim/sip-uas.js'), '--address', b.address, '--port', String(b.port)]);
  for (const c of pl.connectors) startConnector(h, c);
  await waitServers(h);
}

export function startConnector(h: PopHost, name: string): void {
  h.run.start(`${h.pl.pop}.${name}`, h.pl.servers.ns, process.execPath, [dist('layer2/main.js'), '--config', h.topology, '--connector', name], { VCP_POP: h.pl.pop, VCP_LOG_LEVEL: 'info' });
}

export async function waitServers(h: PopHost, timeoutMs = 20_000): Promise<void> {
  const eps = h.config.connectors.filter((c) => c.pop === h.pl.pop).flatMap((c) => c.endpoints);
  await waitUntil(`the connectors of POP ${h.pl.pop}`, () => eps.every((ep) => httpOk(h.pl.servers.ns, `http://${ep.address}:${ep.health}/health`)), timeoutMs, 200);
}

export function startLayer1(h: PopHost, m: MemberLayout): void {
  const argv = layer1Argv(h, m.node);
  h.run.start(`${m.node}.layer1`, m.ns, argv[0]!, argv.slice(1), { VCP_LOG_LEVEL: 'info' });
}

export function layer1Healthy(h: PopHost, m: MemberLayout): boolean {
  return httpOk(m.ns, `http://127.0.0.1:${h.config.layer1.control.port}/health`);
}

/** keepalived for one member, generated from the topology, started from the host into the member's namespace. */
export function startKeepalived(h: PopHost, m: MemberLayout, trackArgv: string[] = layer1Argv(h, m.node)): void {
  const conf = h.run.file(h.pl.pop, `keepalived-${m.node}.conf`);
  writeFileSync(
    conf,
    renderKeepalived(h.config, m.node, {
      checkScript: repo('scripts/failover/check-layer1'),
      notifyScript: repo('scripts/failover/keepalived-notify'),
      notifyLog: h.run.log(`${m.node}.vrrp`),
      layer1Argv: trackArgv,
    }),
  );
  const pid = h.run.file(h.pl.pop, `keepalived-${m.node}.pid`);
  // -s: keepalived enters the namespace itself, after opening the process-event socket that
  // track_process needs (that socket only works from the host's initial namespace).
  h.run.start(`${m.node}.keepalived`, undefined, 'keepalived', ['-s', m.ns, '-P', '-n', '-l', '-G', '-f', conf, '-p', pid, '-r', `${pid}.vrrp`]);
}

/** The member currently holding the well-known address (the VRRP master), if any. */
export function holder(h: PopHost): MemberLayout | undefined {
  const wk = h.config.wellKnown.address;
  return h.pl.members.find((m) => sh('ip', ['-o', 'addr', 'show', 'dev', m.iface], { ns: m.ns, allowFail: true }).out.includes(` ${wk}/32 `));
}

export async function startMember(h: PopHost, m: MemberLayout): Promise<void> {
  startLayer1(h, m);
  await waitUntil(`layer 1 on ${m.node}`, () => layer1Healthy(h, m), 20_000, 200);
  startKeepalived(h, m);
  // keepalived forks its VRRP process; keep its pid too so that a node kill takes it.
  await waitUntil(`keepalived on ${m.node}`, () => h.run.adopt(`${m.node}.keepalived-vrrp`, h.run.file(h.pl.pop, `keepalived-${m.node}.pid.vrrp`)) !== undefined, 10_000, 50);
}

export function startEdge(h: PopHost, opts: { birdSocket: string; stateDir: string }): void {
  const pf = h.config.failover!.pops.find((p) => p.pop === h.pl.pop)!;
  const conf = h.run.file(h.pl.pop, 'bird.conf');
  writeFileSync(conf, renderBirdSpeaker(h.config, pf));
  h.run.start(`${h.pl.pop}.bird`, h.pl.edgeNs, 'bird', ['-f', '-c', conf, '-s', opts.birdSocket, '-P', h.run.file(h.pl.pop, 'bird.pid')]);
  h.run.start(`${h.pl.pop}.watch`, h.pl.edgeNs, process.execPath, [
    dist('scripts/failover/ip-takeover.js'),
    'watch',
    '--config',
    h.topology,
    '--pop',
    h.pl.pop,
    '--bird-socket',
    opts.birdSocket,
    '--state-dir',
    opts.stateDir,
    '--log',
    h.run.log(`${h.pl.pop}.watch-events`),
  ]);
}

export const birdSocket = (h: PopHost): string => h.run.file(h.pl.pop, 'bird.ctl');
export const stateDir = (h: PopHost): string => h.run.dir(h.pl.pop, 'state');

/** Everything of the POP, in dependency order; resolves when one pair member holds the address. */
export async function popStart(h: PopHost): Promise<void> {
  await startServers(h);
  await Promise.all(h.pl.members.map((m) => startMember(h, m)));
  await waitUntil(`a VRRP master in POP ${h.pl.pop}`, () => holder(h) !== undefined, 15_000, 100);
  startEdge(h, { birdSocket: birdSocket(h), stateDir: stateDir(h) });
}

/** The names of every process of the POP in the run dir. */
export function popProcesses(h: PopHost): string[] {
  const nodes = h.pl.members.map((m) => `${m.node}.`);
  return h.run.names().filter((n) => n.startsWith(`${h.pl.pop}.`) || nodes.some((p) => n.startsWith(p)));
}

/** A pair member dies: its link goes down at once, then its processes are killed (no goodbye advert). */
export function killMember(h: PopHost, m: MemberLayout): void {
  sh('ip', ['link', 'set', m.iface, 'down'], { ns: m.ns });
  for (const n of [`${m.node}.keepalived-vrrp`, `${m.node}.keepalived`, `${m.node}.layer1`]) {
    const pid = h.run.pid(n);
    if (pid) signalPid(pid, 'SIGKILL');
  }
}

/** Bring a dead member back: drop the address it still has configured, link up, start its processes. */
export async function restoreMember(h: PopHost, m: MemberLayout): Promise<void> {
  for (const n of [`${m.node}.keepalived-vrrp`, `${m.node}.keepalived`, `${m.node}.layer1`]) await h.run.stop(n, 'SIGKILL', 1000);
  sh('ip', ['addr', 'del', `${h.config.wellKnown.address}/32`, 'dev', m.iface], { ns: m.ns, allowFail: true });
  sh('ip', ['link', 'set', m.iface, 'up'], { ns: m.ns });
  // The default route went with the link.
  sh('ip', ['route', 'replace', 'default', 'via', h.pl.lanAddress], { ns: m.ns });
  await startMember(h, m);
}

/**
 * The whole POP goes at once, as in a power cut: its uplink falls silent first (the upstream notices
 * only by BFD), then every process of the POP is killed.
 */
export function popCut(h: PopHost): void {
  const uplink = uplinkIf(h);
  writeFileSync(h.run.file(h.pl.pop, 'uplink-if'), uplink);
  // Nothing is forwarded from the upstream any more, and without its address the edge sends nothing.
  sh('sysctl', ['-qw', `net.ipv4.conf.${uplink}.forwarding=0`], { ns: h.pl.edgeNs });
  sh('ip', ['addr', 'flush', 'dev', uplink], { ns: h.pl.edgeNs });
  for (const n of popProcesses(h)) {
    const pid = h.run.pid(n);
    if (pid) signalPid(pid, 'SIGKILL');
  }
  for (const m of h.pl.members) sh('ip', ['link', 'set', m.iface, 'down'], { ns: m.ns });
}

/** The POP comes back: uplink address, members' links, then every process as at start. */
export async function popRestore(h: PopHost): Promise<void> {
  for (const n of popProcesses(h)) await h.run.stop(n, 'SIGKILL', 1000);
  const uplink = readFileSync(h.run.file(h.pl.pop, 'uplink-if'), 'utf8').trim();
  sh('ip', ['addr', 'replace', `${h.pl.uplinkAddress}/24`, 'dev', uplink], { ns: h.pl.edgeNs });
  sh('sysctl', ['-qw', `net.ipv4.conf.${uplink}.forwarding=1`], { ns: h.pl.edgeNs });
  sh('ip', ['link', 'set', uplink, 'up'], { ns: h.pl.edgeNs });
  sh('ip', ['route', 'replace', LAB.client.net, 'via', h.pl.routerAddress], { ns: h.pl.edgeNs });
  for (const m of h.pl.members) {
    sh('ip', ['addr', 'del', `${h.config.wellKnown.address}/32`, 'dev', m.iface], { ns: m.ns, allowFail: true });
    sh('ip', ['link', 'set', m.iface, 'up'], { ns: m.ns });
    sh('ip', ['route', 'replace', 'default', 'via', h.pl.lanAddress], { ns: m.ns });
  }
  await popStart(h);
}

/** The edge's interface towards the upstream: the one that carries (or carried) the uplink address. */
export function uplinkIf(h: PopHost): string {
  const out = sh('ip', ['-j', 'addr', 'show'], { ns: h.pl.edgeNs }).out;
  const links = JSON.parse(out) as Array<{ ifname: string; addr_info?: Array<{ local?: string }> }>;
  const found = links.find((l) => (l.addr_info ?? []).some((a) => a.local === h.pl.uplinkAddress));
  if (found) return found.ifname;
  throw new LabError(`no interface of POP ${h.pl.pop}'s edge carries ${h.pl.uplinkAddress}`);
}
