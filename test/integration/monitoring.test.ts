import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dashboard, DASHBOARD_FILE } from '../../scripts/monitoring/dashboard.js';
import { httpGet, requireTool, ROOT, tempDir, waitFor, writeFile } from '../helpers/procs.js';
import { startStack } from '../helpers/stack.js';

// The Prometheus alert rules and the Grafana dashboard: promtool checks and unit-tests the rules, the
// dashboard file is what its typed source produces, every query parses, and every vcproxy metric they
// name is one the processes serve. Addresses in 127.0.53.0/24.
const RULES = join(ROOT, 'config/monitoring/prometheus/alerts.yml');
const RULE_TESTS = join(ROOT, 'config/monitoring/prometheus/alerts.test.yml');

const promtool = (args: string[]): { code: number; out: string } => {
  try {
    return { code: 0, out: execFileSync(requireTool('promtool', 'prometheus'), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    return { code: e.status ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
};

interface Query {
  title: string;
  expr: string;
}

function dashboardQueries(): Query[] {
  const d = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
  return d.panels.flatMap((p) => (p.targets ?? []).map((x) => ({ title: p.title, expr: x.expr })));
}

function ruleExprs(): string[] {
  return [...readFileSync(RULES, 'utf8').matchAll(/expr: (\|\n(?:\s{10}.*\n)+|.*)/g)].map((m) => m[1]!.replace(/^\|\n/, ''));
}

/** vcp_ metric names that the queries name (histogram series reduced to their metric). */
function namesIn(exprs: string[]): Set<string> {
  const names = new Set<string>();
  for (const e of exprs) for (const m of e.matchAll(/\bvcp_[a-z0-9_]+/g)) names.add(m[0].replace(/_(bucket|sum|count)$/, ''));
  return names;
}

/** Every metric the sources define (`name: 'vcp_...'`). */
function definedNames(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/name: '(vcp_[a-z0-9_]+)'/g)) out.add(m[1]!);
    }
  };
  for (const d of ['layer1', 'layer2', 'shared']) walk(join(ROOT, d));
  // Layer 1 defines its member and listener metrics through helpers: memberGauge('vcp_l1_...', ...).
  for (const m of readFileSync(join(ROOT, 'layer1/metrics.ts'), 'utf8').matchAll(/(?:member|listener)(?:Gauge|Counter)\('(vcp_[a-z0-9_]+)'/g)) out.add(m[1]!);
  return out;
}

t.test('promtool checks the alert rules and their unit tests pass', async (t) => {
  const check = promtool(['check', 'rules', RULES]);
  t.equal(check.code, 0, 'promtool check rules') || t.comment(check.out);
  t.match(check.out, /SUCCESS: \d+ rules found/);
  const test = promtool(['test', 'rules', RULE_TESTS]);
  t.equal(test.code, 0, 'promtool test rules') || t.comment(test.out);
  t.match(test.out, /SUCCESS/);
  for (const alert of ['VcproxyWellKnownAddressDown', 'VcproxyNoHealthyMember', 'VcproxyPopDown', 'VcproxyLearningFlipping', 'VcproxyReplicationLag', 'VcproxyProfileStoreNearlyFull', 'VcproxyFloodGuardTripping', 'VcproxyPlaintextPortExposed']) {
    t.match(readFileSync(RULE_TESTS, 'utf8'), new RegExp(`alertname: ${alert}\\b`), `${alert} has a unit test`);
  }
});

t.test('the dashboard file is what its typed source produces', async (t) => {
  t.same(JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')), dashboard(), 'config/monitoring/grafana/vcproxy.json is up to date (node dist/scripts/monitoring/dashboard.js writes it)');
  const d = dashboard();
  const ids = (d.panels ?? []).map((p) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const title of ['SIP calls/s by technique and outcome', 'Decision latency', 'Calls in progress per POP', 'Redirects pending', 'Layer-1 members up']) {
    t.ok((d.panels ?? []).some((p) => p.title === title), `a panel "${title}"`);
  }
});

t.test('every dashboard query parses (promtool, as recording rules)', async (t) => {
  const queries = dashboardQueries();
  t.ok(queries.length >= 15, `${queries.length} queries`);
  const dir = tempDir('monitoring');
  // Grafana's variables as Prometheus would receive them.
  const rules = queries.map((q, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(q.expr.replaceAll('$__rate_interval', '5m').replaceAll('$pop', '.*'))}`);
  const file = writeFile(dir, 'dashboard-rules.yml', `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
  const r = promtool(['check', 'rules', file]);
  t.equal(r.code, 0, 'every query is valid PromQL') || t.comment(r.out);
});

t.test('every vcproxy metric the alerts and the dashboard name is defined, and the processes serve it', async (t) => {
  const used = namesIn([...ruleExprs(), ...dashboardQueries().map((q) => q.expr)]);
  const defined = definedNames();
  for (const n of used) t.ok(defined.has(n), `${n} is defined in the code`);
  // The processes of one POP: what layer 1 and a worker serve at /metrics.
  const stack = await startStack(`
pop: t
wellKnown: { address: 127.0.53.1, sip: 5060, h323: 1720, ras: 1719 }
pops: [ { name: t } ]
layer1:
  health: { intervalMs: 100, timeoutMs: 500, fall: 5, rise: 1 }
  metrics: { address: 127.0.53.1, port: 9100 }
  control: { address: 127.0.53.1, port: 9101 }
connectors:
  - { name: c, pop: t, address: 127.0.53.2, workers: 1, ports: { sipProxied: 15060, sip: 25060, health: 18080 } }
servers: [ { name: b, pop: t, address: 127.0.53.10, sipPort: 5060, probe: none } ]
admin: { port: 0 }
`);
  t.teardown(() => stack.stop());
  let served = '';
  await waitFor('metrics of layer 1 and of the worker', async () => {
    served = (await httpGet('http://127.0.53.1:9100/metrics')).body + (await httpGet('http://127.0.53.2:18080/metrics')).body;
    return served.includes('vcp_l1_member_up') && served.includes('vcp_sip_dialogs');
  });
  // A metric is served once its # TYPE line is (a labelled counter has no sample before its first event).
  const present = new Set([...served.matchAll(/^# TYPE (vcp_[a-z0-9_]+) /gm)].map((m) => m[1]!));
  // Served by other processes or only in some deployments: the supervisor (replication, the profile
  // store's disk), layer 1's listeners once traffic flowed, a worker's first decision.
  const elsewhere = new Set(['vcp_replication_lag_seconds', 'vcp_replication_connected', 'vcp_profile_store_filesystem_free_bytes', 'vcp_profile_store_filesystem_size_bytes', 'vcp_web_tokens_limited_total']);
  for (const n of used) {
    if (elsewhere.has(n)) continue;
    t.ok(present.has(n), `${n} is served by layer 1 or a worker`);
  }
  t.match(served, /vcp_build_info\{[^}]*role="worker"[^}]*\} 1/, 'the worker says which code it runs');
  t.match(served, /vcp_plaintext_port_exposed\{[^}]*role="worker_health"[^}]*\} 0/, 'a health port on loopback is not exposed');
});
