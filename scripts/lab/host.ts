import { copyFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../../shared/config/load.js';
import { VcpError } from '../../shared/errors.js';
import { RunDir, sh } from './exec.js';
import { LAB, labLayout } from './layout.js';
import { teardown } from './netns.js';
import { popNetworkUp, popStart, type PopHost } from './pop.js';
import { routerStart } from './router.js';

const USAGE = `usage: node dist/scripts/lab/host.js ROLE --topology FILE [--run-dir DIR] [--pop POP]
Sets up one host of the failover lab in the machine it runs on (the Vagrant provisioners call it):
  router   forwarding and BIRD with a session to every POP edge
  pop      this machine is the edge of POP --pop: the POP LAN bridge, a namespace per layer-1 pair
           member and one for the connectors and the backend, every process, BIRD and ip-takeover watch
  client   a route to the well-known address through the router
  --container  this machine is a container (lxc): keepalived cannot track the layer-1 process by the
               kernel's process events there, only by its /health
Run again, it first removes what it set up before (namespaces, processes).`;

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { topology: { type: 'string' }, 'run-dir': { type: 'string', default: '/var/lib/vcproxy-lab' }, pop: { type: 'string' }, prefix: { type: 'string', default: 'vcpd' }, container: { type: 'boolean' } } });
  } catch (err) {
    process.stderr.write(`host: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const v = parsed.values;
  const role = parsed.positionals[0];
  if (!v.topology || !role || !['router', 'pop', 'client'].includes(role) || (role === 'pop' && !v.pop)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  try {
    const run = new RunDir(v['run-dir']!);
    // This host's own copy of the topology: what the connectors keep next to it (learned profiles,
    // the admin token) stays on this host, never in a tree shared with others (/vagrant).
    const topology = run.file('topology.yaml');
    copyFileSync(v.topology, topology);
    const config = loadConfigFile(topology, role === 'pop' ? { pop: v.pop } : {});
    const layout = labLayout(config, v.prefix!, false);
    for (const n of await teardown(run, v.prefix!)) process.stdout.write(`host: ${n}\n`);
    if (role === 'router') {
      const socket = routerStart(config, run, undefined, { pin: true });
      process.stdout.write(`host: router up, BIRD on ${socket} (birdc -s ${socket} show protocols)\n`);
    } else if (role === 'client') {
      sh('ip', ['route', 'replace', `${config.wellKnown.address}/32`, 'via', LAB.client.gateway]);
      process.stdout.write(`host: client routes ${config.wellKnown.address} via ${LAB.client.gateway}\n`);
    } else {
      const pl = layout.pops.find((p) => p.pop === v.pop);
      if (!pl) throw new VcpError('VCP_ERR_CONFIG', `${v.topology}: failover.pops: an entry for POP ${v.pop}`);
      const h: PopHost = { config, topology, pl, run, trackProcess: !v.container };
      sh('ip', ['link', 'del', pl.lanIf], { allowFail: true });
      popNetworkUp(h);
      await popStart(h);
      process.stdout.write(`host: POP ${pl.pop} up; ip-takeover status --config ${topology} --pop ${pl.pop} --bird-socket ${run.file(pl.pop, 'bird.ctl')} --state-dir ${run.dir(pl.pop, 'state')}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`host: ${err instanceof VcpError ? `${err.code}: ` : ''}${(err as Error).message}\n`);
    return 1;
  }
}

void main().then((code) => process.exit(code));
