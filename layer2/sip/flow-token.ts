import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The flow token in the connector's own Record-Route (`vcf=<flow key>~<MAC>`): the Route a server
 * sends an in-dialog request along names the client flow it goes out on. The MAC (96 bits of
 * HMAC-SHA256 under a key this process drew at start) means only this worker made it: a request
 * cannot name a flow, or an address, of its own choosing. A worker that restarts has new flows and
 * a new key; old tokens then fail like the flows they named.
 */
export class FlowTokens {
  readonly #key: Buffer;

  constructor(key: Buffer = randomBytes(32)) {
    this.#key = key;
  }

  make(flowKey: string): string {
    return `${flowKey}~${this.#mac(flowKey).toString('base64url')}`;
  }

  /** The flow key a token names, or undefined when this process did not make it. */
  open(token: string): string | undefined {
    const i = token.lastIndexOf('~');
    if (i <= 0 || token.length > 200) return undefined;
    const key = token.slice(0, i);
    const mac = Buffer.from(token.slice(i + 1), 'base64url');
    const want = this.#mac(key);
    return mac.length === want.length && timingSafeEqual(mac, want) ? key : undefined;
  }

  #mac(flowKey: string): Buffer {
    return createHmac('sha256', this.#key).update(flowKey).digest().subarray(0, 12);
  }
}
