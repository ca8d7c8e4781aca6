/**
 * Messages between the scanner and its sandbox process: each one a 4-byte
 * big-endian length and the structured-clone bytes of the message (the
 * serialisation postMessage uses, so the same messages cross as to a Worker).
 * The reader caps a frame's size and reads one frame at a time, so a
 * sandbox that floods is held back by the socket instead of filling memory.
 *
 * @module
 */

// node:v8 starts Deno's Node layer (~6 MB): fine here, as this module loads only with the
// sandbox (run.ts imports it for a run with --plugin; the house test holds a scan's graph to it).
import { deserialize, serialize } from "node:v8";

/** Largest frame either side accepts, bytes. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** The frame bytes of `message`. @throws {Error} when it cannot be cloned (a function inside, say). */
export function encodeFrame(message: unknown): Uint8Array {
  const body = serialize(message);
  if (body.length > MAX_FRAME_BYTES) {
    throw new RangeError(`Message of ${body.length} bytes is over ${MAX_FRAME_BYTES}`);
  }
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

/** Write all of `bytes`. */
export async function writeAll(
  conn: { write(bytes: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  for (let offset = 0; offset < bytes.length;) {
    offset += await conn.write(bytes.subarray(offset));
  }
}

async function readExactly(
  conn: { read(into: Uint8Array): Promise<number | null> },
  bytes: Uint8Array,
): Promise<boolean> {
  for (let offset = 0; offset < bytes.length;) {
    const got = await conn.read(bytes.subarray(offset));
    if (got === null) return false;
    offset += got;
  }
  return true;
}

/**
 * The messages on `conn`, in order, until it ends.
 *
 * @throws {RangeError} on a frame over {@link MAX_FRAME_BYTES}, a frame
 * cut short, or bytes that do not decode.
 */
export async function* readFrames(
  conn: { read(into: Uint8Array): Promise<number | null> },
): AsyncGenerator<unknown> {
  const head = new Uint8Array(4);
  for (;;) {
    if (!await readExactly(conn, head)) return;
    const length = new DataView(head.buffer).getUint32(0);
    if (length > MAX_FRAME_BYTES) {
      throw new RangeError(`a message of ${length} bytes (over ${MAX_FRAME_BYTES})`);
    }
    const body = new Uint8Array(length);
    if (!await readExactly(conn, body)) throw new RangeError("a message cut short");
    let message: unknown;
    try {
      message = deserialize(body);
    } catch {
      // Whatever deserialize's plain Error says, it is these bytes that are bad.
      throw new RangeError("a message that does not decode");
    }
    yield message;
  }
}
