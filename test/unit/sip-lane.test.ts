import t from 'tap';
import { randomBytes } from 'node:crypto';
import { sipCallLane } from '../../layer1/sip-lane.js';
import { clientHash, memberSeed, pick, pickLane } from '../../layer1/pick.js';
import { reloadLayer1, type Layer1Parts } from '../../layer1/reload.js';
import { parseConfig } from '../../shared/config/load.js';

const msg = (headers: string[], body = ''): Buffer => Buffer.from(`INVITE sip:room@192.0.2.1 SIP/2.0\r\n${headers.join('\r\n')}\r\n\r\n${body}`);
const base = (callId: string, name = 'Call-ID', sep = ': '): Buffer =>
  msg(['Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1', 'From: <sip:a@192.0.2.10>;tag=1', 'To: <sip:room@192.0.2.1>', `${name}${sep}${callId}`, 'CSeq: 1 INVITE', 'Content-Length: 0']);

t.test('one Call-ID, one lane: whatever its header looks like and whatever else the message holds', async (t) => {
  const id = 'a84b4c76e66710@pc33.example.com';
  const lane = sipCallLane(base(id), 16);
  t.ok(lane >= 0 && lane < 16);
  for (const [name, sep] of [['call-id', ': '], ['CALL-ID', ':'], ['Call-Id', ' \t: '], ['i', ': '], ['I', ':'], ['Call-ID', ':   ']] as const) {
    t.equal(sipCallLane(base(id, name, sep), 16), lane, `"${name}${sep}"`);
  }
  t.equal(sipCallLane(base(`${id}  \t`), 16), lane, 'trailing blanks are not part of it');
  const ack = Buffer.from(`ACK sip:room@192.0.2.1 SIP/2.0\r\nCall-ID: ${id}\r\nCSeq: 1 ACK\r\n\r\n`);
  t.equal(sipCallLane(ack, 16), lane, 'another request of the call');
  const resp = Buffer.from(`SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10\r\ni: ${id}\r\n\r\n`);
  t.equal(sipCallLane(resp, 16), lane, 'a response');
  t.equal(sipCallLane(Buffer.from(`BYE sip:x SIP/2.0\ncall-id: ${id}\n\n`), 16), lane, 'bare line feeds');
  t.equal(sipCallLane(msg(['CSeq: 1 INVITE', `Call-ID:\r\n \t${id}`, 'Content-Length: 0']), 16), lane, 'a value folded onto the next line');
  t.equal(sipCallLane(msg(['CSeq: 1 INVITE', 'Call-ID:', 'To: <sip:x@y>']), 16), 0, 'an empty value, not folded');
});

t.test('no Call-ID, or one count of lanes: lane 0', async (t) => {
  t.equal(sipCallLane(base('x@y'), 1), 0, 'one lane');
  t.equal(sipCallLane(msg(['Via: SIP/2.0/UDP 192.0.2.10', 'CSeq: 1 INVITE']), 16), 0, 'no Call-ID header');
  t.equal(sipCallLane(msg(['Call-Info: <http://x/y>', 'Identity: abc', 'In-Reply-To: 70710@saturn'], ''), 16), 0, 'headers that only begin like it');
  t.equal(sipCallLane(msg(['CSeq: 1 INVITE'], 'Call-ID: in-the-body\r\n'), 16), 0, 'a Call-ID line in the body');
  t.equal(sipCallLane(msg(['Call-ID:    ']), 16), 0, 'an empty value');
  t.equal(sipCallLane(Buffer.from('\r\n\r\n'), 16), 0, 'a keepalive');
  t.equal(sipCallLane(Buffer.alloc(0), 16), 0, 'nothing');
  t.equal(sipCallLane(Buffer.from('INVITE sip:x SIP/2.0\r\nCall-I'), 16), 0, 'cut short in the name');
});

t.test('the lanes are used evenly', async (t) => {
  const counts = new Array<number>(16).fill(0);
  for (let i = 0; i < 16_000; i++) counts[sipCallLane(base(`${i.toString(36)}-${(i * 7919).toString(16)}@host.example`), 16)]!++;
  t.ok(counts.every((c) => c > 800 && c < 1200), `16,000 Call-IDs over 16 lanes: ${counts.join(' ')}`);
});

t.test('any bytes: a lane in range, never an exception', async (t) => {
  let bad = 0;
  for (let i = 0; i < 20_000; i++) {
    const b = randomBytes(i % 300);
    // Some with a Call-ID line in among the noise.
    if (i % 3 === 0 && b.length > 20) b.write('\r\nCall-ID:', i % (b.length - 12), 'latin1');
    const lane = sipCallLane(b, 8);
    if (!(Number.isInteger(lane) && lane >= 0 && lane < 8)) bad++;
  }
  t.equal(bad, 0);
});

t.test('the lanes of a client are shared evenly over the members, lane 0 on its first choice', async (t) => {
  const all = (): boolean => true;
  for (const n of [2, 3, 5]) {
    const ms = Array.from({ length: n }, (_, i) => ({ id: `c/${i}`, seed: memberSeed(`c/${i}`) }));
    for (let p = 6000; p < 6050; p++) {
      const c = clientHash('192.0.2.10', p);
      const per = new Map<string, number>();
      for (let lane = 0; lane < 16; lane++) {
        const m = pickLane(ms, c, lane, all)!.id;
        per.set(m, (per.get(m) ?? 0) + 1);
      }
      const counts = [...per.values()];
      if (per.size !== n || Math.max(...counts) - Math.min(...counts) > 1) t.fail(`port ${p}, ${n} members: ${[...per].join(' ')}`);
      if (pickLane(ms, c, 0, all) !== pick(ms, c, all)) t.fail(`port ${p}: lane 0 is not the first choice`);
    }
  }
  const ms = ['c/0', 'c/1', 'c/2'].map((id) => ({ id, seed: memberSeed(id) }));
  const c = clientHash('192.0.2.10', 5060);
  const down = (m: { id: string }): boolean => m.id !== 'c/1';
  const lanes = Array.from({ length: 16 }, (_, lane) => pickLane(ms, c, lane, down)!.id);
  t.notOk(lanes.includes('c/1'), 'a member not accepted takes no lane');
  t.same(lanes, Array.from({ length: 16 }, (_, lane) => pickLane([...ms].reverse(), c, lane, down)!.id), 'the order of the member list does not matter: both hosts of a pair agree');
  t.pass('16 lanes over 2, 3 and 5 members, 50 client ports each: no member more than one lane ahead of another');
});

t.test('a reload of layer 1 refuses a new count of lanes (calls in progress would change workers)', async (t) => {
  const yaml = (lanes: number): string => `
pop: t
wellKnown: { address: 127.0.2.1, sip: 5060 }
pops: [ { name: t } ]
layer1: { udp: { sipCallLanes: ${lanes} } }
connectors: [ { name: c, pop: t, address: 127.0.2.2, workers: 2, ports: { sipProxied: 15060, sip: 25060, health: 18080 } } ]
servers: [ { name: b, pop: t, address: 127.0.2.50 } ]
`;
  const cur = parseConfig(yaml(16), 'vcproxy.yaml');
  t.equal(cur.layer1.udp.sipCallLanes, 16);
  t.equal(parseConfig(yaml(16).replace('layer1: { udp: { sipCallLanes: 16 } }\n', ''), 'vcproxy.yaml').layer1.udp.sipCallLanes, 16, 'the default');
  t.throws(() => parseConfig(yaml(0), 'vcproxy.yaml'), /layer1\.udp\.sipCallLanes.*1\.\.64/, 'a count out of range names the key');
  // The check comes before layer 1 touches anything of its own.
  t.throws(() => reloadLayer1({ config: cur } as Layer1Parts, parseConfig(yaml(8), 'vcproxy.yaml')), /layer1\.udp\.sipCallLanes.*restart the layer-1 unit/);
});
