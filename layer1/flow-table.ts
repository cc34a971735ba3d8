/** What the table needs of a flow: when it last carried a datagram (ms, same clock as `sweep`). */
export interface Expiring {
  lastSeen: number;
}

/** The key of a client's flow under its address: its port, and the lane of its flows (`sip-lane.ts`) above it. */
export const flowKey = (port: number, lane: number): number => port + lane * 65536;

/**
 * UDP flows keyed by client address and `flowKey` (port and lane), bounded and swept for idle flows.
 * Two levels of maps (address → key → flow) so that a lookup per datagram builds no key string.
 */
export class FlowTable<F extends Expiring> {
  readonly #byAddress = new Map<string, Map<number, F>>();
  readonly #max: number;
  #size = 0;

  constructor(maxFlows: number) {
    this.#max = maxFlows;
  }

  get size(): number {
    return this.#size;
  }

  get full(): boolean {
    return this.#size >= this.#max;
  }

  /** Flows of one client address. */
  countFor(address: string): number {
    return this.#byAddress.get(address)?.size ?? 0;
  }

  get(address: string, port: number): F | undefined {
    return this.#byAddress.get(address)?.get(port);
  }

  /** Adds a flow for a key that has none; false (nothing stored) when the table is full. */
  add(address: string, port: number, flow: F): boolean {
    let ports = this.#byAddress.get(address);
    const existing = ports?.get(port);
    if (existing === undefined && this.#size >= this.#max) return false;
    if (ports === undefined) {
      ports = new Map();
      this.#byAddress.set(address, ports);
    }
    ports.set(port, flow);
    if (existing === undefined) this.#size++;
    return true;
  }

  /** Removes the flow stored for the key (only `flow` itself when given). */
  delete(address: string, port: number, flow?: F): boolean {
    const ports = this.#byAddress.get(address);
    const existing = ports?.get(port);
    if (existing === undefined || (flow !== undefined && existing !== flow)) return false;
    ports!.delete(port);
    if (ports!.size === 0) this.#byAddress.delete(address);
    this.#size--;
    return true;
  }

  /** Removes every flow idle since before `olderThan` and hands each to `onExpire`. */
  sweep(olderThan: number, onExpire: (flow: F, address: string, port: number) => void): number {
    let n = 0;
    for (const [address, ports] of this.#byAddress) {
      for (const [port, flow] of ports) {
        if (flow.lastSeen >= olderThan) continue;
        ports.delete(port);
        this.#size--;
        n++;
        onExpire(flow, address, port);
      }
      if (ports.size === 0) this.#byAddress.delete(address);
    }
    return n;
  }

  *entries(): IterableIterator<[string, number, F]> {
    for (const [address, ports] of this.#byAddress) for (const [port, flow] of ports) yield [address, port, flow];
  }

  /** Empties the table, handing every flow to `onRemove`. */
  clear(onRemove: (flow: F) => void): void {
    for (const ports of this.#byAddress.values()) for (const flow of ports.values()) onRemove(flow);
    this.#byAddress.clear();
    this.#size = 0;
  }
}
