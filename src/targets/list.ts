/**
 * Fast listing of a target set (-sL): one address a line, streamed in
 * fixed-size chunks so that a /8 costs neither time nor memory.
 *
 * @module
 */

import { formatIpv6 } from "./ip.ts";
import { RangeTargetSet } from "./target_set.ts";
import type { TargetSet } from "./types.ts";

/** Options of {@link listTargets}. */
export interface ListTargetsOptions {
  /** Bytes per chunk handed to `write`. Default 64 KiB. */
  chunkSize?: number;
  /** Append ` hostname` to lines of hosts that came from a name. Default false. */
  hostnames?: boolean;
  /** Stop early (between chunks) when aborted. */
  signal?: AbortSignal;
}

const NEWLINE = 10;
const DOT = 46;
const SPACE = 32;
/** Longest line body we write without a bounds check: an IPv6 address is at most 45 bytes. */
const SLACK = 64;

/** Decimal bytes of 0..255: `DIGITS[3 * n + k]`, `DIGIT_COUNT[n]` of them. */
const DIGITS = new Uint8Array(256 * 3);
const DIGIT_COUNT = new Uint8Array(256);
for (let n = 0; n < 256; n++) {
  const text = String(n);
  DIGIT_COUNT[n] = text.length;
  for (let k = 0; k < text.length; k++) DIGITS[3 * n + k] = text.charCodeAt(k);
}

/** Writes whole chunks through a reused buffer. */
class ChunkWriter {
  readonly buffer: Uint8Array;
  readonly limit: number;
  position = 0;
  readonly #write: (chunk: Uint8Array) => Promise<void> | void;
  readonly #encoder = new TextEncoder();

  constructor(size: number, write: (chunk: Uint8Array) => Promise<void> | void) {
    this.buffer = new Uint8Array(size + SLACK);
    this.limit = size;
    this.#write = write;
  }

  async flush(): Promise<void> {
    if (this.position === 0) return;
    const pending = this.#write(this.buffer.subarray(0, this.position));
    if (pending) await pending;
    this.position = 0;
  }

  /** Append an address; it fits in the slack because callers flush at `limit`. */
  address(text: string): void {
    this.position += this.#encoder.encodeInto(text, this.buffer.subarray(this.position)).written;
  }

  /** Append text of any length (hostnames), flushing as needed. */
  async text(text: string): Promise<void> {
    let rest = this.#encoder.encode(text);
    while (rest.length > 0) {
      const take = Math.min(this.buffer.length - this.position, rest.length);
      this.buffer.set(rest.subarray(0, take), this.position);
      this.position += take;
      rest = rest.subarray(take);
      if (this.position >= this.limit) await this.flush();
    }
  }
}

/**
 * Write every address of `set`, one a line, to `write` in chunks of about
 * `chunkSize` bytes. The chunk's buffer is reused once `write` returns (or its
 * promise settles), so a writer that keeps data must copy it. Resolves to the
 * number of lines written.
 */
export async function listTargets(
  set: TargetSet,
  write: (chunk: Uint8Array) => Promise<void> | void,
  options: ListTargetsOptions = {},
): Promise<number> {
  const out = new ChunkWriter(Math.max(256, options.chunkSize ?? 65536), write);
  const signal = options.signal;
  let lines = 0;
  if (!(set instanceof RangeTargetSet)) {
    for (const host of set.hosts()) {
      out.address(host.address);
      if (options.hostnames && host.hostname !== undefined) await out.text(" " + host.hostname);
      out.buffer[out.position++] = NEWLINE;
      lines++;
      if (out.position >= out.limit) {
        await out.flush();
        signal?.throwIfAborted();
      }
    }
    await out.flush();
    return lines;
  }

  const named = options.hostnames === true && set.hasHostnames;
  const buffer = out.buffer;
  const prefix = new Uint8Array(12);
  const { starts, ends } = set.ipv4;
  for (let i = 0; i < starts.length; i++) {
    const end = ends[i]!;
    let prefixLength = 0;
    for (let n = starts[i]!; n <= end; n++) {
      const last = n & 255;
      if (last === 0 || prefixLength === 0) {
        // The first three octets change once per 256 addresses: build "a.b.c." once.
        prefixLength = 0;
        for (let shift = 24; shift >= 8; shift -= 8) {
          const octet = (n >>> shift) & 255;
          const count = DIGIT_COUNT[octet]!;
          for (let k = 0; k < count; k++) prefix[prefixLength++] = DIGITS[3 * octet + k]!;
          prefix[prefixLength++] = DOT;
        }
      }
      let position = out.position;
      for (let k = 0; k < prefixLength; k++) buffer[position++] = prefix[k]!;
      const count = DIGIT_COUNT[last]!;
      for (let k = 0; k < count; k++) buffer[position++] = DIGITS[3 * last + k]!;
      out.position = position;
      if (named) {
        const name = set.hostnameOf(4, BigInt(n));
        if (name !== undefined) {
          buffer[out.position++] = SPACE;
          await out.text(name);
        }
      }
      buffer[out.position++] = NEWLINE;
      lines++;
      if (out.position >= out.limit) {
        await out.flush();
        signal?.throwIfAborted();
      }
    }
  }
  for (const range of set.ipv6) {
    for (let value = range.start; value <= range.end; value++) {
      out.address(formatIpv6(value));
      if (named) {
        const name = set.hostnameOf(6, value);
        if (name !== undefined) await out.text(" " + name);
      }
      out.buffer[out.position++] = NEWLINE;
      lines++;
      if (out.position >= out.limit) {
        await out.flush();
        signal?.throwIfAborted();
      }
    }
  }
  await out.flush();
  return lines;
}
