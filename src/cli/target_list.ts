/**
 * Target lists (`-iL`, `--excludefile`) read for the command line.
 *
 * @module
 */

import { ReadInterrupted, readTargetFile } from "../targets/mod.ts";
import { UsageError } from "./usage_error.ts";

/**
 * {@link readTargetFile} for the command line: its errors as usage errors
 * (exit 2), an interrupted read as exit 130.
 */
export async function readTargetList(
  path: string,
  options: {
    into?: string[];
    onSpec?: (spec: string) => void;
    signal?: AbortSignal | undefined;
  },
): Promise<void> {
  try {
    await readTargetFile(path, {
      ...(options.into === undefined ? {} : { into: options.into }),
      ...(options.onSpec === undefined ? {} : { onSpec: options.onSpec }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    // A spec of the list that does not parse: the parser's own error, for the caller to word.
    if (error instanceof SyntaxError || error instanceof RangeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message, { exitCode: error instanceof ReadInterrupted ? 130 : 2 });
  }
}
