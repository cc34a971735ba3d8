import { VcpError } from '../../shared/errors.js';

/** A query that cannot be read: answered with FORMERR when its header can be, else dropped. Counted either way. */
export class DnsFormatError extends VcpError {
  constructor(message: string) {
    super('VCP_ERR_DNS_MALFORMED', message);
  }
}

/** A TCP stream that breaks its framing (a zero length prefix) or a connection over the limit: the connection is closed. */
export class DnsTcpError extends VcpError {
  constructor(message: string) {
    super('VCP_ERR_DNS_TCP', message);
  }
}
