import type { DeploymentConfig } from '../../shared/config/types.js';
import type { CustomerPolicy, NetworkTopo, PopTopo, Technique, Topology } from '../decide/types.js';

/** The plain-data view of the config that `decide()` reads; built once at start. */
export function buildTopology(c: DeploymentConfig, localPop: string = c.pop): Topology {
  const pops: PopTopo[] = c.pops.map((p) => ({ name: p.name, kind: p.kind, region: p.region, reachableFrom: p.reachableFrom }));
  const customers: Record<string, CustomerPolicy> = {};
  for (const cu of c.customers) customers[cu.name] = { name: cu.name, regions: cu.regions, ...(cu.microPop ? { microPop: cu.microPop } : {}) };
  const networks: Record<string, NetworkTopo> = {};
  for (const n of c.networks) networks[n.name] = { name: n.name, customer: n.customer, accessible: n.accessible };
  return {
    localPop,
    pops,
    popByName: new Map(pops.map((p) => [p.name, p])),
    servers: c.servers.map((s) => ({ name: s.name, pop: s.pop, capacity: s.capacity, workTypes: s.workTypes })),
    customers,
    networks,
    techniques: { default: c.techniques.default as Technique, classes: c.techniques.classes as Record<string, Technique> },
    learning: {
      breakAfter: c.learning.breakAfter,
      minSources: c.learning.minSources,
      provenAfter: c.learning.provenAfter,
      provenRatio: c.learning.provenRatio,
      rttToleranceMs: c.learning.rttToleranceMs,
      probationLimit: c.learning.probationLimit,
    },
  };
}
