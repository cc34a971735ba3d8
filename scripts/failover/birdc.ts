import { execFile } from 'node:child_process';
import { FailoverErr, FailoverError } from './errors.js';

export interface ProtocolState {
  name: string;
  proto: string;
  /** up, down, start, stop... as BIRD prints it. */
  state: string;
  /** BGP: Established, Active, Connect...; empty for others. */
  info: string;
}

export interface RouteEntry {
  proto: string;
  /** BIRD's preferred route for the network (marked `*`). */
  best: boolean;
  /** BGP AS path, empty for routes of other protocols. */
  asPath: number[];
}

/** `show protocols`: the table under the header line. */
export function parseProtocols(text: string): ProtocolState[] {
  const out: ProtocolState[] = [];
  let inTable = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('Name ')) {
      inTable = true;
      continue;
    }
    if (!inTable || line.trim() === '' || line.startsWith(' ')) continue;
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    out.push({ name: f[0]!, proto: f[1]!, state: f[3]!, info: f.slice(5).join(' ') });
  }
  return out;
}

const ROUTE_HEAD = /^\S*\s+\S+\s+\[(\S+)\s[^\]]*\](\s\*)?/;

/** `show route <prefix> all`: one entry per route of that network; [] when it is not in the table. */
export function parseRoutes(text: string): RouteEntry[] {
  const out: RouteEntry[] = [];
  let current: RouteEntry | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('\t')) {
      const m = /^\tBGP\.as_path:\s*(.*)$/.exec(line);
      if (m && current) current.asPath = m[1]!.trim().split(/\s+/).filter(Boolean).map(Number);
      continue;
    }
    const h = ROUTE_HEAD.exec(line);
    if (h) {
      current = { proto: h[1]!, best: h[2] !== undefined, asPath: [] };
      out.push(current);
    }
  }
  return out;
}

/** BIRD through its own client, birdc, on one control socket. */
export class Birdc {
  constructor(
    readonly socket: string,
    private readonly birdc = 'birdc',
    private readonly timeoutMs = 3000,
  ) {}

  run(args: readonly string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.birdc, ['-s', this.socket, ...args], { timeout: this.timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
        const text = `${stdout}${stderr}`;
        if (/Unable to connect to server control socket/.test(text) || (err && (err as NodeJS.ErrnoException).code === 'ENOENT')) {
          reject(new FailoverError(FailoverErr.Bird, `BIRD is not reachable on ${this.socket}: ${text.trim() || (err as Error).message}`, { cause: err }));
          return;
        }
        if (err && (err as { killed?: boolean }).killed) {
          reject(new FailoverError(FailoverErr.Bird, `birdc ${args.join(' ')} did not answer within ${this.timeoutMs} ms`, { cause: err }));
          return;
        }
        // birdc exits 1 when BIRD's last reply is an error ("Network not found" too): callers read the text.
        resolve(text);
      });
    });
  }

  async protocols(): Promise<ProtocolState[]> {
    return parseProtocols(await this.run(['show', 'protocols']));
  }

  async routes(prefix: string): Promise<RouteEntry[]> {
    return parseRoutes(await this.run(['show', 'route', prefix, 'all']));
  }

  /** Enable or disable a protocol; true when it changed, false when it already was. */
  async set(protocol: string, enabled: boolean): Promise<boolean> {
    const verb = enabled ? 'enable' : 'disable';
    const text = await this.run([verb, protocol]);
    if (text.includes(`${protocol}: already ${verb}d`)) return false;
    if (text.includes(`${protocol}: ${verb}d`)) return true;
    throw new FailoverError(FailoverErr.Bird, `birdc ${verb} ${protocol} failed: ${text.replace(/^BIRD [^\n]*ready\.\n/, '').trim()}`);
  }
}
