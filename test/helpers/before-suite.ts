import { killTagged, projectTag, removeTestNetworks, removeTestTemp } from './leftovers.js';

/**
 * Run by tap before the first test file (`before` in .taprc): an earlier run that was interrupted
 * (the runner killed, the machine rebooted half-way) may have left processes, namespaces, links,
 * nftables tables and temporary folders of this checkout's tests. They go first.
 */
const killed = killTagged(projectTag);
if (killed.length) process.stdout.write(`# before the suite: killed ${killed.length} process(es) an earlier run left: ${killed.map((p) => p.cmd.slice(0, 80)).join('; ')}\n`);
if (process.getuid?.() === 0) removeTestNetworks();
removeTestTemp();
