/**
 * Reading a whole text file that may be anything: /dev/zero, an endless
 * pipe, a FIFO no one writes to. The read stops at a size cap or the first
 * NUL byte (no text file holds one), and an abort ends it at once.
 *
 * @module
 */

/** Largest report or resume file read, bytes (V8's longest string is about 512 M characters). */
export const MAX_TEXT_BYTES = 256 * 1024 * 1024;

const CHUNK_BYTES = 1024 * 1024;

/** Why a file could not be read as text, in words that follow "Cannot read …: ". */
export class TextReadError extends Error {
  /** The read was ended by the abort signal. */
  readonly interrupted: boolean;

  constructor(message: string, options: { interrupted?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TextReadError";
    this.interrupted = options.interrupted ?? false;
  }
}

function interrupted(): TextReadError {
  return new TextReadError("interrupted", { interrupted: true });
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(interrupted());
  return new Promise<T>((resolve, reject) => {
    const stop = (): void => reject(interrupted());
    signal.addEventListener("abort", stop, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
  });
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "No such file or directory";
  if (error instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "Is a directory";
  const message = error instanceof Error ? error.message : String(error);
  const cut = message.indexOf(" (os error");
  return cut === -1 ? message : message.slice(0, cut);
}

/**
 * The text of `path`, read in chunks.
 *
 * @throws {TextReadError} "No such file or directory", "it is over 268435456 bytes",
 * "it holds a NUL byte (not a text file)", "interrupted".
 */
export async function readBoundedText(
  path: string,
  options: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const maxBytes = options.maxBytes ?? MAX_TEXT_BYTES;
  let file: Deno.FsFile;
  try {
    file = await abortable(Deno.open(path), options.signal);
  } catch (error) {
    if (error instanceof TextReadError) throw error;
    throw new TextReadError(reason(error), { cause: error });
  }
  const parts: string[] = [];
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(CHUNK_BYTES);
  let total = 0;
  try {
    for (;;) {
      let got: number | null;
      try {
        got = await abortable(file.read(buffer), options.signal);
      } catch (error) {
        if (error instanceof TextReadError) throw error;
        throw new TextReadError(reason(error), { cause: error });
      }
      if (got === null) break;
      const bytes = buffer.subarray(0, got);
      if (bytes.includes(0)) throw new TextReadError("it holds a NUL byte (not a text file)");
      total += got;
      if (total > maxBytes) throw new TextReadError(`it is over ${maxBytes} bytes`);
      parts.push(decoder.decode(bytes, { stream: true }));
    }
  } finally {
    try {
      file.close();
    } catch {
      // Closed already (BadResource). Anything else is swallowed too: a throw in this
      // finally would hide the error, if any, that ended the read.
    }
  }
  parts.push(decoder.decode());
  return parts.join("");
}
