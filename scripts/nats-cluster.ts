import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * A NATS cluster with JetStream for profile replication (Debian's nats-server 2.9): one process per
 * node, each with its client port, cluster port (routes to every other node), monitoring port and a
 * JetStream store directory of its own. Used by the tests, the replication benchmark, demos and the
 * multi-POP drill (`scripts/nats`, below).
 */

export interface NatsNodeSpec {
  name: string;
  address: string;
  clientPort: number;
  clusterPort: number;
  httpPort: number;
  /** JetStream store directory, log file and pid file live under it */
  dir: string;
}

export interface ClusterSpec {
  cluster: string;
  /** nodes run from here */
  nodes: NatsNodeSpec[];
  /** route URLs of nodes of the same cluster run elsewhere (another host, another namespace) */
  peers: string[];
  /** extra nats-server arguments, e.g. ["--auth", TOKEN] */
  extra?: string[];
}

export const clientUrl = (n: NatsNodeSpec): string => `nats://${n.address}:${n.clientPort}`;
const routeUrl = (n: NatsNodeSpec): string => `nats://${n.address}:${n.clusterPort}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `127.0.11.1` + 2 → `127.0.11.3`. */
export function nthAddress(first: string, i: number): string {
  const parts = first.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`not an IPv4 address: ${first}`);
  parts[3]! += i;
  if (parts[3]! > 254) throw new Error(`${first} + ${i} leaves the /24`);
  return parts.join('.');
}

/** The nodes of a cluster on consecutive addresses, same ports on each. */
export function localCluster(o: { nodes: number; address: string; dir: string; clientPort?: number; clusterPort?: number; httpPort?: number; cluster?: string; peers?: string[] }): ClusterSpec {
  const nodes: NatsNodeSpec[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const address = nthAddress(o.address, i);
    nodes.push({
      name: `nats-${address.replace(/\./g, '-')}`, address, clientPort: o.clientPort ?? 4222, clusterPort: o.clusterPort ?? 6222, httpPort: o.httpPort ?? 8222,
      dir: resolve(o.dir, address),
    });
  }
  return { cluster: o.cluster ?? 'vcp', nodes, peers: o.peers ?? [] };
}

/** nats-server's command line for one node of the cluster. */
export function natsArgs(spec: ClusterSpec, n: NatsNodeSpec): string[] {
  const args = ['--server_name', n.name, '-a', n.address, '-p', String(n.clientPort), '-m', String(n.httpPort), '-js', '-sd', n.dir, '-l', `${n.dir}/nats.log`, '-P', `${n.dir}/nats.pid`];
  const routes = [...spec.nodes.filter((o) => o !== n).map(routeUrl), ...spec.peers];
  if (routes.length > 0) args.push('--cluster_name', spec.cluster, '--cluster', routeUrl(n), '--routes', routes.join(','));
  return [...args, ...(spec.extra ?? [])];
}

async function getJson(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return r.ok ? ((await r.json()) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** JetStream usable on the node: a metadata leader elected (clustered) or JetStream enabled (single). */
export async function nodeReady(spec: ClusterSpec, n: NatsNodeSpec): Promise<boolean> {
  const jsz = await getJson(`http://${n.address}:${n.httpPort}/jsz`);
  if (!jsz || !jsz.config) return false;
  if (spec.nodes.length + spec.peers.length === 1) return true;
  return typeof (jsz.meta_cluster as { leader?: unknown } | undefined)?.leader === 'string';
}

/** A cluster whose nodes are children of this process (tests, benchmarks): gone when it exits. */
export class NatsCluster {
  readonly spec: ClusterSpec;
  readonly #children = new Map<string, ChildProcess>();
  static readonly #all = new Set<ChildProcess>();
  static {
    process.on('exit', () => {
      for (const c of NatsCluster.#all) c.kill('SIGKILL');
    });
  }

  constructor(spec: ClusterSpec) {
    this.spec = spec;
  }

  urls(name?: string): string[] {
    return this.spec.nodes.filter((n) => !name || n.name === name || n.address === name).map(clientUrl);
  }

  node(nameOrAddress: string): NatsNodeSpec {
    const n = this.spec.nodes.find((x) => x.name === nameOrAddress || x.address === nameOrAddress);
    if (!n) throw new Error(`no NATS node ${nameOrAddress}`);
    return n;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    for (const n of this.spec.nodes) this.#spawn(n);
    await this.waitReady(this.spec.nodes, timeoutMs);
  }

  #spawn(n: NatsNodeSpec): void {
    mkdirSync(n.dir, { recursive: true });
    const child = spawn('nats-server', natsArgs(this.spec, n), { stdio: 'ignore' });
    child.on('error', () => undefined);
    NatsCluster.#all.add(child);
    child.on('exit', () => NatsCluster.#all.delete(child));
    this.#children.set(n.name, child);
  }

  async waitReady(nodes = this.spec.nodes, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (const n of nodes) {
      while (!(await nodeReady(this.spec, n))) {
        const c = this.#children.get(n.name);
        if (c && (c.exitCode !== null || c.signalCode !== null)) throw new Error(`nats-server ${n.name} exited (${c.exitCode ?? c.signalCode}); see ${n.dir}/nats.log`);
        if (Date.now() > until) throw new Error(`nats-server ${n.name} not ready after ${timeoutMs} ms; see ${n.dir}/nats.log`);
        await sleep(100);
      }
    }
  }

  /** Stop one node (SIGKILL: as if its POP vanished); its store stays for `restart`. */
  async stopNode(nameOrAddress: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const n = this.node(nameOrAddress);
    const c = this.#children.get(n.name);
    this.#children.delete(n.name);
    if (c) await stopChild(c, signal);
  }

  /** Start a stopped node again on its store (nothing when it runs). */
  async restartNode(nameOrAddress: string, timeoutMs = 30_000): Promise<void> {
    const n = this.node(nameOrAddress);
    const c = this.#children.get(n.name);
    if (c && c.exitCode === null && c.signalCode === null) return;
    this.#spawn(n);
    await this.waitReady([n], timeoutMs);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#children.values()].map((c) => stopChild(c, 'SIGTERM')));
    this.#children.clear();
  }
}

function stopChild(c: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    c.once('exit', () => resolve());
    c.kill(signal);
    setTimeout(() => c.kill('SIGKILL'), 5000).unref();
  });
}

// ---- command line: scripts/nats start|stop|status -----------------------------------------------

const USAGE = `usage: scripts/nats start [--nodes N] [--address A] [--peers A,B] [--dir DIR] [--client-port P]
                         [--cluster-port P] [--http-port P] [--cluster NAME] [--auth TOKEN] [--no-wait]
       scripts/nats stop [--dir DIR]
       scripts/nats status [--dir DIR]

start   N nats-server processes with JetStream on consecutive addresses from A (default: 3 from
        127.0.30.1), routes between them and to --peers (addresses of nodes of the same cluster
        started elsewhere, e.g. in another network namespace, same cluster port), stores under
        DIR/<address> (default var/nats); detached; waits until JetStream has a leader (--no-wait:
        only until the nodes answer). Prints the client URLs.
stop    SIGTERM to every node started under DIR, then SIGKILL after 5 s.
status  each node under DIR: pid, running or not, JetStream leader.`;

function pidOf(dir: string): number | undefined {
  const f = `${dir}/nats.pid`;
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function cli(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      nodes: { type: 'string', default: '3' }, address: { type: 'string', default: '127.0.30.1' }, peers: { type: 'string', default: '' },
      dir: { type: 'string', default: 'var/nats' }, 'client-port': { type: 'string', default: '4222' }, 'cluster-port': { type: 'string', default: '6222' },
      'http-port': { type: 'string', default: '8222' }, cluster: { type: 'string', default: 'vcp' }, auth: { type: 'string' }, 'no-wait': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const cmd = positionals[0];
  if (values.help || !cmd) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const dir = resolve(values.dir);
  if (cmd === 'start') {
    const clusterPort = Number(values['cluster-port']);
    const spec = localCluster({
      nodes: Number(values.nodes), address: values.address, dir, clientPort: Number(values['client-port']), clusterPort, httpPort: Number(values['http-port']),
      cluster: values.cluster, peers: values.peers ? values.peers.split(',').map((a) => `nats://${a.trim()}:${clusterPort}`) : [],
    });
    if (values.auth) spec.extra = ['--auth', values.auth];
    for (const n of spec.nodes) {
      const pid = pidOf(n.dir);
      if (pid && alive(pid)) {
        process.stderr.write(`nats: ${n.name} already runs (pid ${pid}); scripts/nats stop --dir ${values.dir} first\n`);
        return 1;
      }
      mkdirSync(n.dir, { recursive: true });
      const out = openSync(`${n.dir}/stderr.log`, 'a');
      const child = spawn('nats-server', natsArgs(spec, n), { detached: true, stdio: ['ignore', out, out] });
      child.on('error', (err) => process.stderr.write(`nats: cannot start nats-server (${err.message}); ./scripts/install --test installs it\n`));
      child.unref();
    }
    writeFileSync(`${dir}/cluster.json`, `${JSON.stringify(spec, null, 2)}\n`);
    const cluster = new NatsCluster(spec);
    try {
      if (values['no-wait']) {
        const until = Date.now() + 15_000;
        for (const n of spec.nodes) while (!(await getJson(`http://${n.address}:${n.httpPort}/varz`))) {
          if (Date.now() > until) throw new Error(`${n.name} does not answer; see ${n.dir}/nats.log`);
          await sleep(100);
        }
      } else await cluster.waitReady(spec.nodes, 30_000);
    } catch (err) {
      process.stderr.write(`nats: ${(err as Error).message}\n`);
      return 1;
    }
    process.stdout.write(`${spec.nodes.map(clientUrl).join('\n')}\n`);
    return 0;
  }
  if (cmd === 'stop' || cmd === 'status') {
    const nodes = existsSync(dir) ? readdirSync(dir).filter((d) => existsSync(`${dir}/${d}/nats.pid`)) : [];
    if (nodes.length === 0) {
      process.stdout.write(`nats: no node under ${dir}\n`);
      return cmd === 'stop' ? 0 : 1;
    }
    let bad = 0;
    for (const d of nodes) {
      const pid = pidOf(`${dir}/${d}`);
      const up = pid !== undefined && alive(pid);
      if (cmd === 'status') {
        const jsz = up ? await getJson(`http://${d}:${readSpecPort(dir, d)}/jsz`) : undefined;
        const leader = (jsz?.meta_cluster as { leader?: string } | undefined)?.leader;
        process.stdout.write(`${d} pid ${pid ?? '-'} ${up ? 'running' : 'stopped'}${leader ? ` leader ${leader}` : ''}\n`);
        if (!up) bad++;
        continue;
      }
      if (!up) continue;
      process.kill(pid, 'SIGTERM');
      const until = Date.now() + 5000;
      while (alive(pid) && Date.now() < until) await sleep(50);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(`${dir}/${d}/nats.pid`, { force: true });
      process.stdout.write(`${d} stopped\n`);
    }
    return bad ? 1 : 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return 2;
}

function readSpecPort(dir: string, address: string): number {
  try {
    const spec = JSON.parse(readFileSync(`${dir}/cluster.json`, 'utf8')) as ClusterSpec;
    return spec.nodes.find((n) => n.address === address)?.httpPort ?? 8222;
  } catch {
    return 8222;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  cli(process.argv.slice(2)).then((code) => process.exit(code), (err: unknown) => {
    process.stderr.write(`nats: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
