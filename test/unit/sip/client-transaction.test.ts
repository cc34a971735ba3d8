import t, { type Test } from 'tap';
import { createSocket } from 'node:dgram';
import { ClientTransaction } from '../../../layer2/sip/client-transaction.js';
import { parseSipMessage } from '../../../layer2/sip/parser.js';
import type { SipRequest, SipResponse } from '../../../layer2/sip/message.js';
import { timerPolicy } from '../../../layer2/sip/timers.js';

// A worker starved of CPU runs its expired timers before it reads what arrived meanwhile. The
// transaction must read first: a response queued during the stall stops the retransmission and the
// deadline that fell due in the same stall.

const INVITE = [
  'INVITE sip:room@127.0.0.1:5060 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-unit-1',
  'From: <sip:a@127.0.0.1>;tag=1',
  'To: <sip:room@127.0.0.1>',
  'Call-ID: stall-1',
  'CSeq: 1 INVITE',
  'Max-Forwards: 70',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

const busy = (ms: number): void => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // the event loop is held, as by a starved or busy process
  }
};

function responseTo(branch: string, status: number): Buffer {
  return Buffer.from([
    `SIP/2.0 ${status} ${status === 200 ? 'OK' : 'Ringing'}`,
    `Via: SIP/2.0/UDP 127.0.0.1:25060;branch=${branch}`,
    'Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-unit-1',
    'From: <sip:a@127.0.0.1>;tag=1',
    'To: <sip:room@127.0.0.1>;tag=u',
    'Call-ID: stall-1',
    'CSeq: 1 INVITE',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'));
}

/** The INVITE sent over UDP with T1 = 20 ms; its sends and failures counted. */
function invite(t: Test, timeoutMs: number): { tx: ClientTransaction; sends: { count: number }; failed: string[] } {
  const sends = { count: 0 };
  const failed: string[] = [];
  const tx = new ClientTransaction({
    req: parseSipMessage(Buffer.from(INVITE), true) as SipRequest,
    dropRoutes: 0,
    peer: { transport: 'udp', address: '127.0.0.1', port: 5060 },
    send: () => void sends.count++,
    sentBy: { address: '127.0.0.1', port: 25060 },
    timeoutMs,
    policy: timerPolicy(20),
    onFailed: (_c, why) => failed.push(why),
  });
  t.teardown(() => tx.stop());
  return { tx, sends, failed };
}

async function stalled(t: Test, o: { timeoutMs: number; stallMs: number; status: number }): Promise<{ sends: number; failed: string[] }> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  t.teardown(() => sock.close());
  const port = sock.address().port;
  const { tx, sends, failed } = invite(t, o.timeoutMs);
  sock.on('message', (buf) => tx.receive(parseSipMessage(buf, true) as SipResponse));
  // The answer is queued in the socket while the loop is held past the timer.
  const client = createSocket('udp4');
  t.teardown(() => client.close());
  await new Promise<void>((r) => client.send(responseTo(tx.branch, o.status), port, '127.0.0.1', () => r()));
  busy(o.stallMs);
  await new Promise((r) => setTimeout(r, 60));
  return { sends: sends.count, failed };
}

t.test('Timer A expired during a stall: the 200 that queued meanwhile is read first, the INVITE is not sent again', async (t) => {
  const r = await stalled(t, { timeoutMs: 10_000, stallMs: 50, status: 200 });
  t.equal(r.sends, 1, 'sent once, never retransmitted');
  t.same(r.failed, [], 'no failure');
});

t.test('Timer B expired during a stall: the final response that queued meanwhile wins over the deadline', async (t) => {
  const r = await stalled(t, { timeoutMs: 30, stallMs: 60, status: 200 });
  t.same(r.failed, [], 'the transaction did not time out');
  t.equal(r.sends, 1, 'and was not retransmitted');
});

t.test('a 180 queued during the stall stops the INVITE retransmissions too', async (t) => {
  const r = await stalled(t, { timeoutMs: 10_000, stallMs: 50, status: 180 });
  t.equal(r.sends, 1, 'sent once');
  t.same(r.failed, [], 'no failure');
});

t.test('without any answer the timers still run: retransmissions, then the timeout', async (t) => {
  const { sends, failed } = invite(t, 200);
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (failed.length > 0) {
        clearInterval(poll);
        resolve();
      }
    }, 10);
  });
  t.ok(sends.count >= 3, `retransmitted (${sends.count} sends: 20, 40, 80 ms after the first)`);
  t.same(failed, ['timeout'], 'then timed out');
});
