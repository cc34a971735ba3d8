import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { join } from 'node:path';
import { ProfileStore } from '../../layer2/profiles/store.js';
import type { Counter, ServerRecord } from '../../layer2/decide/types.js';
import { dist, httpGet, node, start, waitFor, type Proc } from './procs.js';

/**
 * Connector hosts of two POPs on one machine, as the replication tests run them: POP a's connector
 * `ca` and POP b's `cb`, each with a profile directory and a config file of its own (they differ only
 * in `profiles.path`), each host's replicator on its own NATS server.
 */
export interface PopHostsOptions {
  dir: string;
  /** first three octets of the connectors' block and an offset in it: 127.0.14 and 0 → well-known
   * address .1, ca .2, cb .3, servers a-1 .10 and b-1 .11 (offset 20: .21, .22, .23, .30, .31) */
  net: string;
  offset?: number;
  /** NATS client URL of each host */
  nats: { ca: string[]; cb: string[] };
  /** the stream (its subjects: `<stream in lower case>.profiles.>`, so that tests sharing a cluster do not overlap) */
  stream: string;
  replicas: number;
  /** extra top-level YAML (learning, techniques, geo...) */
  extra?: string;
}

export type Host = 'ca' | 'cb';
export const TOKEN = 'replication-test-token-0123456789';

export class PopHosts {
  readonly o: PopHostsOptions;
  readonly #procs = new Map<Host, Proc>();
  readonly #stores = new Map<Host, ProfileStore>();
  /** output of connectors stopped since */
  readonly #last = new Map<Host, string>();
  #nats: NatsConnection | undefined;

  constructor(o: PopHostsOptions) {
    this.o = o;
    for (const h of ['ca', 'cb'] as const) {
      mkdirSync(join(o.dir, h), { recursive: true });
      writeFileSync(this.configFile(h), this.#config(h));
    }
  }

  /** An address of the block: `at(2)` is ca's. */
  at(n: number): string {
    return `${this.o.net}.${(this.o.offset ?? 0) + n}`;
  }

  address(h: Host): string {
    return this.at(h === 'ca' ? 2 : 3);
  }

  configFile(h: Host): string {
    return join(this.o.dir, h, 'config.yaml');
  }

  profiles(h: Host): string {
    return join(this.o.dir, h, 'profiles');
  }

  #config(h: Host): string {
    return `
pop: a
wellKnown: { address: ${this.at(1)}, sip: 5060 }
pops: [ { name: a, region: eu }, { name: b, region: us } ]
connectors:
  - { name: ca, pop: a, address: ${this.at(2)}, workers: 1, ports: { sip: 25060, health: 18080 } }
  - { name: cb, pop: b, address: ${this.at(3)}, workers: 1, ports: { sip: 25060, health: 18080 } }
servers:
  - { name: a-1, pop: a, address: ${this.at(10)}, sipPort: 5060, probe: none }
  - { name: b-1, pop: b, address: ${this.at(11)}, sipPort: 5060, probe: none }
profiles: { path: ${this.profiles(h)} }
admin: { port: 9300, token: ${TOKEN} }
replication:
  servers: [${this.o.nats.ca.join(', ')}]
  stream: ${this.o.stream}
  subjectPrefix: ${this.o.stream.toLowerCase()}.profiles
  replicas: ${this.o.replicas}
  ackWaitMs: 2000
  pingIntervalMs: 1000
  reconnect: { waitMs: 250, jitterMs: 50 }
  hosts:
    ca: { servers: [${this.o.nats.ca.join(', ')}] }
    cb: { servers: [${this.o.nats.cb.join(', ')}] }
${this.o.extra ?? ''}
`;
  }

  /** Start a host's connector (supervisor, one worker, admin API, replicator) and wait for it. */
  async start(h: Host): Promise<Proc> {
    const p = node('layer2/main.js', ['--config', this.configFile(h), '--connector', h], { VCP_LOG_LEVEL: 'info' });
    this.#procs.set(h, p);
    await waitFor(`connector ${h}`, async () => (await httpGet(`http://${this.address(h)}:18080/health`)).status === 200 && (await httpGet(`http://${this.address(h)}:9300/health`)).status === 200);
    return p;
  }

  proc(h: Host): Proc {
    const p = this.#procs.get(h);
    if (!p) throw new Error(`connector ${h} not started`);
    return p;
  }

  /** Stop a host's connector (SIGKILL: the supervisor dies at once; its worker follows it) and wait until its ports are free. */
  async stop(h: Host, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.#procs.get(h);
    await p?.stop(signal);
    if (p) this.#last.set(h, p.output());
    this.#procs.delete(h);
    await waitFor(`connector ${h} gone`, async () => {
      try {
        await httpGet(`http://${this.address(h)}:18080/health`, 300);
        return false;
      } catch {
        return true;
      }
    });
  }

  /** The last lines a host's connector wrote (for failure messages). */
  logs(h: Host, lines = 40): string {
    const out = this.#procs.get(h)?.output() ?? this.#last.get(h) ?? '';
    return out.trim().split('\n').slice(-lines).join('\n');
  }

  /** The host's profile store, opened from this process (reads only). */
  store(h: Host): ProfileStore {
    let s = this.#stores.get(h);
    if (!s) {
      s = ProfileStore.open(this.profiles(h), { origin: `test/${h}` });
      this.#stores.set(h, s);
    }
    return s;
  }

  async metrics(h: Host): Promise<string> {
    return (await httpGet(`http://${this.address(h)}:9300/metrics`)).body;
  }

  async admin(h: Host, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`http://${this.address(h)}:9300${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /**
   * True when each host's consumer of the stream holds nothing unacknowledged and nothing undelivered:
   * from then on no message can be delivered again, so counters read now are final.
   */
  async settled(): Promise<boolean> {
    this.#nats ??= await connect({ servers: [...this.o.nats.ca, ...this.o.nats.cb] });
    const jsm = await jetstreamManager(this.#nats);
    for (const h of ['ca', 'cb'] as const) {
      const info = await jsm.consumers.info(this.o.stream, h);
      if (info.num_ack_pending !== 0 || info.num_pending !== 0) return false;
    }
    return true;
  }

  /**
   * What the stream and each side hold, for a failure message: the stream's messages and sequence
   * range, each consumer's delivered and acknowledged positions, and each running connector's
   * replication counters (received by result, rejected, published, apply errors). Tells a message
   * that never reached the stream from one delivered and acknowledged without being applied.
   */
  async diagnose(): Promise<string> {
    const out: string[] = [];
    try {
      this.#nats ??= await connect({ servers: [...this.o.nats.ca, ...this.o.nats.cb] });
      const jsm = await jetstreamManager(this.#nats);
      const si = await jsm.streams.info(this.o.stream);
      out.push(`stream ${this.o.stream}: ${si.state.messages} messages, seq ${si.state.first_seq}..${si.state.last_seq}, leader ${si.cluster?.leader ?? '?'}, replicas ${(si.cluster?.replicas ?? []).map((r) => `${r.name}${r.current ? '' : ' (behind)'}`).join(' ')}`);
      for (const h of ['ca', 'cb'] as const) {
        const ci = await jsm.consumers.info(this.o.stream, h).catch((e: Error) => e);
        if (ci instanceof Error) {
          out.push(`consumer ${h}: ${ci.message}`);
          continue;
        }
        out.push(`consumer ${h}: delivered stream seq ${ci.delivered.stream_seq}, ack floor ${ci.ack_floor.stream_seq}, pending ${ci.num_pending}, ack pending ${ci.num_ack_pending}, redelivered ${ci.num_redelivered}, waiting pulls ${ci.num_waiting}, leader ${ci.cluster?.leader ?? '?'}`);
      }
    } catch (err) {
      out.push(`stream: ${(err as Error).message}`);
    }
    for (const h of ['ca', 'cb'] as const) {
      if (!this.#procs.has(h)) continue;
      try {
        const lines = (await this.metrics(h)).split('\n').filter((l) => /^vcp_replication_(received|rejected|published|publish_errors|apply_errors)_total/.test(l));
        out.push(`${h} metrics: ${lines.join(', ')}`);
      } catch (err) {
        out.push(`${h} metrics: ${(err as Error).message}`);
      }
    }
    return out.join('\n');
  }

  async close(): Promise<void> {
    await this.#nats?.close().catch(() => undefined);
    this.#nats = undefined;
    await Promise.all([...this.#procs.keys()].map((h) => this.stop(h).catch(() => undefined)));
    for (const s of this.#stores.values()) await s.close();
    this.#stores.clear();
  }
}

/** A metric's value from Prometheus text (first series matching the labels). */
export function metric(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (labels ? rest.startsWith(`{${labels}`) || rest.includes(`,${labels}`) : rest.startsWith(' ') || rest.startsWith('{')) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return undefined;
}

/** Run the outbox writer (test/helpers/repl-writer.ts) to the end. */
export function writeEvents(path: string, origin: string, count: number, perSecond?: number, holdAt?: number): Proc & { done: Promise<number | null>; acked: () => number; release: () => void } {
  const p = start(process.execPath, [dist('test/helpers/repl-writer.js'), path, origin, String(count), ...(perSecond || holdAt ? [String(perSecond ?? 0)] : []), ...(holdAt ? [String(holdAt)] : [])]);
  let acked = 0;
  p.child.stdout!.on('data', (b: Buffer) => {
    const m = /ack (\d+)\n$/.exec(b.toString());
    if (m) acked = Number(m[1]);
  });
  return { ...p, done: p.exited, acked: () => acked, release: () => void p.child.kill('SIGUSR2') };
}

/** What `writeEvents` runs of n events add to its host's class and server counters. */
export function expectedCounters(runs: number[]): { a: number; s: number; f: number; l: number; n: number } {
  const c = { a: 0, s: 0, f: 0, l: 0, n: 0 };
  for (const n of runs) {
    for (let i = 1; i <= n; i++) {
      c.a++;
      if (i % 3 !== 0) c.s++;
      else c.f++;
      c.l += i % 50;
      c.n++;
    }
  }
  return c;
}

/** The integer counters of host `writer`'s class and server in `store` (undefined: nothing yet). */
export function countersOf(store: ProfileStore, writer: Host): { cls: Counter | undefined; srv: ServerRecord | undefined } {
  return { cls: store.classProfile(`sip/${writer}`)?.t.proxy, srv: store.networkProfile('p4:198.51.100.0/24')?.servers[`s-${writer}`] };
}

export const pick = (c: Counter | undefined): { a: number; s: number; f: number; l: number; n: number } | undefined => (c ? { a: c.a, s: c.s, f: c.f, l: c.l, n: c.n } : undefined);
