import { VcpError } from '../../shared/errors.js';

/** Exit codes of ip-takeover (docs/failover.md, "ip-takeover reference"). */
export const enum Exit {
  Ok = 0,
  Internal = 1,
  BadInput = 2,
  Config = 3,
  Conflict = 4,
  Unhealthy = 5,
  System = 6,
  /** `status` only: this POP does not announce the address. */
  NotAnnounced = 7,
}

export const enum FailoverErr {
  BadInput = 'VCP_ERR_FAILOVER_BAD_INPUT',
  Conflict = 'VCP_ERR_FAILOVER_CONFLICT',
  Unhealthy = 'VCP_ERR_FAILOVER_UNHEALTHY',
  Bird = 'VCP_ERR_FAILOVER_BIRD',
  Command = 'VCP_ERR_FAILOVER_COMMAND',
}

const EXIT: Record<FailoverErr, Exit> = {
  [FailoverErr.BadInput]: Exit.BadInput,
  [FailoverErr.Conflict]: Exit.Conflict,
  [FailoverErr.Unhealthy]: Exit.Unhealthy,
  [FailoverErr.Bird]: Exit.System,
  [FailoverErr.Command]: Exit.System,
};

/** A failover operation that did not happen (or failed half-way, for Bird and Command): says why. */
export class FailoverError extends VcpError {
  readonly exit: Exit;
  constructor(code: FailoverErr, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.exit = EXIT[code];
  }
}
