import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Member } from './members.js';

/** What a flow needs of its relay: the way back to the client. */
export interface FlowOwner {
  /** Sends a member's reply to the client from the well-known socket. */
  reply(msg: Buffer, flow: UdpFlow): void;
}

/** Datagrams kept while the flow's socket binds and connects; more are dropped. */
const MAX_PENDING = 64;
/** ICMP answers that say the member is not there: the flow moves on its next datagram. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);

/**
 * One client's UDP flow towards one member: a socket of its own, connected to the member's port, so
 * that the member answers to it and its replies find their client without a lookup. Every datagram
 * towards the member carries the PROXY v2 header built once for the flow.
 */
export class UdpFlow {
  lastSeen: number;
  /** The member answered with an ICMP error: the next datagram picks again. */
  broken = false;
  readonly member: Member;
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly #owner: FlowOwner;
  readonly #header: Buffer;
  readonly #sock: Socket;
  #pending: Buffer[] | undefined = [];
  #closed = false;

  constructor(owner: FlowOwner, member: Member, port: number, clientAddress: string, clientPort: number, header: Buffer, now: number) {
    this.#owner = owner;
    this.member = member;
    this.clientAddress = clientAddress;
    this.clientPort = clientPort;
    this.#header = header;
    this.lastSeen = now;
    const v6 = isIPv6(member.address);
    const sock = createSocket({ type: v6 ? 'udp6' : 'udp4', recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 });
    this.#sock = sock;
    sock.on('error', (err: NodeJS.ErrnoException) => this.#onError(err));
    sock.on('message', (msg) => {
      this.lastSeen = Date.now();
      const s = this.member.stats;
      s.datagramsOut++;
      s.bytesOut += msg.length;
      this.#owner.reply(msg, this);
    });
    // Any local address: the kernel sends from the host's own address on the route to the member.
    sock.bind(0, () => {
      if (this.#closed) return;
      sock.connect(port, member.address, () => {
        if (this.#closed) return;
        const pending = this.#pending!;
        this.#pending = undefined;
        for (const msg of pending) sock.send([this.#header, msg]);
      });
    });
  }

  /** Forwards one client datagram to the member, behind the flow's PROXY v2 header. */
  toMember(msg: Buffer, now: number): void {
    this.lastSeen = now;
    const s = this.member.stats;
    s.datagramsIn++;
    s.bytesIn += msg.length;
    if (this.#pending === undefined) this.#sock.send([this.#header, msg]);
    else if (this.#pending.length < MAX_PENDING) this.#pending.push(msg);
  }

  #onError(err: NodeJS.ErrnoException): void {
    if (this.broken || this.#closed) return;
    if (UNREACHABLE.has(err.code ?? '') || this.#pending !== undefined) {
      this.broken = true;
      this.member.stats.connectErrors++;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#sock.close();
    } catch {
      // already closed by a failed bind
    }
  }
}
