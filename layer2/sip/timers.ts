import type { Transport } from './transport.js';

/**
 * The RFC 3261 timer policy (section 17 and table 4), one for every transaction of the connector:
 *
 *   client INVITE      Timer A: retransmit after T1, 2·T1, 4·T1 … (no cap) until any response
 *                      Timer B: the request's deadline (64·T1, or backendTimeoutMs towards a server
 *                               with failover candidates); Timer C: a provisional INVITE waits 3 min
 *                      Timer D: a 3xx–6xx final is remembered 32 s over UDP (its retransmissions are
 *                               acknowledged again), 0 over TCP; Timer M (RFC 6026): 2xx, 64·T1
 *   client non-INVITE  Timer E: retransmit after T1, 2·T1 … capped at T2 while Trying, every T2 once
 *                      Proceeding; Timer F: the deadline; Timer K: T4 over UDP, 0 over TCP
 *   server INVITE      100 Trying: sent when no other response went out within 200 ms (or T1/2)
 *                      Timer G: a 3xx–6xx final is sent again after T1, 2·T1 … capped at T2 (UDP)
 *                      until the ACK; Timer H: 64·T1 without an ACK; Timer I: T4 (UDP) after it;
 *                      Timer L (RFC 6026): a 2xx sent, 64·T1 to absorb the INVITE's retransmissions
 *   server non-INVITE  Timer J: 64·T1 over UDP, 0 over TCP
 */
export interface TimerPolicy {
  t1: number;
  t2: number;
  t4: number;
}

export const timerPolicy = (t1: number): TimerPolicy => ({ t1, t2: 4000, t4: 5000 });

/**
 * When an INVITE's 100 Trying is due (RFC 3261 17.2.1: unless the TU answers within 200 ms), and
 * always before the client's own Timer A (T1) would send the INVITE again.
 */
export const tryingAfter = (p: TimerPolicy): number => Math.min(200, Math.floor(p.t1 / 2));

/** Timer C: how long an INVITE that had a provisional response waits for its final one. */
export const TIMER_C_MS = 180_000;

/** The interval before the next retransmission of a client request (`previous` 0: the first). */
export function clientRetransmit(p: TimerPolicy, invite: boolean, proceeding: boolean, previous: number): number {
  if (invite) return previous === 0 ? p.t1 : previous * 2;
  if (proceeding) return p.t2;
  return previous === 0 ? p.t1 : Math.min(previous * 2, p.t2);
}

/** How long a client transaction stays after its final response (Timer D/K/M). */
export function clientLinger(p: TimerPolicy, invite: boolean, status: number, transport: Transport): number {
  if (invite && status < 300) return 64 * p.t1;
  if (transport === 'tcp') return 0;
  return invite ? Math.max(32_000, 64 * p.t1) : p.t4;
}

/** Timer G: the interval before the next retransmission of a server INVITE's 3xx–6xx final (UDP). */
export const serverRetransmit = (p: TimerPolicy, previous: number): number => (previous === 0 ? p.t1 : Math.min(previous * 2, p.t2));

/** How long a server transaction stays once its final response is sent (Timer H/L for INVITE, J otherwise). */
export function serverLinger(p: TimerPolicy, invite: boolean, transport: Transport): number {
  if (invite) return 64 * p.t1;
  return transport === 'udp' ? 64 * p.t1 : 0;
}

/** Timer I: a server INVITE transaction that got its ACK stays this long (UDP) for ACK retransmissions. */
export const ackedLinger = (p: TimerPolicy, transport: Transport): number => (transport === 'udp' ? p.t4 : 0);
