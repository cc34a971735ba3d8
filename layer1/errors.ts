import { VcpError } from '../shared/errors.js';

/** A request to layer 1's control or metrics HTTP endpoints that gets an error answer (`status`). */
export class ControlRequestError extends VcpError {
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(code, message);
    this.status = status;
  }
}

/** The control API was asked about a member layer 1 does not have (404). */
export class UnknownMemberError extends ControlRequestError {
  readonly member: string;
  constructor(member: string, known: readonly string[]) {
    super('VCP_ERR_L1_UNKNOWN_MEMBER', 404, `no layer-1 member "${member}" (members: ${known.join(', ') || 'none'})`);
    this.member = member;
  }
}

/** No such path (404). */
export const notFound = (path: string): ControlRequestError => new ControlRequestError('VCP_ERR_L1_NOT_FOUND', 404, `no such resource: ${path}`);

/** The path exists for another method (405). */
export const wrongMethod = (allowed: string): ControlRequestError => new ControlRequestError('VCP_ERR_L1_METHOD', 405, `use ${allowed}`);

/** The control API has a token and the request did not carry it (401). */
export const unauthorized = (): ControlRequestError => new ControlRequestError('VCP_ERR_L1_UNAUTHORIZED', 401, 'a valid bearer token is required (Authorization: Bearer <token>; l1ctl reads layer1.control.token or tokenFile)');

/** The path cannot be understood (400). */
export const badRequest = (why: string): ControlRequestError => new ControlRequestError('VCP_ERR_L1_BAD_REQUEST', 400, why);

/** The operator CLI could not get an answer from layer 1's control API. */
export class ControlError extends VcpError {
  constructor(url: string, why: string, options?: { cause?: unknown }) {
    super('VCP_ERR_L1_CONTROL', `layer 1 control at ${url}: ${why}`, options);
  }
}
