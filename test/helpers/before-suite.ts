import { chmodSync, statSync } from 'node:fs';
import { resolveIds, unreachableBy } from '../../shared/privileges.js';
import { killTagged, projectTag, removeTestNetworks, removeTestTemp } from './leftovers.js';
import { dist } from './paths.js';

/**
 * Run by tap before the first test file (`before` in .taprc): an earlier run that was interrupted
 * (the runner killed, the machine rebooted half-way) may have left processes, namespaces, links,
 * nftables tables and temporary folders of this checkout's tests. They go first.
 */
const killed = killTagged(projectTag);
if (killed.length) process.stdout.write(`# before the suite: killed ${killed.length} process(es) an earlier run left: ${killed.map((p) => p.cmd.slice(0, 80)).join('; ')}\n`);
if (process.getuid?.() === 0) removeTestNetworks();
removeTestTemp();

// Started as root, the appliance's processes give up root; a worker its supervisor starts after that
// (a kill, a reload) loads its code as the service user (nobody), as it does from /opt/vcproxy in the
// package. A checkout in a private folder (a mktemp directory, /root) is opened for searching (o+x,
// no listing) so that the tests see what an installed appliance does.
if (process.getuid?.() === 0) {
  const ids = resolveIds();
  const worker = dist('layer2/worker.js');
  for (let i = 0; i < 64; i++) {
    const blocked = unreachableBy(worker, ids);
    if (!blocked) break;
    if (blocked === worker || !statSync(blocked).isDirectory()) {
      process.stdout.write(`# before the suite: ${blocked} is not readable by nobody: tests that restart workers after the privilege drop will fail\n`);
      break;
    }
    chmodSync(blocked, statSync(blocked).mode | 0o001);
    process.stdout.write(`# before the suite: ${blocked} opened for searching (o+x): workers restarted as nobody load their code from this checkout\n`);
  }
}
