import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseDocument } from 'yaml';
import { loadConfigFile } from '../../shared/config/load.js';
import type { Config } from '../../shared/config/types.js';
import { Birdc } from '../failover/birdc.js';
import { alive, dist, inNs, type RunDir, sh, waitUntil } from './exec.js';
import { LAB, labLayout, type LabLayout, type PopLayout } from './layout.js';
import { hostLinksUp } from './netns.js';
import { birdSocket, holders, popNetworkUp, popStart, type PopHost, type PopStartup, stateDir, vrrpStates } from './pop.js';
import type { ProbeResult } from './prober.js';
import { routerNextHop, routerStart } from './router.js';

/** What the lab's start-up took: every POP's pieces, and when the router learnt each announcement. */
export interface LabStartup {
  totalMs: number;
  /** Namespaces, links and addresses. */
  networkMs: number;
  pops: PopStartup[];
  /** Build start → the router has the POP's announcement. */
  routerLearntMs: Record<string, number>;
}

/** One POP's start-up figures on one line. */
export function startupLine(s: PopStartup): string {
  const each = (r: Record<string, number>): string => Object.entries(r).map(([k, v]) => `${k} ${v}`).join(', ');
  return `backend ${s.backendMs} ms; connectors ${each(s.connectorsMs)} ms; layer 1 ${each(s.layer1Ms)} ms, serving ${each(s.layer1ServingMs)} ms; keepalived ${each(s.keepalivedMs)} ms; BGP established ${s.bgpMs} ms; watch announces ${s.announceMs} ms`;
}

/** The whole drill lab in network namespaces: hosts, links, every process, and the prober. */
export class Lab {
  readonly hosts = new Map<string, PopHost>();
  readonly probes: ProbeResult[] = [];
  #prober: ChildProcess | undefined;
  routerSocket = '';

  /** Flows pinned at the router to the POP they started on (router.ts). */
  pin = true;
  /** Recovery times are targets (< 1 s); false: figures only (the test suite's functional run). */
  timed = true;

  private constructor(
    readonly config: Config,
    readonly topology: string,
    readonly layout: LabLayout,
    readonly run: RunDir,
  ) {
    // Every POP host has its own copy of the one topology file, as separate machines do: what the
    // connectors keep next to it (learned profiles, the admin token) stays on that host.
    for (const pl of layout.pops) {
      const copy = run.file(pl.pop, 'topology.yaml');
      copyFileSync(topology, copy);
      this.hosts.set(pl.pop, { config, topology: copy, pl, run });
    }
  }

  /**
   * Copy the topology into the run dir with the policy the drill was asked for (the file itself is
   * left alone), validate it like every process will.
   */
  static prepare(run: RunDir, source: string, prefix: string, policy: { anycast?: boolean | undefined; failback?: 'automatic' | 'manual' | undefined }): Lab {
    const doc = parseDocument(readFileSync(source, 'utf8'));
    if (policy.anycast !== undefined) doc.setIn(['failover', 'anycast'], policy.anycast);
    if (policy.failback !== undefined) doc.setIn(['failover', 'failback'], policy.failback);
    const topology = run.file('topology.yaml');
    writeFileSync(topology, doc.toString());
    const config = loadConfigFile(topology, {});
    return new Lab(config, topology, labLayout(config, prefix), run);
  }

  get policy(): NonNullable<Config['failover']> {
    return this.config.failover!;
  }

  host(pop: string): PopHost {
    return this.hosts.get(pop)!;
  }

  pop(pop: string): PopLayout {
    return this.host(pop).pl;
  }

  /**
   * When the router's main table started sending the address to `pop` after `after` (ms since the
   * epoch), from `ip monitor route`; null when it has not (yet).
   */
  routeMovedAt(pop: string, after: number): number | null {
    const hop = this.pop(pop).uplinkAddress;
    const wk = this.config.wellKnown.address;
    for (const line of this.run.linesSince('router.routes')) {
      const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\d*\] (.*)$/.exec(line);
      if (!m || m[2]!.includes(' table ') || m[2]!.startsWith('Deleted')) continue;
      if (!m[2]!.startsWith(`${wk} `) && !m[2]!.startsWith(`${wk}/32 `)) continue;
      const at = Date.parse(m[1]!);
      if (at >= after && m[2]!.includes(` via ${hop} `)) return at;
    }
    return null;
  }

  /**
   * The router's changes of the route to the well-known address since `after`, as `ip monitor` wrote
   * them (time-stamped), those of the per-POP pinning tables only when `tables`.
   */
  routeLines(after: number, tables: boolean): string[] {
    const wk = this.config.wellKnown.address;
    return this.run.linesSince('router.routes').filter((line) => {
      const m = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\d*\] (?:Deleted )?(\S+)/.exec(line);
      return m !== null && Date.parse(m[1]!) >= after && (m[2] === wk || m[2] === `${wk}/32`) && line.includes(' table ') === tables;
    });
  }

  /** Which POP the router sends the well-known address to now, by its next hop. */
  carrierPop(): string | undefined {
    const hop = routerNextHop(this.config, this.layout.routerNs);
    return this.layout.pops.find((p) => p.uplinkAddress === hop)?.pop;
  }

  /**
   * Both POPs at once, every piece as soon as what it needs is ready (pop.ts). Resolves when every
   * piece is ready and the router has converged: the primary carries the address and, with anycast,
   * every POP's announcement is in the router's table. Returns the start-up figures.
   */
  async build(log: (line: string) => void, timeoutMs = 60_000): Promise<LabStartup> {
    const t0 = Date.now();
    hostLinksUp(this.layout);
    this.routerSocket = routerStart(this.config, this.run, this.layout.routerNs, { pin: this.pin, table: `${this.layout.prefix.replace(/-/g, '_')}_pin` });
    // Every change of the router's kernel routes, time-stamped: when traffic really moved.
    this.run.start('router.routes', this.layout.routerNs, 'ip', ['-ts', 'monitor', 'route']);
    for (const pl of this.layout.pops) popNetworkUp(this.host(pl.pop));
    const networkMs = Date.now() - t0;
    const bird = new Birdc(this.routerSocket);
    const seenAt = new Map<string, number>();
    const wk = `${this.config.wellKnown.address}/32`;
    // The router's view: when each POP's announcement arrives (its AS ends the path).
    const watchRoutes = (async () => {
      const want = this.policy.anycast ? this.layout.pops.length : 1;
      await waitUntil(`the router to learn ${wk} from ${this.policy.anycast ? 'every POP' : `POP ${this.policy.primary}`}`, async () => {
        for (const r of await bird.routes(wk)) {
          const pop = this.config.failover!.pops.find((p) => p.bgp.localAs === r.asPath[r.asPath.length - 1]);
          if (pop && !seenAt.has(pop.pop)) seenAt.set(pop.pop, Date.now() - t0);
        }
        return seenAt.size >= want && this.carrierPop() === this.policy.primary;
      }, timeoutMs, 25);
    })();
    const pops = await Promise.all(
      this.layout.pops.map(async (pl) => {
        const s = await popStart(this.host(pl.pop), timeoutMs);
        log(`POP ${pl.pop} ready in ${s.totalMs} ms (${startupLine(s)})`);
        return s;
      }),
    );
    await watchRoutes;
    const totalMs = Date.now() - t0;
    log(`lab ready in ${totalMs} ms: router routes ${wk} to POP ${this.carrierPop()}; announcements at the router after ${[...seenAt].map(([p, ms]) => `${p} ${ms} ms`).join(', ')}`);
    return { totalMs, networkMs, pops, routerLearntMs: Object.fromEntries(seenAt) };
  }

  /**
   * The lab is as after its start: the primary carries the address, with anycast every POP's
   * announcement is at the router, and every POP's pair has a master and a backup.
   */
  async converged(timeoutMs: number): Promise<number> {
    const bird = new Birdc(this.routerSocket);
    const want = this.policy.anycast ? this.layout.pops.length : 1;
    return waitUntil('the lab to settle (primary carries, every announcement in, a master and a backup per pair)', async () => {
      if (this.carrierPop() !== this.policy.primary) return false;
      if ((await bird.routes(`${this.config.wellKnown.address}/32`)).length !== want) return false;
      // One member holds the address (the master) and the other's keepalived runs and is not in
      // FAULT: a backup. Who is master is read from the address, not from the notify lines (pop.ts).
      const keepalivedAlive = (node: string): boolean => {
        const pid = this.run.spawned(`${node}.keepalived`)?.pid ?? 0;
        return pid > 0 && alive(pid);
      };
      return this.layout.pops.every((pl) => {
        const h = this.host(pl.pop);
        const held = holders(h);
        return held.length === 1 && pl.members.every((m) => m === held[0] || ((vrrpStates(h, m).at(-1)?.state ?? 'FAULT') !== 'FAULT' && keepalivedAlive(m.node)));
      });
    }, timeoutMs, 50);
  }

  /**
   * Every probe sent before `at` has reported (answered, failed or timed out). Probes are numbered
   * in the order they are sent: once one sent at or after `at` has reported, every lower number must.
   */
  async probesSettled(at: number, timeoutMs = 60_000): Promise<void> {
    await waitUntil('the prober to report every probe sent so far', () => {
      const later = this.probes.filter((p) => p.sentAt >= at);
      if (later.length === 0) return false;
      const first = Math.min(...later.map((p) => p.seq));
      const seen = new Set(this.probes.map((p) => p.seq));
      for (let q = 1; q < first; q++) if (!seen.has(q)) return false;
      return true;
    }, timeoutMs, 20);
  }

  startProber(intervalMs = 50): void {
    const [cmd, args] = inNs(this.layout.clientNs, process.execPath, [dist('scripts/lab/prober.js'), '--target', this.config.wellKnown.address, '--bind', LAB.client.address, '--interval', String(intervalMs), '--timeout', '1000']);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    this.#prober = child;
    const keep = createWriteStream(this.run.log('prober'), { flags: 'a' });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep.write(`${line}\n`);
      try {
        this.probes.push(JSON.parse(line) as ProbeResult);
      } catch {
        // not a probe line
      }
    });
  }

  async stopProber(): Promise<void> {
    const p = this.#prober;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
      setTimeout(() => p.kill('SIGKILL'), 3000).unref();
    });
  }

  /** Run ip-takeover in a POP's edge namespace (as an operator would on that host). */
  ipTakeover(pop: string, args: string[]): { code: number; out: string } {
    const h = this.host(pop);
    return sh(process.execPath, [dist('scripts/failover/ip-takeover.js'), ...args, '--config', h.topology, '--pop', pop, '--bird-socket', birdSocket(h), '--state-dir', stateDir(h), '--log', h.run.log(`${pop}.ip-takeover`)], { ns: h.pl.edgeNs, allowFail: true, timeoutMs: 15_000 });
  }
}
