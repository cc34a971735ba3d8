import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseDocument } from 'yaml';
import { loadConfigFile } from '../../shared/config/load.js';
import type { Config } from '../../shared/config/types.js';
import { Birdc } from '../failover/birdc.js';
import { dist, inNs, type RunDir, sh, waitUntil } from './exec.js';
import { LAB, labLayout, type LabLayout, type PopLayout } from './layout.js';
import { hostLinksUp } from './netns.js';
import { birdSocket, popNetworkUp, popStart, stateDir, type PopHost } from './pop.js';
import type { ProbeResult } from './prober.js';
import { routerNextHop, routerStart } from './router.js';

/** The whole drill lab in network namespaces: hosts, links, every process, and the prober. */
export class Lab {
  readonly hosts = new Map<string, PopHost>();
  readonly probes: ProbeResult[] = [];
  #prober: ChildProcess | undefined;
  routerSocket = '';

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

  /** Which POP the router sends the well-known address to now, by its next hop. */
  carrierPop(): string | undefined {
    const hop = routerNextHop(this.config, this.layout.routerNs);
    return this.layout.pops.find((p) => p.uplinkAddress === hop)?.pop;
  }

  async build(log: (line: string) => void): Promise<void> {
    hostLinksUp(this.layout);
    this.routerSocket = routerStart(this.config, this.run, this.layout.routerNs);
    for (const pl of this.layout.pops) popNetworkUp(this.host(pl.pop));
    // The primary first, so that a cold start ends the way the policy means it to.
    for (const pl of this.layout.pops) {
      const t0 = Date.now();
      await popStart(this.host(pl.pop));
      log(`POP ${pl.pop} up in ${Date.now() - t0} ms (connectors, layer-1 pair, keepalived, BIRD, watch)`);
      if (pl.pop === this.policy.primary) {
        await waitUntil(`the router to send ${this.config.wellKnown.address} to POP ${pl.pop}`, () => this.carrierPop() === pl.pop, 30_000, 100);
      }
    }
    if (this.policy.anycast) {
      const want = this.layout.pops.length;
      const bird = new Birdc(this.routerSocket);
      await waitUntil('every POP announcing to the router', async () => (await bird.routes(`${this.config.wellKnown.address}/32`)).length === want, 30_000, 200);
    }
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
