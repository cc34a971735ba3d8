import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { BindError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { encodeProxyV2 } from '../shared/proxy-v2.js';
import type { AddressSet } from '../shared/net/address-set.js';
import type { FloodGuard } from '../shared/flood-guard.js';
import { literalLookup } from '../shared/net/listen.js';
import { FlowTable, flowKey } from './flow-table.js';
import type { Member, TargetPort } from './members.js';
import { clientHash, pickLane } from './pick.js';
import { sipCallLane } from './sip-lane.js';
import { UdpFlow, type FlowOwner } from './udp-flow.js';

export interface UdpRelayOptions {
  /** Names the listener in logs, errors and metrics (`sip/udp`, `ras/udp`). */
  name: string;
  address: string;
  port: number;
  target: TargetPort;
  /** The address clients dialled, written into every PROXY v2 header. */
  dialled: { address: string; port: number };
  maxFlows: number;
  /** Flows one client address may hold on this listener (`exempt` addresses excepted). */
  maxFlowsPerSource: number;
  exempt?: AddressSet;
  /** Datagrams per source: a source over `limits.flood` is ignored for a while. */
  flood?: FloodGuard;
  idleTimeoutMs: number;
  /** SIP: a client's calls spread over this many flows by Call-ID (`sip-lane.ts`); 1 (the default): one flow per client address and port. */
  lanes?: number;
}

export interface UdpRelayStats {
  /** Datagrams dropped because the flow table was full. */
  tableFull: number;
  /** Datagrams dropped because their source address held `udp.maxFlowsPerSource` flows. */
  sourceFull: number;
  /** Datagrams dropped because no member was eligible. */
  noMember: number;
  /** Flows that moved to another member because theirs went down or stopped answering. */
  repicks: number;
}

/**
 * A flow towards a member that is being replaced (it drains itself) and that carried nothing either
 * way for this long moves to another member on its next datagram: a client that comes back from a
 * source port it used before (a new call from a reused port) must not keep the old worker busy. A
 * call in progress keeps its flow: its messages come closer together (SIP retransmits within 0.5 to
 * 4 s, an answer's ACK and the requests of a short call follow within seconds). A long silent call
 * whose BYE comes later takes the next member (any worker routes an in-dialog request by its Route).
 */
export const DRAIN_REPICK_IDLE_MS = 10_000;

const movesOff = (f: UdpFlow, now: number): boolean => f.member.drainRequested && now - f.lastSeen >= DRAIN_REPICK_IDLE_MS;

/**
 * A UDP listener on the well-known address: a flow per client address and port (and, for SIP, per
 * lane: calls from one port spread over `lanes` flows by Call-ID), each with its own socket towards
 * the member it was given. Replies leave from the well-known socket. A flow whose
 * member went down (health) or answered with an ICMP error moves on its next datagram to the next
 * member in hash order; a draining member keeps its flows. The table holds at most `maxFlows`, and
 * `maxFlowsPerSource` for one client address: a datagram that would open one more is dropped.
 */
export class UdpRelay implements FlowOwner {
  readonly stats: UdpRelayStats = { tableFull: 0, sourceFull: 0, noMember: 0, repicks: 0 };
  readonly #o: UdpRelayOptions;
  #members: readonly Member[];
  readonly #log: Logger;
  readonly #table: FlowTable<UdpFlow>;
  #sock: Socket | undefined;
  #sweeper: NodeJS.Timeout | undefined;
  #accepting = true;
  #exclude: Member | undefined;
  readonly #eligible = (m: Member): boolean => m.eligible && m !== this.#exclude;

  constructor(o: UdpRelayOptions, members: readonly Member[], log: Logger) {
    this.#o = o;
    this.#members = members;
    this.#log = log;
    this.#table = new FlowTable(o.maxFlows);
  }

  get name(): string {
    return this.#o.name;
  }

  /** A reload: new flows pick among these; open flows keep their member. */
  setMembers(members: readonly Member[], idleTimeoutMs: number): void {
    this.#members = members;
    this.#o.idleTimeoutMs = idleTimeoutMs;
  }

  get flows(): number {
    return this.#table.size;
  }

  start(): Promise<void> {
    const o = this.#o;
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: isIPv6(o.address) ? 'udp6' : 'udp4', recvBufferSize: 4 << 20, sendBufferSize: 4 << 20, lookup: literalLookup });
      s.once('error', (err) => reject(new BindError(`layer 1 ${o.name}`, o.address, o.port, err)));
      s.bind(o.port, o.address, () => {
        s.removeAllListeners('error');
        s.on('error', (err) => this.#log.debug({ err, listener: o.name }, 'send error on the well-known socket'));
        s.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo));
        this.#sock = s;
        const every = Math.max(50, Math.min(1000, o.idleTimeoutMs >> 2));
        this.#sweeper = setInterval(() => this.sweep(Date.now()), every).unref();
        resolve();
      });
    });
  }

  #onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    const now = Date.now();
    if (this.#o.flood && !this.#o.flood.allow(rinfo.address, this.#o.name, now)) return;
    const lanes = this.#o.lanes ?? 1;
    const lane = lanes > 1 ? sipCallLane(msg, lanes) : 0;
    const key = flowKey(rinfo.port, lane);
    const f = this.#table.get(rinfo.address, key);
    if (f !== undefined && !f.broken && f.member.up && !movesOff(f, now)) {
      f.toMember(msg, now);
      return;
    }
    this.#newFlow(msg, rinfo.address, rinfo.port, lane, key, f, now);
  }

  #newFlow(msg: Buffer, address: string, port: number, lane: number, key: number, old: UdpFlow | undefined, now: number): void {
    if (!this.#accepting) return;
    if (old === undefined) {
      // Refused before any work: a flood of new sources or ports costs a lookup each.
      if (this.#table.full) {
        this.stats.tableFull++;
        return;
      }
      if (this.#table.countFor(address) >= this.#o.maxFlowsPerSource && !this.#o.exempt?.has(address)) {
        this.stats.sourceFull++;
        return;
      }
    }
    this.#exclude = old?.member;
    const m = pickLane(this.#members, clientHash(address, port), lane, this.#eligible);
    this.#exclude = undefined;
    if (m === undefined) {
      // No other member: a flow whose member only failed its probes (a busy host answers them late)
      // stays with it, since its transactions live there; dropping would lose them for certain.
      if (old !== undefined && !old.broken) {
        old.toMember(msg, now);
        return;
      }
      if (old !== undefined) {
        this.#retire(old);
        this.#table.delete(address, key, old);
      }
      this.stats.noMember++;
      return;
    }
    if (old !== undefined) {
      // Its member went down or refused: leave it for the next member in hash order.
      this.#retire(old);
      this.#table.delete(address, key, old);
      this.stats.repicks++;
    }
    if (this.#table.full) {
      this.stats.tableFull++;
      return;
    }
    const o = this.#o;
    const header = encodeProxyV2({ transport: 'udp', srcAddress: address, srcPort: port, dstAddress: o.dialled.address, dstPort: o.dialled.port });
    const flow = new UdpFlow(this, m, m.port(o.target), address, port, header, now);
    this.#table.add(address, key, flow);
    m.stats.udpFlowsCreated++;
    m.stats.udpFlowsActive++;
    flow.toMember(msg, now);
  }

  reply(msg: Buffer, flow: UdpFlow): void {
    this.#sock?.send(msg, flow.clientPort, flow.clientAddress);
  }

  #retire(f: UdpFlow): void {
    f.member.stats.udpFlowsActive--;
    f.close();
  }

  /** Removes flows idle since before `now - idleTimeoutMs`. */
  sweep(now: number): number {
    return this.#table.sweep(now - this.#o.idleTimeoutMs, (f) => this.#retire(f));
  }

  /** True when no flow carried a datagram since `since`. */
  quietSince(since: number): boolean {
    for (const [, , f] of this.#table.entries()) if (f.lastSeen >= since) return false;
    return true;
  }

  /** Existing flows keep going; datagrams that would open a flow are dropped. */
  stopAccepting(): void {
    this.#accepting = false;
  }

  close(): void {
    this.#accepting = false;
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#table.clear((f) => this.#retire(f));
    try {
      this.#sock?.close();
    } catch {
      // not bound
    }
    this.#sock = undefined;
  }
}
