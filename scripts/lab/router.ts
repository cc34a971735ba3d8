import { writeFileSync } from 'node:fs';
import type { Config } from '../../shared/config/types.js';
import { LabError, realtime, type RunDir, sh } from './exec.js';
import { LAB } from './layout.js';

/** Kernel routing table and firewall mark of the n-th POP (0-based) for flow pinning. */
export const popTable = (i: number): number => 101 + i;
export const popMark = (i: number): number => 1 + i;
const proto = (pop: string): string => `pop_${pop.replace(/[^A-Za-z0-9_]/g, '_')}`;

export interface RouterOptions {
  routerId: string;
  log?: string;
  /** Pin every flow to the POP its first packet went to, for as long as that POP announces. */
  pin?: boolean;
}

/**
 * bird.conf of the lab's upstream router: one eBGP session to every POP edge (BFD on, short timers),
 * everything learnt installed in its kernel so that client traffic follows the best announcement.
 * With `pin`, each POP's own announcement is also kept in a table of its own (a pipe from the main
 * table takes only that POP's routes) and written to kernel table popTable(i): the flows pinned to
 * that POP (renderPinRules) are routed by it while the POP announces, and by the best route once it
 * does not. The router stands for the Internet (or a data centre's edge router); it is no part of
 * the appliance.
 */
export function renderBirdRouter(config: Config, o: RouterOptions): string {
  const pops = config.failover?.pops ?? [];
  const routerAs = pops[0]?.bgp.neighbours[0]?.as ?? 64500;
  const bfd = pops[0]?.bgp.bfd ?? { intervalMs: 100, multiplier: 3 };
  const lines = [
    `# bird.conf of the lab router (AS ${routerAs}), generated from ${config.file}.`,
    `router id ${o.routerId};`,
    o.log ? `log "${o.log}" all;` : 'log stderr all;',
    'protocol device { scan time 10; }',
    'protocol kernel { ipv4 { import none; export all; }; }',
    `protocol bfd { interface "*" { min rx interval ${bfd.intervalMs} ms; min tx interval ${bfd.intervalMs} ms; multiplier ${bfd.multiplier}; }; }`,
    `template bgp vcp_pop { local as ${routerAs}; ipv4 { import all; export all; }; hold time 3; keepalive time 1; connect delay time 1; connect retry time 1; error wait time 1, 5; graceful restart off; }`,
  ];
  pops.forEach((p, i) => {
    const name = proto(p.pop);
    lines.push(`protocol bgp ${name} from vcp_pop { neighbor ${p.bgp.localAddress} as ${p.bgp.localAs}; bfd on; }`);
    if (o.pin) {
      lines.push(
        `ipv4 table ${name}_routes;`,
        `protocol pipe ${name}_pipe { table master4; peer table ${name}_routes; export where proto = "${name}"; import none; }`,
        `protocol kernel ${name}_kernel { kernel table ${popTable(i)}; ipv4 { table ${name}_routes; import none; export all; }; }`,
      );
    }
  });
  return `${lines.join('\n')}\n`;
}

/**
 * nftables rules of the router for flow pinning: the first packet of a flow to the well-known
 * address is routed by the best route, and the conntrack entry is marked with the POP each packet
 * left towards (by the outgoing interface); every later packet of the flow, both ways, carries that
 * mark, and `ip rule fwmark` sends it to the POP's own table while that POP announces. UDP flows to
 * the address keep their entry for `udpHoldS` after the last packet, so that an idle call's BYE
 * still finds its POP.
 */
export function renderPinRules(config: Config, o: { table: string; ifaceOf: (pop: string) => string; udpHoldS: number }): string {
  const pops = config.failover?.pops ?? [];
  const wk = config.wellKnown.address;
  return [
    `# Flow pinning of the lab router, generated from ${config.file}.`,
    `table ip ${o.table} {`,
    '  ct timeout sip_calls {',
    '    protocol udp;',
    '    l3proto ip;',
    `    policy = { unreplied: 30, replied: ${o.udpHoldS} }`,
    '  }',
    '  chain pre {',
    '    type filter hook prerouting priority mangle; policy accept;',
    `    ct state new ip daddr ${wk} meta l4proto udp ct timeout set "sip_calls"`,
    '    ct mark != 0 meta mark set ct mark',
    '  }',
    '  chain post {',
    '    type filter hook postrouting priority mangle; policy accept;',
    // Every packet towards the address, not only a flow's first: a flow is pinned to the POP its
    // last packet went to. A flow whose POP stopped announcing moves with the best route and then
    // stays where it went, and a client port used again by a new call (its old entry still there)
    // is pinned anew by the new call's first packet.
    `    ip daddr ${wk} ct mark set oifname map { ${pops.map((p, i) => `"${o.ifaceOf(p.pop)}" : ${popMark(i)}`).join(', ')} }`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The interface of a host (namespace) that carries `address`. */
export function ifaceWith(ns: string | undefined, address: string): string {
  const links = JSON.parse(sh('ip', ['-j', 'addr', 'show'], { ns }).out) as Array<{ ifname: string; addr_info?: Array<{ local?: string }> }>;
  const found = links.find((l) => (l.addr_info ?? []).some((a) => a.local === address));
  if (!found) throw new LabError(`no interface carries ${address}`);
  return found.ifname;
}

/** The router host: forwarding on, BIRD with one session per POP edge, and flow pinning when asked. */
export function routerStart(config: Config, run: RunDir, ns: string | undefined, o: { pin?: boolean; table?: string } = {}): string {
  sh('sysctl', ['-qw', 'net.ipv4.ip_forward=1'], { ns });
  if (o.pin) {
    const rules = run.file('router', 'pin.nft');
    const table = o.table ?? 'vcp_pin';
    const pops = config.failover?.pops ?? [];
    // The router's interface towards each POP: the one with the address the POP's BGP neighbour is.
    const ifaces = new Map(pops.map((p) => [p.pop, ifaceWith(ns, p.bgp.neighbours[0]!.address)]));
    writeFileSync(rules, renderPinRules(config, { table, ifaceOf: (pop) => ifaces.get(pop)!, udpHoldS: 3600 }));
    sh('nft', ['delete', 'table', 'ip', table], { ns, allowFail: true });
    sh('nft', ['-f', rules], { ns });
    (config.failover?.pops ?? []).forEach((_, i) => {
      sh('ip', ['rule', 'del', 'fwmark', String(popMark(i)), 'lookup', String(popTable(i))], { ns, allowFail: true });
      sh('ip', ['rule', 'add', 'fwmark', String(popMark(i)), 'lookup', String(popTable(i)), 'priority', String(1000 + i)], { ns });
    });
  }
  const conf = run.file('router', 'bird.conf');
  writeFileSync(conf, renderBirdRouter(config, { routerId: LAB.routerId, pin: o.pin ?? false }));
  const socket = run.file('router', 'bird.ctl');
  // The router stands for the Internet's routers, whose BFD runs in hardware or ahead of any other
  // work: real-time here (see pop.ts startEdge).
  run.start('router.bird', ns, ...realtime('bird', ['-f', '-c', conf, '-s', socket, '-P', run.file('router', 'bird.pid')]));
  return socket;
}

/** The router's kernel route for the well-known address: the POP edge it sends it to, if any. */
export function routerNextHop(config: Config, ns: string | undefined): string | undefined {
  const out = sh('ip', ['-j', 'route', 'show', 'exact', `${config.wellKnown.address}/32`], { ns, allowFail: true }).out;
  try {
    return (JSON.parse(out || '[]') as Array<{ gateway?: string }>)[0]?.gateway;
  } catch {
    return undefined;
  }
}
