import { parseArgs } from 'node:util';
import { adminToken } from '../layer2/admin/token.js';
import { adminAddress, defaultConfigPath, loadConfigFile } from '../shared/config/load.js';

/**
 * The operator's command line for a connector host's admin API (`npm run vcpctl -- <command>`).
 * Finds the API and its token from the config (admin.address/port, admin.token or admin.tokenFile).
 */
const USAGE = `usage: vcpctl [--config FILE] [--connector NAME] [--url URL] [--token TOKEN] [--json] COMMAND
commands:
  classes [PREFIX]                      class profiles (e.g. sip/polycom)
  class KEY                             one class profile
  networks [PREFIX] | network KEY       network profiles (p4:198.51.100.0/24, net:acme, dom:example.com)
  override class KEY TECHNIQUE          proxy | redirect | local (admin overrides beat learning)
  override network KEY NAME...          the only POPs/servers this network may use
  clear class KEY | clear network KEY   remove an override
  reset class KEY | reset network KEY   forget what was learned
  explain --source IP [--ua UA | --protocol h323 --vendor V --product P --version X] [--domain D] [--meeting M]
  servers | drain SERVER | undrain SERVER
  topology | live | outcomes [N] | redirects`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      config: { type: 'string' }, connector: { type: 'string' }, url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' },
      source: { type: 'string' }, ua: { type: 'string' }, protocol: { type: 'string' }, vendor: { type: 'string' }, product: { type: 'string' },
      version: { type: 'string' }, domain: { type: 'string' }, meeting: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const [cmd, ...args] = positionals;
  if (!cmd || values.help) {
    process.stdout.write(`${USAGE}\n`);
    return cmd ? 0 : 2;
  }
  const config = loadConfigFile(values.config ?? process.env.VCP_CONFIG ?? defaultConfigPath());
  const connector = config.connectors.find((c) => c.name === values.connector) ?? config.connectors.find((c) => c.pop === config.pop) ?? config.connectors[0]!;
  const base = values.url ?? `http://${adminAddress(config, connector)}:${config.admin.port}`;
  const token = values.token ?? adminToken(config.admin, false);
  const enc = encodeURIComponent;
  const need = (n: number): void => {
    if (args.length < n) throw new Error(`${cmd} needs ${n} argument(s)\n${USAGE}`);
  };
  let method = 'GET';
  let path = '';
  let body: unknown;
  const kindPath = (k: string | undefined): string => {
    if (k === 'class') return 'classes';
    if (k === 'network') return 'networks';
    throw new Error(`expected "class" or "network", got ${k ?? 'nothing'}`);
  };
  switch (cmd) {
    case 'classes':
    case 'networks':
      path = `/profiles/${cmd}?prefix=${enc(args[0] ?? '')}`;
      break;
    case 'class':
    case 'network':
      need(1);
      path = `/profiles/${kindPath(cmd)}/${enc(args[0]!)}`;
      break;
    case 'override':
      need(3);
      method = 'PUT';
      path = `/profiles/${kindPath(args[0])}/${enc(args[1]!)}/override`;
      body = args[0] === 'class' ? { technique: args[2] } : { allow: args.slice(2) };
      break;
    case 'clear':
      need(2);
      method = 'DELETE';
      path = `/profiles/${kindPath(args[0])}/${enc(args[1]!)}/override`;
      break;
    case 'reset':
      need(2);
      method = 'POST';
      path = `/profiles/${kindPath(args[0])}/${enc(args[1]!)}/reset`;
      body = {};
      break;
    case 'explain': {
      if (!values.source) throw new Error('explain needs --source IP');
      method = 'POST';
      path = '/explain';
      const b: Record<string, string> = { source: values.source };
      for (const k of ['protocol', 'vendor', 'product', 'version', 'domain', 'meeting'] as const) if (values[k] !== undefined) b[k] = values[k]!;
      if (values.ua !== undefined) b.userAgent = values.ua;
      body = b;
      break;
    }
    case 'servers':
    case 'topology':
    case 'live':
    case 'redirects':
      path = `/${cmd}`;
      break;
    case 'drain':
    case 'undrain':
      need(1);
      method = 'POST';
      path = `/servers/${enc(args[0]!)}/${cmd}`;
      break;
    case 'outcomes':
      path = `/outcomes?limit=${Number(args[0] ?? 20)}`;
      break;
    default:
      throw new Error(`unknown command ${cmd}\n${USAGE}`);
  }
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const data: unknown = await res.json();
  if (!res.ok) {
    process.stderr.write(`vcpctl: ${res.status} ${(data as { message?: string }).message ?? JSON.stringify(data)}\n`);
    return res.status === 401 ? 3 : res.status === 404 ? 4 : 1;
  }
  if (values.json) process.stdout.write(`${JSON.stringify(data)}\n`);
  else if (cmd === 'servers') printServers(data as { servers: ServerRow[] });
  else if (cmd === 'explain') printExplain(data as Explained);
  else process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  return 0;
}

interface ServerRow { name: string; pop: string; capacity: number; units: number; up: boolean; drained: boolean }
interface Explained { class: string[]; networks: string[]; geo: { country: string; continent: string; pop: string }; workType: string; decision: { pop: string; server: string; technique: string; reasons: string[] } }

function printServers(d: { servers: ServerRow[] }): void {
  const rows = [['SERVER', 'POP', 'UNITS', 'STATE'], ...d.servers.map((s) => [s.name, s.pop, `${s.units}/${s.capacity}`, s.drained ? 'drained' : s.up ? 'up' : 'down'])];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(`${r.map((c, i) => c.padEnd(w[i]!)).join('  ')}\n`);
}

function printExplain(d: Explained): void {
  const dec = d.decision;
  process.stdout.write(`class     ${d.class.join(' → ')}\nnetworks  ${d.networks.join(', ') || '-'}\ngeo       ${[d.geo.country, d.geo.continent].filter(Boolean).join('/') || '-'} → ${d.geo.pop || '-'}\nwork      ${d.workType}\n`);
  process.stdout.write(`decision  ${dec.technique} to ${dec.server || '(none)'} in ${dec.pop || '-'}\n`);
  for (const r of dec.reasons) process.stdout.write(`  - ${r}\n`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`vcpctl: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof TypeError ? 5 : 2);
  },
);
