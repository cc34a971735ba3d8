import type { Socket } from 'node:net';
import { H323Error } from '../../layer2/h323/errors.js';
import { decodeH323, encodeH323, type H323Message } from '../../layer2/h323/message.js';
import { TpktFramer, tpkt } from '../../layer2/h323/tpkt.js';

/**
 * One H.225.0 call signalling connection for the simulators: TPKT framing and decoding on the way
 * in, encoding on the way out. A message that does not decode is reported once and the stream
 * stops reading (the caller decides whether to release calls and close).
 */
export class H323Stream {
  readonly socket: Socket;
  readonly #framer: TpktFramer;
  #broken = false;

  constructor(socket: Socket, handlers: { message: (m: H323Message) => void; malformed: (e: H323Error) => void }, maxMessageBytes = 65531) {
    this.socket = socket;
    this.#framer = new TpktFramer(maxMessageBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.#broken) return;
      this.#framer.push(chunk);
      try {
        for (let it = this.#framer.next(); it; it = this.#framer.next()) {
          if (it.kind === 'message') handlers.message(decodeH323(it.bytes));
          if (this.#broken || socket.destroyed) return;
        }
      } catch (e) {
        if (!(e instanceof H323Error)) throw e;
        this.#broken = true;
        handlers.malformed(e);
      }
    });
  }

  send(m: H323Message): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(tpkt(encodeH323(m)));
  }
}
