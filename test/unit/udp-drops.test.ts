import t from 'tap';
import { createSocket } from 'node:dgram';
import { waitFor } from '../helpers/procs.js';
import { udpSocketDrops } from '../helpers/udp-drops.js';

// The flood test accounts for every datagram it sends, and those the kernel dropped at a full socket
// are counted by this helper: it must find the socket and read its count.

t.test('counts what a full receive buffer dropped, and every datagram is either read or counted', async (t) => {
  const rx = createSocket({ type: 'udp4', recvBufferSize: 4096 });
  let got = 0;
  rx.on('message', () => got++);
  await new Promise<void>((r) => rx.bind(0, '127.0.0.1', () => r()));
  const tx = createSocket('udp4');
  t.teardown(() => {
    rx.close();
    tx.close();
  });
  const port = rx.address().port;
  t.equal(udpSocketDrops('127.0.0.1', port), 0, 'a new socket has dropped nothing');
  // Sent in one synchronous loop: the receiver reads nothing until it ends, and its buffer holds a few.
  const N = 2000;
  let done = 0;
  for (let i = 0; i < N; i++) tx.send(Buffer.alloc(200), port, '127.0.0.1', () => done++);
  await waitFor('every datagram read or dropped', () => done === N && got + udpSocketDrops('127.0.0.1', port) === N, 10_000);
  t.ok(udpSocketDrops('127.0.0.1', port) > N / 2, `most dropped at the full socket (${udpSocketDrops('127.0.0.1', port)}, ${got} read)`);
});

t.test('an address that is not IPv4 is refused', async (t) => {
  t.throws(() => udpSocketDrops('::1', 5060), /not an IPv4 address/);
  t.throws(() => udpSocketDrops('127.0.0.256', 5060), /not an IPv4 address/);
});
