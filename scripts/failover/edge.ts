import { execFile } from 'node:child_process';
import { FailoverErr, FailoverError } from './errors.js';

/**
 * The edge side of the address: a host route for the well-known prefix onto the interface that
 * faces the layer-1 pair, so that the POP edge delivers the address to whichever pair member holds
 * it (keepalived answers ARP there). Added before announcing, removed after withdrawing.
 */
interface Run {
  code: number;
  out: string;
}

function run(cmd: string, args: readonly string[], timeoutMs = 3000): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new FailoverError(FailoverErr.Command, `${cmd} is not installed (scripts/install puts it in place)`, { cause: err }));
        return;
      }
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}`.trim() });
    });
  });
}

export async function interfaceExists(iface: string): Promise<boolean> {
  return (await run('ip', ['-j', 'link', 'show', 'dev', iface])).code === 0;
}

export async function routePresent(prefix: string, iface: string): Promise<boolean> {
  const r = await run('ip', ['-j', 'route', 'show', 'exact', prefix]);
  if (r.code !== 0) throw new FailoverError(FailoverErr.Command, `ip route show exact ${prefix} failed: ${r.out}`);
  try {
    return (JSON.parse(r.out || '[]') as Array<{ dev?: string }>).some((e) => e.dev === iface);
  } catch (err) {
    throw new FailoverError(FailoverErr.Command, `ip -j route printed something that is not JSON: ${r.out.slice(0, 200)}`, { cause: err });
  }
}

export async function addRoute(prefix: string, iface: string): Promise<void> {
  const r = await run('ip', ['route', 'replace', prefix, 'dev', iface, 'proto', 'static', 'scope', 'link']);
  if (r.code !== 0) throw new FailoverError(FailoverErr.Command, `ip route replace ${prefix} dev ${iface} failed: ${r.out}`);
}

export async function removeRoute(prefix: string, iface: string): Promise<void> {
  if (!(await routePresent(prefix, iface))) return;
  const r = await run('ip', ['route', 'del', prefix, 'dev', iface]);
  if (r.code !== 0) throw new FailoverError(FailoverErr.Command, `ip route del ${prefix} dev ${iface} failed: ${r.out}`);
}

/** Who answers ARP for the address on the interface: the MAC of the pair member holding it, if any. */
export async function arpHolder(address: string, iface: string): Promise<string | undefined> {
  const r = await run('arping', ['-c', '1', '-w', '0.5', '-i', iface, address], 2000);
  if (r.code !== 0) return undefined;
  return /from ([0-9a-f:]{17})/i.exec(r.out)?.[1];
}
