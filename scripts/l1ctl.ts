import { parseArgs } from 'node:util';
import { defaultConfigPath, loadConfigFile } from '../shared/config/load.js';
import { ControlError } from '../layer1/errors.js';
import { VcpError } from '../shared/errors.js';
import type { MemberView } from '../layer1/control.js';
import { controlToken } from '../layer1/token.js';

const USAGE = `usage: l1ctl [--config file | --url http://address:port] [--token T] [--json] <command>
commands:
  list             the members: up, draining, open connections and UDP flows
  drain <id>       no new flows or connections to member <id> (e.g. c1/0); open ones continue
  undrain <id>     the member takes new flows again
  health           layer 1's own health (what the keepalived track script checks)`;

/** Talks to layer 1's control API (`layer1.control` of the config, or --url), with its token when it has one. */
async function call(base: string, method: string, path: string, token: string | undefined): Promise<unknown> {
  const url = `${base}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { method, signal: AbortSignal.timeout(3000), headers: token ? { authorization: `Bearer ${token}` } : {} });
  } catch (err) {
    throw new ControlError(base, `no answer (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message})`, { cause: err });
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ControlError(base, `${method} ${path} answered ${res.status} with something that is not JSON`);
  }
  const error = (body as { error?: { code: string; message: string } }).error;
  if (error) throw new VcpError(error.code, `layer 1 control at ${base}: ${error.message}`);
  if (!res.ok && path !== '/health') throw new ControlError(base, `${method} ${path} answered ${res.status}`);
  return body;
}

function table(members: MemberView[]): string {
  const rows = [['MEMBER', 'ADDRESS', 'STATE', 'CONNECTIONS', 'FLOWS'], ...members.map((m) => [
    m.id,
    m.address,
    `${m.up ? 'up' : 'down'}${m.draining ? ',draining' : ''}`,
    String(m.connections),
    String(m.flows),
  ])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { config: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, id] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  let base = values.url?.replace(/\/$/, '');
  let token = values.token ?? process.env.VCP_L1_TOKEN;
  if (!base || (token === undefined && values.config !== undefined)) {
    const config = loadConfigFile(values.config ?? process.env.VCP_CONFIG ?? defaultConfigPath());
    const c = config.layer1.control;
    const host = c.address === '0.0.0.0' ? '127.0.0.1' : c.address === '::' ? '::1' : c.address;
    base ??= `http://${host.includes(':') ? `[${host}]` : host}:${c.port}`;
    token ??= controlToken(c, config.file);
  }
  const out = (body: unknown, text: string): void => void process.stdout.write(`${values.json ? JSON.stringify(body, null, 2) : text}\n`);
  switch (command) {
    case 'list': {
      const members = (await call(base, 'GET', '/members', token)) as MemberView[];
      out(members, table(members));
      return 0;
    }
    case 'drain':
    case 'undrain': {
      if (!id) {
        process.stderr.write(`l1ctl: ${command} needs a member id (see l1ctl list)\n`);
        return 2;
      }
      const m = (await call(base, 'POST', `/members/${encodeURIComponent(id)}/${command}`, token)) as MemberView;
      out(m, `${m.id}: ${m.draining ? 'draining (no new flows; open ones continue)' : 'taking new flows'}; ${m.connections} connections, ${m.flows} flows open`);
      return 0;
    }
    case 'health': {
      const h = (await call(base, 'GET', '/health', token)) as { status: string; reason: string; membersUp: number; members: number };
      out(h, `${h.status} (${h.reason}): ${h.membersUp} of ${h.members} members up`);
      return h.status === 'ok' ? 0 : 1;
    }
    default:
      process.stderr.write(`l1ctl: unknown command "${command}"\n${USAGE}\n`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const code = (err as { code?: string }).code;
    process.stderr.write(`l1ctl: ${err instanceof Error ? err.message : String(err)}${code ? ` [${code}]` : ''}\n`);
    process.exit(1);
  },
);
