import type { Config, PopFailoverConfig } from '../../shared/config/types.js';
import { Birdc, type ProtocolState, type RouteEntry } from './birdc.js';
import { addRoute, removeRoute, routePresent } from './edge.js';
import { Bird } from './names.js';
import type { Announce, Carrier } from './policy.js';

/** What a POP edge shows right now: its own announcement, its edge route, who else carries. */
export interface EdgeView {
  announce: Announce;
  routePresent: boolean;
  carrier: Carrier | undefined;
  /** AS path of the other POP's route as the upstream sends it. */
  carrierPath: number[];
  sessions: Array<{ name: string; state: string; info: string }>;
  established: boolean;
}

/** The origin of a route from the upstream: the POP whose AS ends the path; repeated origin = backup. */
export function carrierOf(config: Config, routes: readonly RouteEntry[]): { carrier: Carrier | undefined; path: number[] } {
  const bgp = routes.find((r) => r.proto.startsWith(Bird.UpstreamPrefix) && r.asPath.length > 0);
  if (!bgp) return { carrier: undefined, path: [] };
  const origin = bgp.asPath[bgp.asPath.length - 1]!;
  let repeats = 0;
  for (let i = bgp.asPath.length - 1; i >= 0 && bgp.asPath[i] === origin; i--) repeats++;
  const pop = config.failover?.pops.find((p) => p.bgp.localAs === origin)?.pop ?? `AS ${origin}`;
  return { carrier: { pop, backup: repeats > 1 }, path: bgp.asPath };
}

export function announceOf(protocols: readonly ProtocolState[]): Announce {
  const up = (name: string): boolean => protocols.some((p) => p.name === name && p.state === 'up');
  if (up(Bird.Active)) return 'active';
  if (up(Bird.Backup)) return 'backup';
  return 'none';
}

/** Reads and changes one POP edge: BIRD's static protocols and the kernel route. Every step is idempotent. */
export class EdgeControl {
  constructor(
    readonly config: Config,
    readonly pf: PopFailoverConfig,
    readonly bird: Birdc,
  ) {}

  async view(): Promise<EdgeView> {
    const [protocols, routes, present] = await Promise.all([this.bird.protocols(), this.bird.routes(this.pf.bgp.prefix), routePresent(this.pf.bgp.prefix, this.pf.bgp.edgeInterface)]);
    const { carrier, path } = carrierOf(this.config, routes);
    const sessions = protocols.filter((p) => p.name.startsWith(Bird.UpstreamPrefix)).map((p) => ({ name: p.name, state: p.state, info: p.info }));
    return { announce: announceOf(protocols), routePresent: present, carrier, carrierPath: path, sessions, established: sessions.some((s) => s.info.startsWith('Established')) };
  }

  /**
   * Bring the edge to `target`; returns the steps that changed something (empty when it already was).
   * Announcing: the route first, then BGP. Withdrawing: BGP first, then the route.
   */
  async apply(target: Announce): Promise<string[]> {
    const { prefix, edgeInterface } = this.pf.bgp;
    const steps: string[] = [];
    const set = async (name: string, on: boolean): Promise<void> => {
      if (await this.bird.set(name, on)) steps.push(`${on ? 'enabled' : 'disabled'} BIRD protocol ${name}`);
    };
    if (target === 'none') {
      await set(Bird.Active, false);
      await set(Bird.Backup, false);
      if (await routePresent(prefix, edgeInterface)) {
        await removeRoute(prefix, edgeInterface);
        steps.push(`removed route ${prefix} dev ${edgeInterface}`);
      }
      return steps;
    }
    if (!(await routePresent(prefix, edgeInterface))) {
      await addRoute(prefix, edgeInterface);
      steps.push(`added route ${prefix} dev ${edgeInterface}`);
    }
    const [on, off] = target === 'active' ? [Bird.Active, Bird.Backup] : [Bird.Backup, Bird.Active];
    await set(on, true);
    await set(off, false);
    return steps;
  }
}
