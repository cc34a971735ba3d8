import { ConfigError } from '../errors.js';
import type { Config, PairMemberConfig, PopFailoverConfig } from './types.js';

/**
 * Which node of a deployment a process is. One topology file describes every host; a process learns
 * its place from `--pop` / `--node` (or VCP_POP / VCP_NODE when it takes no such flags). A node is a
 * member of a layer-1 pair and implies its POP.
 */
export interface IdentityFlags {
  pop?: string | undefined;
  node?: string | undefined;
}

export function identityFromEnv(env: NodeJS.ProcessEnv = process.env): IdentityFlags {
  return { pop: env.VCP_POP || undefined, node: env.VCP_NODE || undefined };
}

/** The config as seen from one node: `pop`, `layer1.pop`, `layer1.name` and `node` follow the flags. */
export function applyIdentity(config: Config, flags: IdentityFlags): Config {
  let pop = config.pop;
  if (flags.pop !== undefined) {
    if (!config.pops.some((p) => p.name === flags.pop)) {
      throw new ConfigError(config.file, '--pop', `the name of a POP listed under pops (${config.pops.map((p) => p.name).join(', ')}), got "${flags.pop}"`);
    }
    pop = flags.pop;
  }
  if (flags.node === undefined) {
    return pop === config.pop ? config : { ...config, pop, layer1: { ...config.layer1, pop } };
  }
  const found = findMember(config, flags.node);
  if (!found) {
    const all = (config.failover?.pops ?? []).flatMap((p) => p.pair.members.map((m) => m.name));
    const expected = all.length > 0 ? `the name of a layer-1 pair member (${all.join(', ')})` : 'a node of failover.pops[].pair.members, but the file has no failover section';
    throw new ConfigError(config.file, '--node', `${expected}, got "${flags.node}"`);
  }
  if (flags.pop !== undefined && found.pop.pop !== flags.pop) {
    throw new ConfigError(config.file, '--node', `a member of POP ${flags.pop}; "${flags.node}" belongs to POP ${found.pop.pop}`);
  }
  pop = found.pop.pop;
  return { ...config, pop, node: flags.node, layer1: { ...config.layer1, pop, name: flags.node } };
}

export function findMember(config: Config, node: string): { pop: PopFailoverConfig; member: PairMemberConfig; peer: PairMemberConfig } | undefined {
  for (const p of config.failover?.pops ?? []) {
    const [a, b] = p.pair.members;
    if (a.name === node) return { pop: p, member: a, peer: b };
    if (b.name === node) return { pop: p, member: b, peer: a };
  }
  return undefined;
}

/** The failover entry of a POP, or a ConfigError naming what is missing. */
export function popFailover(config: Config, pop: string): PopFailoverConfig {
  if (!config.failover) throw new ConfigError(config.file, 'failover', 'a failover section (pairs, BGP speakers and the cross-POP policy)');
  const p = config.failover.pops.find((x) => x.pop === pop);
  if (!p) throw new ConfigError(config.file, 'failover.pops', `an entry for POP ${pop} (entries: ${config.failover.pops.map((x) => x.pop).join(', ')})`);
  return p;
}
