import { VcpError } from '../../shared/errors.js';

/** What the web listener answers with a status and a page instead of the one asked for. */
export class WebError extends VcpError {
  constructor(code: WebErrorCode, readonly status: number, message: string) {
    super(code, message);
  }
}

export type WebErrorCode =
  /** no page at this path (404) */
  | 'VCP_ERR_WEB_NOT_FOUND'
  /** the meeting is not one the appliance knows (404) */
  | 'VCP_ERR_WEB_UNKNOWN_MEETING'
  /** a method other than GET or HEAD (405) */
  | 'VCP_ERR_WEB_METHOD'
  /** a path that cannot be read: bad %-escape, a meeting name with characters no meeting has (400) */
  | 'VCP_ERR_WEB_BAD_REQUEST'
  /** a request line longer than the listener reads (414) */
  | 'VCP_ERR_WEB_URI_TOO_LONG'
  /** no server can take the meeting (503) */
  | 'VCP_ERR_WEB_NO_SERVER';
