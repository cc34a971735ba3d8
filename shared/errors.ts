/**
 * Base class of every error the appliance raises on purpose. `code` is stable and listed in the
 * error table of docs/errors.md (a test keeps the two in step); `message` is for people.
 */
export class VcpError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A configuration file that cannot be used: names the file, the path inside it and what was expected. */
export class ConfigError extends VcpError {
  readonly file: string;
  readonly path: string;
  constructor(file: string, path: string, expected: string, options?: { cause?: unknown }) {
    super('VCP_ERR_CONFIG', `${file}: ${path || '(root)'}: ${expected}`, options);
    this.file = file;
    this.path = path;
  }
}

/** A port the process could not bind: names the address, the port and the role of the listener. */
export class BindError extends VcpError {
  constructor(role: string, address: string, port: number, cause: unknown) {
    const why = cause instanceof Error && 'code' in cause ? String((cause as NodeJS.ErrnoException).code) : String(cause);
    super('VCP_ERR_BIND', `cannot bind ${role} on ${address}:${port} (${why})`, { cause });
  }
}
