/**
 * The libc calls of the raw-socket engine, through Deno's FFI: raw and
 * packet sockets, batched `sendmmsg` / `recvmmsg`, socket options. Opened
 * only when the process holds the `ffi` permission.
 *
 * Anything whose address the kernel keeps or reads later (message headers,
 * iovecs, addresses, packet buffers) lives in an explicitly allocated
 * `ArrayBuffer`: small typed arrays may sit on the V8 heap and move.
 *
 * @module
 */

import { dlopenLibc } from "../libc.ts";

const SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** The opened library's functions. */
export type RawLibcSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Linux constants (x86_64 and aarch64 agree on these). */
export const RawConst = {
  AF_INET: 2,
  AF_INET6: 10,
  AF_PACKET: 17,
  SOCK_DGRAM: 2,
  SOCK_RAW: 3,
  SOCK_CLOEXEC: 0o2000000,
  IPPROTO_ICMP: 1,
  IPPROTO_TCP: 6,
  IPPROTO_UDP: 17,
  IPPROTO_ICMPV6: 58,
  IPPROTO_RAW: 255,
  SOL_SOCKET: 1,
  SOL_PACKET: 263,
  SO_SNDBUF: 7,
  SO_RCVBUF: 8,
  SO_RCVTIMEO: 20,
  SO_ATTACH_FILTER: 26,
  SO_SNDBUFFORCE: 32,
  SO_RCVBUFFORCE: 33,
  PACKET_STATISTICS: 6,
  PACKET_IGNORE_OUTGOING: 23,
  ETH_P_ALL: 0x0003,
  MSG_WAITFORONE: 0x10000,
  MSG_DONTWAIT: 0x40,
} as const;

/** errno values the raw engine acts on. */
export const RawErrno = {
  EPERM: 1,
  EINTR: 4,
  EAGAIN: 11,
  EACCES: 13,
  EINVAL: 22,
  ENETUNREACH: 101,
  ENOBUFS: 105,
  EHOSTUNREACH: 113,
} as const;

/** Bytes of `struct mmsghdr` (a 56-byte msghdr, the length, padding). */
export const MMSGHDR_SIZE = 64;

/** A bound libc with an errno reader. */
export interface RawLibc {
  readonly symbols: RawLibcSymbols;
  /** errno of the last failed call on this thread. */
  errno(): number;
  close(): void;
}

/** Open libc for the raw engine, or undefined where FFI is not allowed or fails. */
export function openRawLibc(): RawLibc | undefined {
  return dlopenLibc(SYMBOLS);
}

/** A byte array on its own off-heap `ArrayBuffer`, and its address. */
export interface Arena {
  bytes: Uint8Array;
  view: DataView;
  address: bigint;
}

/** Allocate `size` bytes whose address is fixed for the arena's lifetime. */
export function allocateArena(size: number): Arena {
  const bytes = new Uint8Array(new ArrayBuffer(size));
  const pointer = Deno.UnsafePointer.of(bytes);
  if (pointer === null) throw new RangeError(`Cannot allocate arena of ${size} bytes`);
  return {
    bytes,
    view: new DataView(bytes.buffer),
    address: BigInt(Deno.UnsafePointer.value(pointer)),
  };
}

/** Set an integer socket option; returns 0 or the errno. */
export function setIntOption(
  libc: RawLibc,
  fd: number,
  level: number,
  name: number,
  value: number,
): number {
  const buffer = new Uint8Array(new ArrayBuffer(4));
  new DataView(buffer.buffer).setInt32(0, value, true);
  return libc.symbols.setsockopt(fd, level, name, buffer, 4) === 0 ? 0 : libc.errno();
}

/** Host-order to network-order for 16 bits. */
export function htons(value: number): number {
  return ((value & 0xff) << 8) | ((value >>> 8) & 0xff);
}
