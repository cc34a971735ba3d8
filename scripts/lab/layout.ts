import type { Config } from '../../shared/config/types.js';

/**
 * Where everything of the failover lab sits, derived from the topology file plus the lab's own
 * constants (the client and the router are not part of the appliance). Both labs use it: in the
 * network-namespace drill every host is a namespace; in the Vagrant lab the router, the client and
 * each POP edge are VMs and only the nodes inside a POP (pair members, connectors) are namespaces.
 */
export const LAB = {
  client: { address: '10.99.1.2', gateway: '10.99.1.254', net: '10.99.1.0/24' },
  routerId: '10.99.1.254',
} as const;

export interface MemberLayout {
  node: string;
  ns: string;
  address: string;
  iface: string;
  /** The veth end on the POP LAN bridge. */
  port: string;
}

export interface PopLayout {
  pop: string;
  /** The edge host: a namespace in the drill, the VM itself (undefined) in Vagrant. */
  edgeNs: string | undefined;
  lanIf: string;
  lanAddress: string;
  lanNet: string;
  uplinkAddress: string;
  routerAddress: string;
  members: MemberLayout[];
  servers: { ns: string; port: string; addresses: string[] };
  connectors: string[];
  backends: Array<{ name: string; address: string; port: number }>;
}

export interface LabLayout {
  prefix: string;
  wellKnown: string;
  clientNs: string;
  routerNs: string;
  pops: PopLayout[];
}

const net24 = (address: string): string => `${address.split('.').slice(0, 3).join('.')}.0/24`;
const first24 = (address: string): string => `${address.split('.').slice(0, 3).join('.')}.1`;

/** `prefix` names the namespaces (vcpd- for the drill, vcpt- for tests); `hostsAreNamespaces` false for Vagrant. */
export function labLayout(config: Config, prefix: string, hostsAreNamespaces = true): LabLayout {
  const f = config.failover;
  if (!f) throw new Error(`${config.file} has no failover section: the lab needs pairs and BGP speakers`);
  const pops = f.pops.map((pf): PopLayout => {
    const lanAddress = first24(pf.pair.members[0].address);
    const connectors = config.connectors.filter((c) => c.pop === pf.pop);
    const backends = config.servers.filter((s) => s.pop === pf.pop && s.builtin).map((s) => ({ name: s.name, address: s.address, port: s.sipPort }));
    return {
      pop: pf.pop,
      edgeNs: hostsAreNamespaces ? `${prefix}-${pf.pop}` : undefined,
      lanIf: pf.bgp.edgeInterface,
      lanAddress,
      lanNet: net24(lanAddress),
      uplinkAddress: pf.bgp.localAddress,
      routerAddress: pf.bgp.neighbours[0]!.address,
      members: pf.pair.members.map((m) => ({ node: m.name, ns: `${prefix}-${m.name}`, address: m.address, iface: pf.pair.interface, port: `m-${m.name}`.slice(0, 15) })),
      servers: {
        ns: `${prefix}-${pf.pop}-srv`,
        port: `s-${pf.pop}`.slice(0, 15),
        addresses: [...new Set([...connectors.map((c) => c.address), ...backends.map((b) => b.address)])],
      },
      connectors: connectors.map((c) => c.name),
      backends,
    };
  });
  return { prefix, wellKnown: config.wellKnown.address, clientNs: `${prefix}-client`, routerNs: `${prefix}-router`, pops };
}
