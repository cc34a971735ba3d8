import t from 'tap';
import type { RoutedCall } from '../../../layer2/route/call.js';
import { ACK_WAIT_MS, Dialogs } from '../../../layer2/sip/dialogs.js';

// A call holds its capacity units from its answer to its BYE; an answer whose ACK never comes (lost
// on the way, or the client gave up) gives them back after 64·T1 instead of `maxCallMs`.

function call(): RoutedCall & { events: string[] } {
  const events: string[] = [];
  return { events, establish: () => events.push('establish'), end: () => events.push('end'), rtt: (ms: number) => events.push(`rtt ${ms}`) } as unknown as RoutedCall & { events: string[] };
}

const server = { transport: 'udp' as const, address: '192.0.2.10', port: 5060 };

t.test('an answer without an ACK ends the call after 64·T1; an acknowledged one lives on to its BYE', async (t) => {
  const d = new Dialogs({ maxCallMs: 21_600_000 });
  const lost = call();
  const acked = call();
  d.answered('lost', lost, server, 'udp:198.51.100.1:5060', 0);
  d.answered('acked', acked, server, 'udp:198.51.100.2:5060', 0);
  d.acked('acked', 40);
  d.sweep(ACK_WAIT_MS - 1);
  t.equal(d.size, 2, 'both held before 64·T1');
  d.sweep(ACK_WAIT_MS + 1);
  t.same(lost.events, ['establish', 'end'], 'the unacknowledged call ended: its units are given back');
  t.same(acked.events, ['establish', 'rtt 40'], 'the acknowledged call goes on');
  t.equal(d.size, 1);
  t.equal(d.unacked, 1, 'counted');
  d.ended('acked');
  t.same(acked.events, ['establish', 'rtt 40', 'end'], 'its BYE ends it');
  d.sweep(2 * ACK_WAIT_MS);
  t.equal(d.unacked, 1, 'nothing counted twice');
});

t.test('a 2xx sent again (the server retransmits it) restarts the wait', async (t) => {
  const d = new Dialogs({ maxCallMs: 21_600_000 });
  const c = call();
  d.answered('x', c, server, 'udp:198.51.100.1:5060', 0);
  d.answered('x', c, server, 'udp:198.51.100.1:5060', 20_000);
  d.sweep(ACK_WAIT_MS + 1);
  t.equal(d.size, 1, 'still waiting: the last 2xx left 12 s ago');
  d.acked('x', 21_000);
  d.sweep(3 * ACK_WAIT_MS);
  t.equal(d.size, 1, 'acknowledged: held until its BYE');
  t.equal(d.unacked, 0);
});
