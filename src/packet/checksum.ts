/**
 * The Internet checksum (RFC 1071): the one's complement of the one's
 * complement sum of 16-bit big-endian words, with the pseudo-headers TCP, UDP
 * and ICMPv6 fold in (RFC 793, RFC 768, RFC 8200 §8.1).
 *
 * Sums are kept "partial" (folded to 16 bits, not complemented) so that a
 * pseudo-header, a header and a payload can be summed separately and added.
 *
 * @module
 */

import type { IpAddress } from "./address.ts";

/** Fold a one's complement sum of any size to 16 bits. */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * The partial (folded, not complemented) sum of `bytes` as 16-bit big-endian
 * words, added to `initial`. An odd trailing byte is padded with a zero, so
 * when a message is summed in pieces, every piece but the last must have an
 * even length.
 */
export function sumWords(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  const even = bytes.length & ~1;
  let i = 0;
  while (i < even) {
    // Folding every 16 Ki words keeps the running sum well inside 2^53.
    const stop = Math.min(even, i + 0x8000);
    for (; i < stop; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
    sum = foldSum(sum);
  }
  if (even !== bytes.length) sum += bytes[even]! << 8;
  return foldSum(sum);
}

/** Turn a partial sum into the value stored in a checksum field. */
export function finishChecksum(sum: number): number {
  return ~foldSum(sum) & 0xffff;
}

/**
 * The Internet checksum of `bytes`, starting from the partial sum `initial`.
 * Over a message whose checksum field is already filled, it is 0.
 */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  return finishChecksum(sumWords(bytes, initial));
}

/** Fields of a TCP/UDP/ICMPv6 pseudo-header. */
export interface PseudoHeader {
  /** Source address; a number for IPv4, 16 bytes for IPv6. */
  src: IpAddress;
  /** Destination address, of the same family as `src`. */
  dst: IpAddress;
  /** IP protocol / IPv6 upper-layer next header. */
  protocol: number;
  /** Upper-layer length in bytes (header plus data). */
  length: number;
}

/**
 * The partial sum of the IPv4 (RFC 793) or IPv6 (RFC 8200 §8.1) pseudo-header.
 *
 * @throws {RangeError} when the addresses are not of one family.
 */
export function pseudoHeaderSum(header: PseudoHeader): number {
  const { src, dst, protocol, length } = header;
  if (typeof src === "number" && typeof dst === "number") {
    return foldSum(
      (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + (protocol & 0xff) +
        (length & 0xffff),
    );
  }
  if (typeof src !== "number" && typeof dst !== "number") {
    if (src.length !== 16 || dst.length !== 16) {
      throw new RangeError(
        `Cannot sum IPv6 pseudo-header: address lengths ${src.length}/${dst.length} are not 16`,
      );
    }
    // The 32-bit upper-layer length and the next header, zero-padded to 32 bits.
    const tail = Math.floor(length / 0x10000) + (length & 0xffff) + (protocol & 0xff);
    return sumWords(dst, sumWords(src, tail));
  }
  throw new RangeError("Cannot sum pseudo-header: source and destination families differ");
}

/**
 * The checksum of a TCP segment, UDP datagram or ICMPv6 message, with the
 * pseudo-header for `src`, `dst` and `protocol` and the segment's own length.
 * Zero the checksum field first, or expect 0 back when it is filled and right.
 */
export function transportChecksum(
  segment: Uint8Array,
  header: Omit<PseudoHeader, "length">,
): number {
  const initial = pseudoHeaderSum({ ...header, length: segment.length });
  return internetChecksum(segment, initial);
}

/**
 * Incrementally update a checksum after one 16-bit word changed from `from` to
 * `to` (RFC 1624, eqn. 3), so a probe template can be re-aimed without
 * summing it again.
 */
export function updateChecksum(checksum: number, change: { from: number; to: number }): number {
  const sum = (~checksum & 0xffff) + (~change.from & 0xffff) + (change.to & 0xffff);
  return ~foldSum(sum) & 0xffff;
}

/** Like {@link updateChecksum}, for a 32-bit field (a sequence number or IPv4 address). */
export function updateChecksum32(checksum: number, change: { from: number; to: number }): number {
  const sum = (~checksum & 0xffff) + (~(change.from >>> 16) & 0xffff) +
    (~change.from & 0xffff) + (change.to >>> 16) + (change.to & 0xffff);
  return ~foldSum(sum) & 0xffff;
}
