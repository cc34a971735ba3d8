import { writeFileSync } from 'node:fs';
import type { Config } from '../../shared/config/types.js';
import { type RunDir, sh } from './exec.js';
import { LAB } from './layout.js';

/**
 * bird.conf of the lab's upstream router: one eBGP session to every POP edge (BFD on, short timers),
 * everything learnt installed in its kernel so that client traffic follows the best announcement.
 * The router stands for the Internet; it is no part of the appliance.
 */
export function renderBirdRouter(config: Config, o: { routerId: string; log?: string }): string {
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
  for (const p of pops) {
    lines.push(`protocol bgp pop_${p.pop.replace(/[^A-Za-z0-9_]/g, '_')} from vcp_pop { neighbor ${p.bgp.localAddress} as ${p.bgp.localAs}; bfd on; }`);
  }
  return `${lines.join('\n')}\n`;
}

/** The router host: forwarding on, BIRD with one session per POP edge. */
export function routerStart(config: Config, run: RunDir, ns: string | undefined): string {
  sh('sysctl', ['-qw', 'net.ipv4.ip_forward=1'], { ns });
  const conf = run.file('router', 'bird.conf');
  writeFileSync(conf, renderBirdRouter(config, { routerId: LAB.routerId }));
  const socket = run.file('router', 'bird.ctl');
  // The router stands for the Internet's routers, whose BFD runs in hardware or at high priority.
  run.start('router.bird', ns, 'nice', ['-n', '-10', 'bird', '-f', '-c', conf, '-s', socket, '-P', run.file('router', 'bird.pid')]);
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
