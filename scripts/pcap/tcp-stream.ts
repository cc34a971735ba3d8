import type { TcpSegment } from './packet.js';

const MAX_PENDING = 1 << 20;

/**
 * In-order payload of one direction of a TCP connection: retransmitted bytes are dropped,
 * segments that arrive early wait (up to 1 MB) for the gap before them to fill. When the gap never
 * fills, the stream skips it and says so (`gap`), so that the framing above can start again.
 */
export class TcpDirection {
  #next: number | undefined;
  readonly #pending = new Map<number, Buffer>();
  #pendingBytes = 0;

  push(seg: TcpSegment): { data: Buffer[]; gap: boolean } {
    const out: Buffer[] = [];
    let seq = seg.seq;
    if (seg.syn) {
      this.#next = (seq + 1) >>> 0;
      seq = this.#next;
    }
    if (this.#next === undefined) this.#next = seq;
    let gap = false;
    if (seg.payload.length) {
      const d = (seq - this.#next) | 0;
      if (d <= 0) this.#deliver(seg.payload, d, out);
      else if (this.#pendingBytes + seg.payload.length <= MAX_PENDING) {
        if (!this.#pending.has(seq)) {
          this.#pending.set(seq, seg.payload);
          this.#pendingBytes += seg.payload.length;
        }
      } else {
        gap = true;
        this.#pending.clear();
        this.#pendingBytes = 0;
        this.#next = seq;
        this.#deliver(seg.payload, 0, out);
      }
    }
    for (let moved = true; moved && this.#pending.size; ) {
      moved = false;
      for (const [s, b] of this.#pending) {
        const d = (s - this.#next!) | 0;
        if (d > 0) continue;
        this.#pending.delete(s);
        this.#pendingBytes -= b.length;
        this.#deliver(b, d, out);
        moved = true;
      }
    }
    return { data: out, gap };
  }

  /** `d` ≤ 0: how far the payload starts before the next expected byte (a retransmission overlap). */
  #deliver(payload: Buffer, d: number, out: Buffer[]): void {
    if (payload.length + d <= 0) return;
    const fresh = d < 0 ? payload.subarray(-d) : payload;
    out.push(fresh);
    this.#next = (this.#next! + fresh.length) >>> 0;
  }
}
