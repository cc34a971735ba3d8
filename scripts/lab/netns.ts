import { LabError, type RunDir, sh, signalPid, sleep } from './exec.js';
import { LAB, type LabLayout } from './layout.js';

/**
 * The hosts of the drill as network namespaces and the links between them, which Vagrant makes as
 * private networks in the VM lab: client ── router ── edge of each POP.
 */
export function namespacesOf(l: LabLayout): string[] {
  return [l.clientNs, l.routerNs, ...l.pops.flatMap((p) => [p.edgeNs!, ...p.members.map((m) => m.ns), p.servers.ns])];
}

export function existing(prefix: string): string[] {
  return sh('ip', ['netns', 'list'])
    .out.split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`${prefix}-`));
}

export function hostLinksUp(l: LabLayout): void {
  const taken = existing(l.prefix);
  if (taken.length > 0) throw new LabError(`network namespaces ${taken.join(', ')} exist already: a drill is running or was not cleaned up (scripts/drill --cleanup removes them)`);
  for (const ns of [l.clientNs, l.routerNs, ...l.pops.map((p) => p.edgeNs!)]) {
    sh('ip', ['netns', 'add', ns]);
    sh('ip', ['link', 'set', 'lo', 'up'], { ns });
  }
  const r = l.routerNs;
  sh('ip', ['link', 'add', 'to-client', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', l.clientNs], { ns: r });
  sh('ip', ['addr', 'add', `${LAB.client.gateway}/24`, 'dev', 'to-client'], { ns: r });
  sh('ip', ['link', 'set', 'to-client', 'up'], { ns: r });
  sh('ip', ['addr', 'add', `${LAB.client.address}/24`, 'dev', 'eth0'], { ns: l.clientNs });
  sh('ip', ['link', 'set', 'eth0', 'up'], { ns: l.clientNs });
  sh('ip', ['route', 'add', 'default', 'via', LAB.client.gateway], { ns: l.clientNs });
  for (const p of l.pops) {
    const port = `to-${p.pop}`.slice(0, 15);
    sh('ip', ['link', 'add', port, 'type', 'veth', 'peer', 'name', 'up0', 'netns', p.edgeNs!], { ns: r });
    sh('ip', ['addr', 'add', `${p.routerAddress}/24`, 'dev', port], { ns: r });
    sh('ip', ['link', 'set', port, 'up'], { ns: r });
    sh('ip', ['addr', 'add', `${p.uplinkAddress}/24`, 'dev', 'up0'], { ns: p.edgeNs });
    sh('ip', ['link', 'set', 'up0', 'up'], { ns: p.edgeNs });
  }
}

/**
 * Stop every process the lab started (by pid file), then anything still inside its namespaces, then
 * the namespaces themselves (their veths go with them). Safe to run twice and after a crash.
 */
export async function teardown(run: RunDir | undefined, prefix: string): Promise<string[]> {
  const notes: string[] = [];
  if (run) await Promise.all(run.names().map((n) => run.stop(n, 'SIGTERM', 1500)));
  const spaces = existing(prefix);
  for (const ns of spaces) {
    for (const pid of sh('ip', ['netns', 'pids', ns], { allowFail: true }).out.split('\n').map(Number).filter((n) => n > 1)) {
      signalPid(pid, 'SIGKILL');
      notes.push(`killed pid ${pid} left in ${ns}`);
    }
  }
  if (spaces.length > 0) await sleep(100);
  for (const ns of spaces) {
    const r = sh('ip', ['netns', 'del', ns], { allowFail: true });
    if (r.code !== 0) notes.push(`could not delete ${ns}: ${r.out.trim()}`);
  }
  return notes;
}
