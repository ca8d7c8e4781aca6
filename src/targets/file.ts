/**
 * Target lists from files (-iL, --excludefile).
 *
 * @module
 */

/**
 * Split target-list text into specs: whitespace-separated, any number a
 * line, `#` starts a comment that runs to the end of the line.
 */
export function parseTargetList(text: string): string[] {
  // A hand-rolled scan: regex splitting per line costs seconds on million-line lists.
  const specs: string[] = [];
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const code = i === text.length ? 10 : text.charCodeAt(i);
    const blank = code === 32 || (code >= 9 && code <= 13);
    if (code === 35) {
      if (start !== -1) specs.push(text.slice(start, i));
      start = -1;
      while (i < text.length && text.charCodeAt(i) !== 10) i++;
    } else if (blank) {
      if (start !== -1) specs.push(text.slice(start, i));
      start = -1;
    } else if (start === -1) {
      start = i;
    }
  }
  return specs;
}

/** The OS's words for a read failure, without Deno's "(os error 2): readfile …" tail. */
function describe(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "No such file or directory";
  if (error instanceof Deno.errors.PermissionDenied) return "Permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "Is a directory";
  const message = error instanceof Error ? error.message : String(error);
  const cut = message.indexOf(" (os error");
  return cut === -1 ? message : message.slice(0, cut);
}

/** Longest line of a target file, characters: no address, range or name comes near it. */
export const MAX_LINE_CHARS = 64 * 1024;
/** Most entries of a target file: far past real lists, and an endless one ends in about a second. */
export const MAX_ENTRIES = 5_000_000;
const CHUNK_BYTES = 256 * 1024;

/** Options of {@link readTargetFile}. */
export interface ReadTargetFileOptions {
  /** Ends the read at once (a FIFO with no writer, a slow pipe): it rejects with an "interrupted" error. */
  signal?: AbortSignal;
  /** Append to this array (returned) instead of a new one. */
  into?: string[];
  /**
   * Hand each spec to this as it is read instead of keeping it (the array
   * returned stays empty): a long list then costs no memory per line. What
   * it throws ends the read and is passed on as it is.
   */
  onSpec?: (spec: string) => void;
  /** Longest line, characters. Default {@link MAX_LINE_CHARS}. */
  maxLineChars?: number;
  /** Most entries. Default {@link MAX_ENTRIES}. */
  maxEntries?: number;
}

/** A read ended by the interrupt: the caller exits 130. */
export class ReadInterrupted extends Error {
  constructor(path: string) {
    super(`Cannot read target file "${path}": interrupted`);
    this.name = "ReadInterrupted";
  }
}

/** `promise`, or a rejection as soon as `signal` aborts (the blocked call itself is left behind). */
function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  path: string,
): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(new ReadInterrupted(path));
  return new Promise<T>((resolve, reject) => {
    const stop = (): void => reject(new ReadInterrupted(path));
    signal.addEventListener("abort", stop, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
  });
}

/**
 * Read the specs of a target file as {@link parseTargetList} splits them;
 * `-` reads standard input. The file is read in chunks and split as it
 * comes, so its text is never held whole; a line over `maxLineChars`, a NUL
 * byte (not a text file: /dev/zero, say) or more than `maxEntries` entries
 * end the read with an error at once, and `signal` ends it whatever the
 * file does (even a FIFO no one writes to).
 *
 * @throws {Error} `Cannot read target file "x": No such file or directory`,
 * `Cannot read target file "x": line 3 is over 65536 characters`,
 * `Cannot read target file "x": it holds a NUL byte at line 1 (not a text file)`,
 * and {@link ReadInterrupted} when `signal` aborts.
 */
export async function readTargetFile(
  path: string,
  options: ReadTargetFileOptions = {},
): Promise<string[]> {
  const { signal } = options;
  const specs = options.into ?? [];
  const maxLine = options.maxLineChars ?? MAX_LINE_CHARS;
  const maxEntries = options.maxEntries ?? MAX_ENTRIES;
  const fail = (why: string): Error => new Error(`Cannot read target file "${path}": ${why}`);
  const onSpec = options.onSpec;
  let entries = 0;
  /** What `onSpec` threw, passed on unwrapped. */
  let rejected: { error: unknown } | undefined;
  let file: Deno.FsFile | undefined;
  try {
    file = path === "-" ? undefined : await abortable(Deno.open(path), signal, path);
    const source = file ?? Deno.stdin;
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(CHUNK_BYTES);
    let line = 1;
    // The unfinished end of the previous chunk: a partial spec, or a comment being skipped.
    let carry = "";
    let inComment = false;
    let lineChars = 0;
    for (;;) {
      const got = await abortable(source.read(buffer), signal, path);
      const text = got === null ? decoder.decode() : decoder.decode(buffer.subarray(0, got), {
        stream: true,
      });
      const end = got === null ? text.length + 1 : text.length;
      let start = 0;
      for (let i = 0; i < end; i++) {
        const code = i === text.length ? 10 : text.charCodeAt(i);
        if (code === 0) throw fail(`it holds a NUL byte at line ${line} (not a text file)`);
        if (code === 10) {
          line++;
          lineChars = 0;
        } else if (++lineChars > maxLine) {
          throw fail(`line ${line} is over ${maxLine} characters`);
        }
        if (inComment) {
          if (code === 10) inComment = false;
          start = i + 1;
          continue;
        }
        const blank = code === 32 || (code >= 9 && code <= 13);
        if (code === 35 || blank) {
          const spec = carry + text.slice(start, i);
          carry = "";
          if (spec !== "") {
            if (entries++ >= maxEntries) throw fail(`it holds over ${maxEntries} entries`);
            if (onSpec === undefined) specs.push(spec);
            else {
              try {
                onSpec(spec);
              } catch (error) {
                rejected = { error };
                throw error;
              }
            }
          }
          if (code === 35) inComment = true;
          start = i + 1;
        }
      }
      if (got === null) break;
      if (!inComment) carry += text.slice(start);
    }
  } catch (error) {
    if (rejected !== undefined) throw rejected.error;
    if (
      error instanceof ReadInterrupted ||
      error instanceof Error && error.message.startsWith("Cannot read target file")
    ) {
      throw error;
    }
    throw fail(describe(error));
  } finally {
    try {
      file?.close();
    } catch { /* a read still blocked on it */ }
  }
  return specs;
}
