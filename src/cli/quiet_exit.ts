/**
 * Errors that end a run without a message: the user interrupted, or the
 * reader of stdout went away (`portolan -sL … | head -1`).
 *
 * @module
 */

/**
 * The exit code of an error that ends the run quietly, or undefined for
 * any other error: 130 after an interrupt (an abort surfacing from a read
 * or a listing), 141 (128 + SIGPIPE, as a tool killed by it) for a closed
 * stdout.
 */
export function quietExitCode(error: unknown, signal?: AbortSignal): number | undefined {
  if (error instanceof Deno.errors.BrokenPipe) return 141;
  if (
    signal?.aborted === true && (error === signal.reason ||
      (error instanceof DOMException && error.name === "AbortError"))
  ) {
    return 130;
  }
  return undefined;
}
