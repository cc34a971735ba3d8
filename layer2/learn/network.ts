import { isIP } from 'node:net';
import type { NetworkConfig } from '../../shared/config/types.js';
import { addressBytes, longestMatch, networkKeyOf, parsePrefix, type Prefix } from '../../shared/net/prefix.js';
import type { NetworkId } from '../decide/types.js';

export interface IdentifiedNetwork {
  ids: NetworkId[];
  /** The customer of the configured network the address is in ('' when none). */
  customer: string;
  bytes: Uint8Array | undefined;
}

/**
 * Which networks a request comes from: its address prefix (/24, /48), the configured network holding
 * it (longest prefix wins), and the SIP domain or H.323 alias domain it names. Their profiles are
 * read together and their accessible sets intersected.
 */
export class NetworkIdentifier {
  readonly #prefixes: Prefix[] = [];
  readonly #owners: NetworkConfig[] = [];

  constructor(networks: readonly NetworkConfig[]) {
    for (const n of networks) {
      for (const p of n.prefixes) {
        this.#prefixes.push(parsePrefix(p)!);
        this.#owners.push(n);
      }
    }
  }

  /** Results by address and domain (shared objects: callers read them and never change them). */
  readonly #memo = new Map<string, IdentifiedNetwork>();

  identify(address: string, domain = ''): IdentifiedNetwork {
    const k = domain ? `${address} ${domain}` : address;
    let r = this.#memo.get(k);
    if (!r) {
      r = this.#identify(address, domain);
      if (this.#memo.size >= 65_536) this.#memo.clear();
      this.#memo.set(k, r);
    }
    return r;
  }

  #identify(address: string, domain: string): IdentifiedNetwork {
    const ids: NetworkId[] = [];
    const bytes = addressBytes(address);
    let customer = '';
    if (bytes) {
      ids.push({ key: networkKeyOf(bytes), physical: true });
      const i = longestMatch(this.#prefixes, bytes);
      if (i >= 0) {
        const n = this.#owners[i]!;
        ids.push({ key: `net:${n.name}`, physical: true, name: n.name });
        customer = n.customer;
      }
    }
    const d = domain.trim().toLowerCase();
    if (d && isIP(d) === 0 && d.length <= 253) ids.push({ key: `dom:${d}`, physical: false });
    return { ids, customer, bytes };
  }
}
