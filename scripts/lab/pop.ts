import { readFileSync, writeFileSync } from 'node:fs';
import { renderKeepalived } from '../../layer1/pair/keepalived.js';
import type { Config } from '../../shared/config/types.js';
import { renderBirdSpeaker } from '../failover/bird-speaker.js';
import { Birdc } from '../failover/birdc.js';
import { dist, httpOk, LabError, type LogEvent, realtime, repo, type RunDir, sh, waitUntil } from './exec.js';
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
  /**
   * keepalived tracks the layer-1 process by the kernel's process events (default). Those come only
   * to the initial network namespace: inside a container (the Vagrant lab on lxc) they are refused,
   * and the instance is faulted by the /health track script alone.
   */
  trackProcess?: boolean;
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

/** How long each piece of a POP took from spawn to ready, in ms (see popStart). */
export interface PopStartup {
  pop: string;
  /** Spawn of the first process → every condition below met. */
  totalMs: number;
  backendMs: number;
  /** Per connector: supervisor spawned → "connector ready" (its workers forked and ready). */
  connectorsMs: Record<string, number>;
  /** Per pair member: layer 1 spawned → "layer 1 ready" (listening). */
  layer1Ms: Record<string, number>;
  /** Per pair member: layer 1 spawned → its first connector counted up (serving; /health 200). */
  layer1ServingMs: Record<string, number>;
  /** Per pair member: keepalived spawned → its first VRRP state (MASTER or BACKUP). */
  keepalivedMs: Record<string, number>;
  /** BIRD spawned → its upstream session Established. */
  bgpMs: number;
  /** The watch spawned → it announces (active or standby). */
  announceMs: number;
}

/** A ready line of a daemon started by `h.run`, as ms after its spawn. */
async function readyAfter(h: PopHost, name: string, msg: string | ((e: LogEvent) => boolean), timeoutMs: number): Promise<number> {
  const match = typeof msg === 'string' ? (e: LogEvent) => e.msg === msg : msg;
  const at = await h.run.waitLog(name, match, `${name} to log ${typeof msg === 'string' ? `"${msg}"` : 'its ready line'}`, timeoutMs);
  return at - h.run.spawned(name)!.spawnedAt;
}

export function startBackends(h: PopHost): void {
  const { pl, run } = h;
  for (const b of pl.backends) run.start(`${pl.pop}.${b.name}`, pl.servers.ns, process.execPath, [dist('scripts/sim/sip-uas.js'), '--address', b.address, '--port', String(b.port)]);
}

export function startConnector(h: PopHost, name: string): void {
  h.run.start(`${h.pl.pop}.${name}`, h.pl.servers.ns, process.execPath, [dist('layer2/main.js'), '--config', h.topology, '--connector', name], { VCP_POP: h.pl.pop, VCP_LOG_LEVEL: 'info' });
}

/** A connector is ready when its supervisor says so: every worker forked and serving (health included). */
export const connectorReady = (h: PopHost, name: string, timeoutMs: number): Promise<number> => readyAfter(h, `${h.pl.pop}.${name}`, 'connector ready', timeoutMs);

export function startLayer1(h: PopHost, m: MemberLayout): void {
  const argv = layer1Argv(h, m.node);
  h.run.start(`${m.node}.layer1`, m.ns, argv[0]!, argv.slice(1), { VCP_LOG_LEVEL: 'info' });
}

export const layer1Ready = (h: PopHost, m: MemberLayout, timeoutMs: number): Promise<number> => readyAfter(h, `${m.node}.layer1`, 'layer 1 ready', timeoutMs);

export function layer1Healthy(h: PopHost, m: MemberLayout): boolean {
  return httpOk(m.ns, `http://127.0.0.1:${h.config.layer1.control.port}/health`);
}

/** keepalived for one member, generated from the topology, started from the host into the member's namespace. */
export function startKeepalived(h: PopHost, m: MemberLayout, trackArgv: string[] = h.trackProcess === false ? [] : layer1Argv(h, m.node)): void {
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
  // The notify lines of this start begin where the file ends now.
  h.run.mark(`${m.node}.vrrp`);
  // -s: keepalived enters the namespace itself, after opening the process-event socket that
  // track_process needs (that socket only works from the host's initial namespace).
  h.run.start(`${m.node}.keepalived`, undefined, 'keepalived', ['-s', m.ns, '-P', '-n', '-l', '-G', '-f', conf, '-p', pid, '-r', `${pid}.vrrp`]);
}

/** The VRRP states a member's notify script reported since its keepalived was last started. */
export function vrrpStates(h: PopHost, m: MemberLayout): Array<{ state: string; ms: number }> {
  const out: Array<{ state: string; ms: number }> = [];
  for (const line of h.run.linesSince(`${m.node}.vrrp`, h.run.marked(`${m.node}.vrrp`))) {
    try {
      const e = JSON.parse(line) as { state?: string; ms?: number };
      if (e.state && typeof e.ms === 'number') out.push({ state: e.state, ms: e.ms });
    } catch {
      // partial line
    }
  }
  // keepalived runs a notify script per transition, each its own process: of two transitions a few
  // ms apart, either line can come first and carry the earlier stamp. Only transitions far enough
  // apart are in order here; who is master now is what `holder` sees.
  return out.sort((a, b) => a.ms - b.ms);
}

/** keepalived spawned → its first VRRP state, reported by the notify script. */
export async function keepalivedReady(h: PopHost, m: MemberLayout, timeoutMs: number): Promise<number> {
  let at = 0;
  await waitUntil(`keepalived on ${m.node} to enter MASTER or BACKUP`, () => {
    const s = vrrpStates(h, m).find((x) => x.state === 'MASTER' || x.state === 'BACKUP');
    if (s) at = s.ms;
    return s !== undefined;
  }, timeoutMs, 25);
  return at - h.run.spawned(`${m.node}.keepalived`)!.spawnedAt;
}

/** The member currently holding the well-known address (the VRRP master), if any. */
export function holder(h: PopHost): MemberLayout | undefined {
  return holders(h)[0];
}

/** Every member holding the well-known address: one when the pair has settled. */
export function holders(h: PopHost): MemberLayout[] {
  const wk = h.config.wellKnown.address;
  return h.pl.members.filter((m) => sh('ip', ['-o', 'addr', 'show', 'dev', m.iface], { ns: m.ns, allowFail: true }).out.includes(` ${wk}/32 `));
}

/**
 * Layer 1 first, then keepalived once layer 1 serves (a connector counted up: its /health, which
 * keepalived's track script reads, is 200 only then; started earlier, keepalived would fault the
 * instance and need `rise` more seconds to leave FAULT).
 */
export async function startMember(h: PopHost, m: MemberLayout, timeoutMs = 30_000): Promise<{ layer1Ms: number; servingMs: number; keepalivedMs: number }> {
  startLayer1(h, m);
  const [layer1Ms, servingMs] = await Promise.all([layer1Ready(h, m, timeoutMs), readyAfter(h, `${m.node}.layer1`, 'member up', timeoutMs)]);
  startKeepalived(h, m);
  const keepalivedMs = await keepalivedReady(h, m, timeoutMs);
  return { layer1Ms, servingMs, keepalivedMs };
}

export function startEdge(h: PopHost, opts: { birdSocket: string; stateDir: string }): void {
  const pf = h.config.failover!.pops.find((p) => p.pop === h.pl.pop)!;
  const conf = h.run.file(h.pl.pop, 'bird.conf');
  writeFileSync(conf, renderBirdSpeaker(h.config, pf));
  // BFD at 50 ms must not wait for a busy CPU: BIRD runs real-time, ahead of any ordinary work (a
  // nice value would not do: each daemon leads its own session, and with autogroup scheduling a
  // session competes as one group whatever its nice). Where real-time is refused (a container
  // without an RT budget), chrt fails and BIRD starts as it is.
  h.run.start(`${h.pl.pop}.bird`, h.pl.edgeNs, ...realtime('bird', ['-f', '-c', conf, '-s', opts.birdSocket, '-P', h.run.file(h.pl.pop, 'bird.pid')]));
  // The watch logs its events to stdout, into the run dir's log of the process.
  h.run.start(`${h.pl.pop}.watch`, h.pl.edgeNs, process.execPath, [dist('scripts/failover/ip-takeover.js'), 'watch', '--config', h.topology, '--pop', h.pl.pop, '--bird-socket', opts.birdSocket, '--state-dir', opts.stateDir]);
}

export const birdSocket = (h: PopHost): string => h.run.file(h.pl.pop, 'bird.ctl');
export const stateDir = (h: PopHost): string => h.run.dir(h.pl.pop, 'state');

/**
 * Everything of the POP at once, each piece started as soon as what it needs is ready: the backend,
 * the connectors, layer 1, BIRD and the watch right away; per pair member keepalived once its layer
 * 1 serves. The watch announces only once a member holds the address (it asks ARP first). Resolves
 * when every piece says it is ready (its own log line), a member is VRRP master and the watch
 * announces, with how long each piece took.
 */
export async function popStart(h: PopHost, timeoutMs = 60_000): Promise<PopStartup> {
  const t0 = Date.now();
  const { pl } = h;
  startBackends(h);
  for (const c of pl.connectors) startConnector(h, c);
  startEdge(h, { birdSocket: birdSocket(h), stateDir: stateDir(h) });
  const watch = `${pl.pop}.watch`;
  const [backends, connectors, members, bgpMs, announceMs] = await Promise.all([
    Promise.all(pl.backends.map((b) => readyAfter(h, `${pl.pop}.${b.name}`, 'built-in backend ready', timeoutMs))),
    Promise.all(pl.connectors.map((c) => connectorReady(h, c, timeoutMs))),
    Promise.all(pl.members.map((m) => startMember(h, m, timeoutMs))),
    bgpEstablished(h, timeoutMs),
    readyAfter(h, watch, (e) => e.event === 'announce' && e.announce !== 'none', timeoutMs),
  ]);
  // The master is the member that holds the address: keepalived adds it on becoming master and
  // removes it on leaving. The notify lines cannot tell: keepalived runs one script per transition,
  // and two scripts started a few ms apart write (and stamp) their lines in either order.
  await waitUntil(`a VRRP master in POP ${pl.pop} (a member holding ${h.config.wellKnown.address})`, () => holder(h) !== undefined, timeoutMs, 25).catch((err: Error) => {
    // The transitions each member went through say why none is master (FAULT: its track script failed).
    const seen = pl.members.map((m) => `${m.node}: ${vrrpStates(h, m).map((x) => `${x.state} at +${x.ms - t0} ms`).join(', ') || 'no transition'}`);
    throw new Error(`${err.message} (VRRP transitions reported since the start, in the notify scripts' own order: ${seen.join('; ')})`);
  });
  return {
    pop: pl.pop,
    totalMs: Date.now() - t0,
    backendMs: Math.max(0, ...backends),
    connectorsMs: Object.fromEntries(pl.connectors.map((c, i) => [c, connectors[i]!])),
    layer1Ms: Object.fromEntries(pl.members.map((m, i) => [m.node, members[i]!.layer1Ms])),
    layer1ServingMs: Object.fromEntries(pl.members.map((m, i) => [m.node, members[i]!.servingMs])),
    keepalivedMs: Object.fromEntries(pl.members.map((m, i) => [m.node, members[i]!.keepalivedMs])),
    bgpMs,
    announceMs,
  };
}

/** BIRD of the edge spawned → an upstream session Established, by BIRD's own account (birdc). */
async function bgpEstablished(h: PopHost, timeoutMs: number): Promise<number> {
  const bird = new Birdc(birdSocket(h));
  await waitUntil(`BIRD of POP ${h.pl.pop} to establish its upstream session`, async () => (await bird.protocols()).some((p) => p.name.startsWith('vcp_up') && p.info.startsWith('Established')), timeoutMs, 25);
  return Date.now() - h.run.spawned(`${h.pl.pop}.bird`)!.spawnedAt;
}

/** The names of every process of the POP in the run dir. */
export function popProcesses(h: PopHost): string[] {
  const nodes = h.pl.members.map((m) => `${m.node}.`);
  return h.run.names().filter((n) => n.startsWith(`${h.pl.pop}.`) || nodes.some((p) => n.startsWith(p)));
}

/**
 * A pair member dies: its link goes down at once, then its processes are killed (no goodbye advert).
 * Returns when the link went down.
 */
export function killMember(h: PopHost, m: MemberLayout): number {
  sh('ip', ['link', 'set', m.iface, 'down'], { ns: m.ns });
  const downAt = Date.now();
  for (const n of [`${m.node}.keepalived`, `${m.node}.layer1`]) h.run.kill(n);
  return downAt;
}

/** Bring a dead member back: drop the address it still has configured, link up, start its processes. */
export async function restoreMember(h: PopHost, m: MemberLayout): Promise<{ layer1Ms: number; servingMs: number; keepalivedMs: number }> {
  for (const n of [`${m.node}.keepalived`, `${m.node}.layer1`]) await h.run.stop(n, 'SIGKILL', 1000);
  sh('ip', ['addr', 'del', `${h.config.wellKnown.address}/32`, 'dev', m.iface], { ns: m.ns, allowFail: true });
  sh('ip', ['link', 'set', m.iface, 'up'], { ns: m.ns });
  // The default route went with the link.
  sh('ip', ['route', 'replace', 'default', 'via', h.pl.lanAddress], { ns: m.ns });
  return startMember(h, m);
}

/**
 * The whole POP goes at once, as in a power cut: its uplink falls silent first (the upstream notices
 * only by BFD), then every process of the POP is killed. Returns when the uplink fell silent.
 */
export function popCut(h: PopHost): number {
  const uplink = uplinkIf(h);
  writeFileSync(h.run.file(h.pl.pop, 'uplink-if'), uplink);
  // Nothing is forwarded from the upstream any more, and without its address the edge sends nothing
  // (BFD falls silent): both in one command, a few microseconds apart.
  sh('sh', ['-c', `sysctl -qw net.ipv4.conf.${uplink}.forwarding=0 && ip addr flush dev ${uplink}`], { ns: h.pl.edgeNs });
  // From here the POP is gone for the rest of the network; what follows happens behind it.
  const silentAt = Date.now();
  for (const n of popProcesses(h)) h.run.kill(n);
  for (const m of h.pl.members) sh('ip', ['link', 'set', m.iface, 'down'], { ns: m.ns });
  return silentAt;
}

/** The POP comes back: uplink address, members' links, then every process as at start. */
export async function popRestore(h: PopHost): Promise<PopStartup> {
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
  return popStart(h);
}

/** The edge's interface towards the upstream: the one that carries (or carried) the uplink address. */
export function uplinkIf(h: PopHost): string {
  const out = sh('ip', ['-j', 'addr', 'show'], { ns: h.pl.edgeNs }).out;
  const links = JSON.parse(out) as Array<{ ifname: string; addr_info?: Array<{ local?: string }> }>;
  const found = links.find((l) => (l.addr_info ?? []).some((a) => a.local === h.pl.uplinkAddress));
  if (found) return found.ifname;
  throw new LabError(`no interface of POP ${h.pl.pop}'s edge carries ${h.pl.uplinkAddress}`);
}
