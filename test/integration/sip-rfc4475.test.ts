import t from 'tap';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { SipUas } from '../../scripts/sim/sip-uas.js';
import { parseConfig } from '../../shared/config/load.js';
import { createLogger } from '../../shared/logger.js';
import { startWorker } from '../../layer2/worker.js';
import { metric } from '../helpers/stack.js';
import { fixture } from '../helpers/paths.js';
import { waitFor } from '../helpers/procs.js';

/**
 * Every verdict of test/fixtures/sip/rfc4475/VERDICTS.md, checked against a real worker over UDP
 * with a real backend behind it. "accept" means the request was handled like any other: proxied to
 * the backend and answered, or answered by the connector with the status the verdict allows.
 */
const dir = `${fixture('sip', 'rfc4475')}/`;

type Verdict = { accept: true; allow?: number[] } | { reject: number } | { drop: true; reason: string } | { response: true } | { unanswered: true };
const VERDICTS: Record<string, Verdict> = {
  wsinv: { accept: true, allow: [404] }, // in-dialog, routed to a host name: the connector routes by address only
  intmeth: { accept: true },
  esc01: { accept: true },
  escnull: { accept: true },
  esc02: { accept: true },
  lwsdisp: { accept: true },
  longreq: { accept: true },
  dblreq: { accept: true },
  semiuri: { accept: true },
  transports: { accept: true },
  mpart01: { unanswered: true }, // pre-routed to a loopback port where nothing answers; no 408 to a non-INVITE (RFC 4320)
  unreason: { response: true },
  noreason: { response: true },
  badinv01: { reject: 400 },
  clerr: { reject: 400 },
  ncl: { reject: 400 },
  scalar02: { reject: 400 },
  scalarlg: { drop: true, reason: 'malformed_response' },
  quotbal: { reject: 400 },
  ltgtruri: { reject: 400 },
  lwsruri: { reject: 400 },
  lwsstart: { reject: 400 },
  trws: { reject: 400 },
  escruri: { reject: 400 },
  baddate: { accept: true, allow: [400] },
  regbadct: { accept: true, allow: [400] },
  badaspec: { reject: 400 },
  baddn: { reject: 400 },
  badvers: { reject: 505 },
  mismatch01: { reject: 400 },
  mismatch02: { reject: 400 },
  bigcode: { drop: true, reason: 'malformed_response' },
  badbranch: { accept: true },
  insuf: { reject: 400 },
  unkscm: { accept: true, allow: [416] },
  novelsc: { accept: true, allow: [416] },
  unksm2: { accept: true },
  bext01: { accept: true, allow: [420] },
  invut: { accept: true },
  regaut01: { accept: true },
  multi01: { reject: 400 },
  mcl01: { reject: 400 },
  bcast: { drop: true, reason: 'not_our_via' },
  zeromf: { accept: true, allow: [483] },
  cparam01: { accept: true },
  cparam02: { accept: true },
  regescrt: { accept: true },
  sdp01: { accept: true },
  inv2543: { accept: true },
};

const yaml = `
pop: t
wellKnown: { address: 127.0.0.1, sip: 5060 }
pops: [ { name: t } ]
connectors:
  - { name: c, pop: t, address: 127.0.17.2, workers: 1, ports: { sip: 25060, health: 18080 } }
servers:
  - { name: b, pop: t, address: 127.0.17.10, sipPort: 5060, sipTransport: udp }
sip: { backendTimeoutMs: 500, transactionTimeoutMs: 1000 }
`;

t.test('RFC 4475 torture messages get the answers VERDICTS.md names', async (t) => {
  const config = parseConfig(yaml, 'rfc4475.yaml');
  const log = createLogger('test', {});
  log.level = 'silent';
  const uas = new SipUas({ address: '127.0.17.10', port: 5060 });
  await uas.start();
  const worker = await startWorker(config, config.connectors[0]!.endpoints[0]!, log);
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.17.100', () => r()));
  t.teardown(async () => {
    sock.close();
    await worker.close();
    await uas.close();
  });
  const replies: Buffer[] = [];
  sock.on('message', (m) => replies.push(m));
  const scrape = async (): Promise<string> => {
    const res = await fetch('http://127.0.17.2:18080/metrics');
    return res.text();
  };
  /**
   * Send one message and wait for what must follow: a final response (same Call-ID) when the message
   * is answered, or the drop counted when it is not; then the responses to it.
   */
  const exchange = async (bytes: Buffer, callId: string, v: Verdict, before: string): Promise<number[]> => {
    replies.length = 0;
    sock.send(bytes, 25060, '127.0.17.2');
    const statuses = (): number[] =>
      // Read leniently: a 400 copies the malformed headers it answers.
      replies.flatMap((r) => {
        const text = r.toString('latin1');
        return text.startsWith('SIP/2.0 ') && callIdOf(text) === callId ? [Number(text.slice(8, 11))] : [];
      });
    const grew = (name: string) => async (): Promise<boolean> => metric(await scrape(), name) > metric(before, name);
    if ('drop' in v || 'response' in v) await waitFor(`the drop of ${callId} counted`, grew('vcp_sip_dropped_total'));
    else if ('unanswered' in v) await waitFor(`the timeout of ${callId} counted`, grew('vcp_sip_client_timeouts_total'));
    else await waitFor(`a final response to ${callId}`, () => statuses().some((s) => s >= 200));
    return statuses();
  };

  t.equal(Object.keys(VERDICTS).length, 49, 'the table covers the whole RFC 4475 set');
  for (const [name, v] of Object.entries(VERDICTS)) {
    const bytes = readFileSync(`${dir}${name}.dat`);
    const before = await scrape();
    const callId = callIdOf(bytes.toString('latin1'));
    const statuses = await exchange(bytes, callId, v, before);
    const after = await scrape();
    const finals = statuses.filter((s) => s >= 200);
    if ('reject' in v) {
      t.same(finals, [v.reject], `${name}: refused with ${v.reject}`);
      t.equal(metric(after, 'vcp_sip_rejected_total', { status: String(v.reject) }) - metric(before, 'vcp_sip_rejected_total', { status: String(v.reject) }), 1, `${name}: counted`);
    } else if ('drop' in v || 'response' in v) {
      t.same(statuses, [], `${name}: no answer to a response`);
      const dropped = metric(after, 'vcp_sip_dropped_total') - metric(before, 'vcp_sip_dropped_total');
      t.equal(dropped, 1, `${name}: dropped and counted`);
      const reason = 'drop' in v ? v.reason : 'malformed_response';
      const counted = metric(after, 'vcp_sip_dropped_total', { reason }) - metric(before, 'vcp_sip_dropped_total', { reason });
      t.equal(counted, 'drop' in v ? 1 : 0, 'drop' in v ? `${name}: dropped as ${reason}` : `${name}: parsed, then dropped as not ours`);
    } else if ('unanswered' in v) {
      t.same(finals, [], `${name}: forwarded, its next hop silent: no final answer to a non-INVITE (RFC 4320)`);
    } else {
      t.equal(finals.length, 1, `${name}: one final answer (${statuses.join(',')})`);
      const ok = finals[0] === 200 || (v.allow ?? []).includes(finals[0]!);
      t.ok(ok, `${name}: handled (${finals[0]})`);
      t.equal(metric(after, 'vcp_sip_rejected_total', { status: '400' }) - metric(before, 'vcp_sip_rejected_total', { status: '400' }), finals[0] === 400 ? 1 : 0, `${name}: not refused as malformed`);
    }
  }
  t.ok(uas.stats.invites >= 6, 'accepted INVITEs reached the backend');
});

function callIdOf(text: string): string {
  return /^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)/im.exec(text)?.[1] ?? '';
}
