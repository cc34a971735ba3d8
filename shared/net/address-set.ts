import { addressBytes, contains, parsePrefix, type Prefix } from './prefix.js';

/**
 * A set of addresses given as prefixes (`10.0.0.0/8`, `2001:db8::/32`, bare addresses): trusted
 * senders, neighbours, exemptions. Membership is answered from a bounded memo after the first look,
 * so a check on every datagram costs one Map lookup; IPv4-mapped IPv6 addresses count as IPv4.
 */
export class AddressSet {
  readonly #prefixes: Prefix[];
  readonly #memo = new Map<string, boolean>();

  constructor(prefixes: Iterable<string>) {
    this.#prefixes = [];
    for (const p of prefixes) {
      const parsed = parsePrefix(p);
      if (!parsed) throw new Error(`not an address prefix: ${p}`);
      this.#prefixes.push(parsed);
    }
  }

  get empty(): boolean {
    return this.#prefixes.length === 0;
  }

  has(address: string): boolean {
    let v = this.#memo.get(address);
    if (v === undefined) {
      const b = addressBytes(address);
      v = b !== undefined && this.#prefixes.some((p) => contains(p, b));
      if (this.#memo.size >= 65_536) this.#memo.clear();
      this.#memo.set(address, v);
    }
    return v;
  }
}
