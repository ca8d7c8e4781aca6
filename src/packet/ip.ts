/**
 * Family-neutral IP header writing: the address type picks IPv4 or IPv6.
 *
 * @module
 */

import type { IpAddress } from "./address.ts";
import { IPV4_HEADER_LENGTH, writeIpv4Header } from "./ipv4.ts";
import { IPV6_HEADER_LENGTH, writeIpv6Header } from "./ipv6.ts";

/** Fields of an IP header of either family. */
export interface IpInit {
  /** Source address; a number for IPv4, 16 bytes for IPv6. */
  src: IpAddress;
  /** Destination address, of the same family as `src`. */
  dst: IpAddress;
  /** Protocol / next header of the payload. */
  protocol: number;
  /** Payload length in bytes. */
  payloadLength: number;
  /** TTL or hop limit; 64 when omitted. */
  ttl?: number;
  /** IPv4 identification; 0 when omitted (ignored for IPv6). */
  id?: number;
}

/** The length of the header {@link writeIpHeader} writes for `address`'s family. */
export function ipHeaderLength(address: IpAddress): number {
  return typeof address === "number" ? IPV4_HEADER_LENGTH : IPV6_HEADER_LENGTH;
}

/**
 * Write an IPv4 or IPv6 header at `offset`, chosen by the address type;
 * returns its length.
 *
 * @throws {RangeError} when the families differ, or as the family's writer does.
 */
export function writeIpHeader(buffer: Uint8Array, fields: IpInit, offset = 0): number {
  const { src, dst } = fields;
  if (typeof src === "number" && typeof dst === "number") {
    return writeIpv4Header(buffer, {
      src,
      dst,
      protocol: fields.protocol,
      payloadLength: fields.payloadLength,
      ttl: fields.ttl ?? 64,
      id: fields.id ?? 0,
    }, offset);
  }
  if (typeof src !== "number" && typeof dst !== "number") {
    return writeIpv6Header(buffer, {
      src,
      dst,
      nextHeader: fields.protocol,
      payloadLength: fields.payloadLength,
      hopLimit: fields.ttl ?? 64,
    }, offset);
  }
  throw new RangeError("Cannot write IP header: source and destination families differ");
}
