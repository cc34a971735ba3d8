import { request } from 'node:http';
import type { Config } from '../../shared/config/types.js';
import { popFailover } from '../../shared/config/identity.js';

export interface TierProbe {
  id: string;
  tier: 'layer1' | 'connector';
  url: string;
}

/** The local tiers of a POP: each layer-1 member's health listener and each connector worker's /health. */
export function tierProbes(config: Config, pop: string): TierProbe[] {
  const pf = popFailover(config, pop);
  const port = config.layer1.healthListener.port;
  const l1 = pf.pair.members.map((m) => ({ id: `layer1/${m.name}`, tier: 'layer1' as const, url: `http://${m.address}:${port}/health` }));
  const workers = config.connectors
    .filter((c) => c.pop === pop)
    .flatMap((c) => c.endpoints)
    .map((ep) => ({ id: `connector/${ep.id}`, tier: 'connector' as const, url: `http://${ep.address}:${ep.health}/health` }));
  return [...l1, ...workers];
}

/** 200 within the timeout = up; anything else (refused, timeout, other status) = down. */
export function probe(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    const timer = setTimeout(() => req.destroy(), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function probeAll(probes: readonly TierProbe[], timeoutMs: number): Promise<Map<string, boolean>> {
  const results = await Promise.all(probes.map((p) => probe(p.url, timeoutMs)));
  return new Map(probes.map((p, i) => [p.id, results[i]!]));
}

/** The POP serves when at least one layer-1 member and `minWorkers` connector workers answer. */
export function tiersVerdict(probes: readonly TierProbe[], up: ReadonlyMap<string, boolean>, minWorkers: number): { ok: boolean; reason: string } {
  const l1 = probes.filter((p) => p.tier === 'layer1');
  const workers = probes.filter((p) => p.tier === 'connector');
  const l1Up = l1.filter((p) => up.get(p.id)).length;
  const wUp = workers.filter((p) => up.get(p.id)).length;
  const summary = `layer 1 ${l1Up}/${l1.length} up, connector workers ${wUp}/${workers.length} up`;
  if (l1Up === 0) return { ok: false, reason: `${summary}: no layer-1 member answers` };
  if (wUp < minWorkers) return { ok: false, reason: `${summary}: fewer than ${minWorkers} connector worker(s) answer` };
  return { ok: true, reason: summary };
}

/** fall consecutive bad verdicts make it unhealthy, rise consecutive good ones healthy again. */
export class Debounce {
  #healthy: boolean;
  #streak = 0;
  constructor(
    private readonly fall: number,
    private readonly rise: number,
    initial = false,
  ) {
    this.#healthy = initial;
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  /** Feed one verdict; returns the debounced state. */
  push(ok: boolean): boolean {
    if (ok === this.#healthy) {
      this.#streak = 0;
      return this.#healthy;
    }
    this.#streak++;
    if (this.#streak >= (ok ? this.rise : this.fall)) {
      this.#healthy = ok;
      this.#streak = 0;
    }
    return this.#healthy;
  }
}
