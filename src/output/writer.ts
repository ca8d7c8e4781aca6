/**
 * Output writers: a file, or stdout for the path "-".
 *
 * @module
 */

import type { OutputWriter } from "../plugins/types.ts";

/** An {@link OutputWriter} that must be closed to flush its last text. */
export interface FileWriter extends OutputWriter {
  /** Write what is buffered and close the file (stdout is flushed, not closed). */
  close(): Promise<void>;
}

// Files are written in chunks of about this many bytes.
const CHUNK_BYTES = 64 * 1024;

function openError(path: string, error: unknown): Error {
  const raw = error instanceof Error ? error.message : String(error);
  // "No such file or directory (os error 2): open '/x'" -> "No such file or directory"
  const reason = raw.replace(/ \(os error \d+\)[\s\S]*$/, "");
  return new Error(`Cannot open output file "${path}": ${reason}`, { cause: error });
}

/**
 * Fail early when `path` cannot be written: creates the file if missing,
 * leaves an existing one as it is. "-" (stdout) always passes.
 *
 * @throws {Error} `Cannot open output file "/nonexistent/x.json": No such file or directory`
 */
export async function checkWritable(path: string): Promise<void> {
  if (path === "-") return;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, create: true });
  } catch (error) {
    throw openError(path, error);
  }
  file.close();
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
 * Open an output: a file (created or truncated) or, for "-", stdout. File
 * text is buffered and written in chunks; stdout text is written at once so
 * that results show as they come.
 *
 * @throws {Error} `Cannot open output file "/nonexistent/x.json": No such file or directory`
 */
export async function openFileWriter(path: string): Promise<FileWriter> {
  const toStdout = path === "-";
  let file: Deno.FsFile | undefined;
  if (!toStdout) {
    try {
      file = await Deno.open(path, { write: true, create: true, truncate: true });
    } catch (error) {
      throw openError(path, error);
    }
  }
  const sink = file ?? Deno.stdout;
  const encoder = new TextEncoder();
  const limit = toStdout ? 0 : CHUNK_BYTES;
  let pending: string[] = [];
  let pendingBytes = 0;
  // Writes run one after another, in call order.
  let chain: Promise<void> = Promise.resolve();
  let closed = false;

  function flush(): Promise<void> {
    if (pending.length === 0) return chain;
    const bytes = encoder.encode(pending.join(""));
    pending = [];
    pendingBytes = 0;
    chain = chain.then(() => writeAll(sink, bytes));
    return chain;
  }

  return {
    color: toStdout ? wantsColor() : false,
    write(text: string): Promise<void> {
      if (closed) return Promise.reject(new Error(`Cannot write output file "${path}": closed`));
      if (text === "") return chain;
      pending.push(text);
      // UTF-16 length is a cheap lower bound of the byte length.
      pendingBytes += text.length;
      return pendingBytes >= limit ? flush() : chain;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      try {
        await flush();
      } finally {
        file?.close();
      }
    },
  };
}
