import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The flow token in the connector's own Record-Route (`vcf=<flow key>~<MAC>`): the Route a server
 * sends an in-dialog request along names the client flow it goes out on. The MAC (96 bits of
 * HMAC-SHA256 under a key of the deployment) means only the deployment made it: a request cannot
 * name a flow, or an address, of its own choosing. `keys()`: the current key first (it makes tokens),
 * then the previous one of a rotation (it still verifies).
 */
export class FlowTokens {
  readonly #keys: () => readonly Buffer[];

  constructor(keys: () => readonly Buffer[]) {
    this.#keys = keys;
  }

  make(flowKey: string): string {
    return `${flowKey}~${this.#mac(this.#keys()[0]!, flowKey).toString('base64url')}`;
  }

  /** The flow key a token names, or undefined when this process did not make it. */
  open(token: string): string | undefined {
    const i = token.lastIndexOf('~');
    if (i <= 0 || token.length > 200) return undefined;
    const key = token.slice(0, i);
    const mac = Buffer.from(token.slice(i + 1), 'base64url');
    for (const k of this.#keys()) {
      const want = this.#mac(k, key);
      if (mac.length === want.length && timingSafeEqual(mac, want)) return key;
    }
    return undefined;
  }

  #mac(secret: Buffer, flowKey: string): Buffer {
    return createHmac('sha256', secret).update(flowKey).digest().subarray(0, 12);
  }
}
