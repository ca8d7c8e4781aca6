/**
 * Output writers: a file, or stdout for the path "-".
 *
 * @module
 */

import { basename, dirname, join, resolve } from "../path.ts";
import type { OutputWriter } from "../plugin/types.ts";

/** An {@link OutputWriter} that must be closed to flush its last text. */
export interface FileWriter extends OutputWriter {
  /** Write what is buffered and close the file, renaming it into place (stdout is flushed, not closed). */
  close(): Promise<void>;
  /** Drop what was written: the target is left as it was. */
  discard?(): Promise<void>;
}

/**
 * Where "-" writes: the command's own stdout (its injected `CliIo` when the
 * command runs in-process), and whether text may carry colour there.
 */
export interface StdoutSink {
  /** Write all of `bytes`. */
  write(bytes: Uint8Array): Promise<void>;
  /** A terminal that takes colour (NO_COLOR unset). */
  color: boolean;
}

/** Options of {@link openFileWriter}. */
export interface FileWriterOptions {
  /** Where "-" goes; the process's stdout when absent. */
  stdout?: StdoutSink | undefined;
}

// Files are written in chunks of about this many bytes.
const CHUNK_BYTES = 64 * 1024;

/** An OS error as its reason alone: "No such file or directory (os error 2): open '/x'" -> "No such file or directory". */
function reasonOf(error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  return raw.replace(/ \(os error \d+\)[\s\S]*$/, "");
}

function openError(path: string, error: unknown): Error {
  if (error instanceof Error && error.message.startsWith("Cannot open output file")) return error;
  // Deno lets only --allow-all write most of /dev and /proc; its advice to use that is not ours.
  const reason = error instanceof Deno.errors.NotCapable
    ? "a device portolan may not write (write to a file, -, /dev/null or /dev/stderr)"
    : reasonOf(error);
  return new Error(`Cannot open output file "${path}": ${reason}`, { cause: error });
}

function writeError(path: string, error: unknown): Error {
  if (error instanceof Error && error.message.startsWith("Cannot ")) return error;
  return new Error(`Cannot write output file "${path}": ${reasonOf(error)}`, { cause: error });
}

/** Where an output goes: stdout, a device or pipe written in place, or a file written whole. */
type Destination =
  | { kind: "stdout" }
  | { kind: "in-place"; path: string }
  | { kind: "file"; path: string; dir: string; base: string };

async function destination(path: string): Promise<Destination> {
  if (path === "-") return { kind: "stdout" };
  let target = path;
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) throw new Error("Is a directory");
    // A terminal, /dev/null, a FIFO: not a file to replace.
    if (!info.isFile) return { kind: "in-place", path };
    // A link to a file: the file is replaced, the link kept.
    target = await Deno.realPath(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw openError(path, error);
  }
  return { kind: "file", path: target, dir: dirname(target), base: basename(target) };
}

function tempName(where: { dir: string; base: string }): string {
  const tag = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);
  return join(where.dir, `.${where.base}.${tag}.part`);
}

/**
 * Fail early when `path` cannot be written, touching nothing: a file is
 * written beside its target and renamed into place, so what is checked is
 * that the directory takes a new file (made and removed at once). "-"
 * (stdout) always passes.
 *
 * @throws {Error} `Cannot open output file "/nonexistent/x.json": No such file or directory`
 */
export async function checkWritable(path: string): Promise<void> {
  const where = await destination(path);
  if (where.kind === "stdout") return;
  if (where.kind === "in-place") {
    try {
      (await Deno.open(where.path, { write: true })).close();
    } catch (error) {
      throw openError(path, error);
    }
    return;
  }
  const probe = tempName(where);
  try {
    (await Deno.open(probe, { write: true, createNew: true })).close();
  } catch (error) {
    throw openError(path, error);
  }
  await Deno.remove(probe).catch(() => {});
}

/** The process's own stdout, coloured as NO_COLOR and a terminal allow. */
function processStdout(): StdoutSink {
  return { write: (bytes) => writeAll(Deno.stdout, bytes), color: wantsColor() };
}

function wantsColor(): boolean {
  let noColor: string | undefined;
  try {
    noColor = Deno.env.get("NO_COLOR");
  } catch {
    // Without env permission, NO_COLOR cannot be honoured; stay plain to be safe.
    return false;
  }
  return Deno.stdout.isTerminal() && (noColor === undefined || noColor === "");
}

async function writeAll(
  target: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await target.write(bytes.subarray(offset));
  }
}

/**
 * Open an output: a file, or for "-" stdout. File text is buffered and
 * written in chunks to a temporary file beside the target (`.NAME.xxxx.part`,
 * made at the first chunk), renamed over the target on close: the target
 * is never seen half written, is untouched until then, and after a crash
 * is the old file or absent. A device or FIFO is written in place. Stdout
 * text is written as soon as the writer pauses (a timer of 0 ms), or when
 * 64 KB are pending: results show as they come, and a report written host
 * by host is not one write call a host.
 *
 * @throws {Error} `Cannot open output file "/nonexistent/x.json": No such file or directory`
 */
export async function openFileWriter(
  path: string,
  options: FileWriterOptions = {},
): Promise<FileWriter> {
  await checkWritable(path);
  const where = await destination(path);
  const stdout = where.kind === "stdout" ? options.stdout ?? processStdout() : undefined;
  const toStdout = stdout !== undefined;
  const part = where.kind === "file" ? tempName(where) : undefined;
  let file: Deno.FsFile | undefined;
  async function sink(): Promise<{ write(p: Uint8Array): Promise<number> }> {
    if (file !== undefined) return file;
    try {
      file = part === undefined
        ? await Deno.open(path, { write: true })
        : await Deno.open(part, { write: true, createNew: true });
    } catch (error) {
      throw openError(path, error);
    }
    return file;
  }
  const encoder = new TextEncoder();
  const limit = CHUNK_BYTES;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let pending: string[] = [];
  let pendingBytes = 0;
  // Writes run one after another, in call order.
  let chain: Promise<void> = Promise.resolve();
  let closed = false;

  function flush(): Promise<void> {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (pending.length === 0) return chain;
    const bytes = encoder.encode(pending.join(""));
    pending = [];
    pendingBytes = 0;
    chain = chain.then(async () => {
      try {
        if (stdout !== undefined) await stdout.write(bytes);
        else await writeAll(await sink(), bytes);
      } catch (error) {
        throw writeError(path, error);
      }
    });
    return chain;
  }

  return {
    color: stdout?.color ?? false,
    write(text: string): Promise<void> {
      if (closed) return Promise.reject(new Error(`Cannot write output file "${path}": closed`));
      if (text === "") return chain;
      pending.push(text);
      // UTF-16 length is a cheap lower bound of the byte length.
      pendingBytes += text.length;
      if (pendingBytes >= limit) return flush();
      // Stdout shows results as they come: what is pending goes out once the writer pauses.
      if (toStdout && timer === undefined) {
        timer = setTimeout(() => void flush().catch(() => {}), 0);
      }
      return chain;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        await flush();
        if (part !== undefined) await sink();
      } catch (error) {
        file?.close();
        file = undefined;
        if (part !== undefined) await Deno.remove(part).catch(() => {});
        throw error;
      }
      file?.close();
      if (part === undefined || where.kind !== "file") return;
      try {
        await Deno.rename(part, where.path);
      } catch (error) {
        await Deno.remove(part).catch(() => {});
        throw writeError(path, error);
      }
    },
    async discard(): Promise<void> {
      closed = true;
      pending = [];
      await chain.catch(() => {});
      file?.close();
      file = undefined;
      if (part !== undefined) await Deno.remove(part).catch(() => {});
    },
  };
}

async function identity(path: string): Promise<string> {
  if (path === "-" || path === "/dev/stdout") return "-";
  try {
    return await Deno.realPath(path);
  } catch {
    // Not there yet: its directory may be reached by another name.
    try {
      return join(await Deno.realPath(dirname(resolve(path))), basename(path));
    } catch {
      return resolve(path);
    }
  }
}

/**
 * Refuse outputs that would overwrite each other or the history database:
 * two outputs to one file (by any name), two to stdout, or one to the
 * database's file.
 *
 * @throws {RangeError} `Cannot write outputs "json" and "xml" both to "x"` or
 * `Cannot write output "json" to "h.db": it is the history database`
 */
export async function checkOutputPaths(
  outputs: readonly { format: string; path: string }[],
  options: { db?: string | (() => string) } = {},
): Promise<void> {
  if (outputs.length === 0) return;
  const seen = new Map<string, string>();
  let dbPath: string | undefined;
  try {
    dbPath = typeof options.db === "function" ? options.db() : options.db;
  } catch {
    // No database path to be had (no HOME, say): the run says so itself later.
  }
  const db = dbPath === undefined ? undefined : await identity(dbPath);
  for (const { format, path } of outputs) {
    const id = await identity(path);
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      throw new RangeError(
        id === "-"
          ? `Cannot write outputs "${earlier}" and "${format}" both to stdout`
          : `Cannot write outputs "${earlier}" and "${format}" both to "${path}"`,
      );
    }
    if (id === db) {
      throw new RangeError(
        `Cannot write output "${format}" to "${path}": it is the history database`,
      );
    }
    seen.set(id, format);
  }
}
