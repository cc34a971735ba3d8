/**
 * The deployment the SIP attacks of test/hostile/ run against: one POP, layer 1 on the well-known
 * address `<block>.1`, one connector worker on `<block>.2` (plain SIP port 25060), one server on
 * `<block>.10:5060`, and the `sip` section given. The flood guard is off: these attacks exercise the
 * bounds that stand behind it (a real flood is stopped earlier, see flood.test.ts).
 */
export function sipPop(block: string, sip: string): { yaml: string; wk: { address: string; port: number }; conn: { address: string; port: number }; server: string } {
  const wk = { address: `${block}.1`, port: 5060 };
  const conn = { address: `${block}.2`, port: 25060 };
  const server = `${block}.10`;
  const yaml = `
pop: h
wellKnown: { address: ${wk.address}, sip: 5060, h323: 1720, ras: 1719 }
pops: [ { name: h } ]
layer1:
  health: { intervalMs: 100, timeoutMs: 100, fall: 2, rise: 1 }
  metrics: { address: ${wk.address}, port: 9100 }
  control: { address: ${wk.address}, port: 9101 }
connectors:
  - { name: c, pop: h, address: ${conn.address}, workers: 1, ports: { sipProxied: 15060, sip: ${conn.port}, health: 18080 } }
servers:
  - { name: s, pop: h, address: ${server}, sipPort: 5060, probe: none }
sip: ${sip}
profiles: { path: profiles }
admin: { port: 0 }
limits: { flood: { requestsPerSecond: 0 } }
`;
  return { yaml, wk, conn, server };
}
