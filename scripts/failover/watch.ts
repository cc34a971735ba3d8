import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config, PopFailoverConfig } from '../../shared/config/types.js';
import type { Logger } from '../../shared/logger.js';
import type { EdgeControl } from './edge-control.js';
import { arpHolder } from './edge.js';
import { Debounce, probeAll, tiersVerdict, tierProbes } from './health.js';
import { decide, type Announce } from './policy.js';
import { readState, writeState } from './state.js';

/** How long an upstream session must be up before a secondary trusts that no one else carries. */
const SESSION_GRACE_MS = 1000;

/** Time a fresh takeover order has to take effect before the watch may count it as spent. */
const ORDER_GRACE_MS = 2000;

export const heartbeatFile = (dir: string, pop: string): string => join(dir, `watch-${pop}.json`);

/**
 * The health-driven mode: every `watch.intervalMs` probe the local tiers, read who carries the
 * address, decide by the policy and bring the edge to that. Logs every change of health, carrier
 * and announcement. Stopping the watch leaves the announcement as it is.
 */
export class Watch {
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #establishedSince: number | undefined;
  #beat = 0;
  #last: { announce: Announce; healthy: boolean; verdict: boolean; carrier: string; reason: string } | undefined;
  readonly #debounce: Debounce;

  constructor(
    private readonly config: Config,
    private readonly pf: PopFailoverConfig,
    private readonly edge: EdgeControl,
    private readonly stateDir: string,
    private readonly log: Logger,
  ) {
    const w = config.failover!.watch;
    this.#debounce = new Debounce(w.fall, w.rise, false);
  }

  start(): void {
    mkdirSync(this.stateDir, { recursive: true });
    const loop = async (): Promise<void> => {
      const started = Date.now();
      try {
        await this.tick();
      } catch (err) {
        this.log.error({ err, code: (err as { code?: string }).code }, 'watch tick failed; trying again');
      }
      if (this.#stopped) return;
      const wait = Math.max(0, this.config.failover!.watch.intervalMs - (Date.now() - started));
      this.#timer = setTimeout(() => void loop(), wait);
    };
    void loop();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  async tick(): Promise<void> {
    const policy = this.config.failover!;
    const probes = tierProbes(this.config, this.pf.pop);
    const [up, view] = await Promise.all([probeAll(probes, policy.watch.timeoutMs), this.edge.view()]);
    const verdict = tiersVerdict(probes, up, policy.watch.minConnectorWorkers);
    const healthy = this.#debounce.push(verdict.ok);
    const now = Date.now();
    if (view.established) this.#establishedSince ??= now;
    else this.#establishedSince = undefined;
    let state = readState(this.stateDir, this.pf.pop);
    if (state.override === 'takeover' && view.announce === 'none' && now - Date.parse(state.updatedAt || '0') > ORDER_GRACE_MS) {
      // A takeover lasts while this POP keeps announcing. It stopped (unhealthy, BIRD restarted, the
      // POP went down): the order is spent and the policy decides again, failback included.
      state = { ...state, override: undefined, updatedAt: new Date(now).toISOString(), by: 'watch' };
      writeState(this.stateDir, this.pf.pop, state);
      this.log.info({ event: 'order_spent', order: 'takeover' }, "the operator's takeover ends: this POP stopped announcing");
    }
    const input = {
      isPrimary: policy.primary === this.pf.pop,
      anycast: policy.anycast,
      failback: policy.failback,
      healthy,
      override: state.override,
      carrier: view.carrier,
      sessionsReady: this.#establishedSince !== undefined && now - this.#establishedSince >= SESSION_GRACE_MS,
      current: view.announce,
      carriedBefore: state.carriedBefore,
    };
    let d = decide(input);
    // About to start announcing: only when a pair member holds the address (one ARP request).
    if (d.announce !== 'none' && view.announce === 'none') d = decide({ ...input, held: (await arpHolder(this.config.wellKnown.address, this.pf.bgp.edgeInterface).catch(() => undefined)) !== undefined });
    // Re-apply even when the announcement looks right: a route removed by hand comes back.
    const steps = d.announce !== view.announce || (d.announce !== 'none') !== view.routePresent ? await this.edge.apply(d.announce) : [];
    if (d.announce === 'active' && !state.carriedBefore) writeState(this.stateDir, this.pf.pop, { ...state, carriedBefore: true, updatedAt: new Date().toISOString(), by: 'watch' });
    const carrier = view.carrier ? `${view.carrier.pop}${view.carrier.backup ? ' (backup)' : ''}` : '';
    const last = this.#last;
    const healthText = healthy ? 'local tiers healthy' : verdict.ok ? `local tiers answer; healthy after ${policy.watch.rise} good rounds in a row` : `local tiers unhealthy: ${verdict.reason}`;
    if (!last || last.healthy !== healthy || last.verdict !== verdict.ok) this.log.info({ event: 'health', healthy, verdict: verdict.reason, probes: Object.fromEntries(up) }, healthText);
    if (!last || last.carrier !== carrier) this.log.info({ event: 'carrier', carrier: carrier || null, asPath: view.carrierPath }, carrier ? `the upstream prefers POP ${carrier}'s route` : 'no other POP\'s route is preferred by the upstream');
    if (steps.length > 0 || !last || last.announce !== d.announce || last.reason !== d.reason) {
      this.log.info({ event: 'announce', announce: d.announce, was: view.announce, reason: d.reason, steps }, `announce ${d.announce}: ${d.reason}`);
    }
    this.#last = { announce: d.announce, healthy, verdict: verdict.ok, carrier, reason: d.reason };
    // The heartbeat says the watch lives and what it decided: on every change, else once a second.
    if (steps.length === 0 && last && last.announce === d.announce && last.reason === d.reason && now - this.#beat < 1000) return;
    this.#beat = now;
    const hb = heartbeatFile(this.stateDir, this.pf.pop);
    writeFileSync(`${hb}.tmp`, `${JSON.stringify({ pid: process.pid, at: now, healthy, announce: d.announce, reason: d.reason, verdict: verdict.reason, carrier: carrier || null })}\n`);
    renameSync(`${hb}.tmp`, hb);
  }
}
