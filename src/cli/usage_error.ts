/**
 * Errors a command line can cause.
 *
 * @module
 */

/** A bad command line: one line for the user, exit code 2, nothing scanned. */
export class UsageError extends Error {
  /** Process exit code for this error. */
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UsageError";
    this.exitCode = options.exitCode ?? 2;
  }
}
