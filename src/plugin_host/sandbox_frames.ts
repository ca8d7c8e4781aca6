/**
 * Messages between the scanner and its sandbox process: each one a 4-byte
 * big-endian length and the structured-clone bytes of the message (the
 * serialisation postMessage uses, so the same messages cross as to a Worker).
 * The reader caps a frame's size and reads one frame at a time, so a
 * sandbox that floods is held back by the socket instead of filling memory.
 *
 * @module
 */

/** Largest frame either side accepts, bytes. */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

type V8 = typeof import("node:v8");
let v8: V8 | undefined;

/**
 * Load the structured-clone codec. Not a static import: `node:v8` starts
 * Deno's Node layer (~6 MB), which a scan without a sandbox never needs.
 */
export async function loadFrameCodec(): Promise<void> {
  v8 ??= await import("node:v8");
}

function codec(): V8 {
  if (v8 === undefined) throw new Error("loadFrameCodec() was not awaited");
  return v8;
}

/**
 * The frame bytes of `message`, once {@link loadFrameCodec} is done.
 * @throws {Error} when it cannot be cloned (a function inside, say).
 */
export function encodeFrame(message: unknown): Uint8Array {
  const body = codec().serialize(message);
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
  await loadFrameCodec();
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
      message = codec().deserialize(body);
    } catch {
      // Whatever deserialize's plain Error says, it is these bytes that are bad.
      throw new RangeError("a message that does not decode");
    }
    yield message;
  }
}
