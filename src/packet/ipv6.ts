/**
 * IPv6 headers (RFC 8200): build a fixed header, parse one and walk its
 * extension headers to the upper-layer protocol, never reading past the
 * bytes given.
 *
 * @module
 */

import { type Ipv6Address, readUint16, readUint32, writeUint16 } from "./address.ts";
import { IpProtocol } from "./protocols.ts";

/** Length of the fixed IPv6 header. */
export const IPV6_HEADER_LENGTH = 40;

/** Extension headers followed at most, so a crafted chain cannot loop long. */
const MAX_EXTENSION_HEADERS = 8;

/** Fields of an IPv6 header to write. */
export interface Ipv6Init {
  src: Ipv6Address;
  dst: Ipv6Address;
  /** Next header (6 TCP, 17 UDP, 58 ICMPv6). */
  nextHeader: number;
  /** Length of everything after the fixed header. */
  payloadLength: number;
  /** Hop limit; 64 when omitted. */
  hopLimit?: number;
  /** Traffic class; 0 when omitted. */
  trafficClass?: number;
  /** Flow label (20 bits); 0 when omitted. */
  flowLabel?: number;
}

/** A parsed IPv6 header, with the upper-layer protocol found after extensions. */
export interface Ipv6Header {
  version: 6;
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  /** Next header of the fixed header. */
  nextHeader: number;
  hopLimit: number;
  src: Ipv6Address;
  dst: Ipv6Address;
  /**
   * Upper-layer protocol after the extension headers; `IpProtocol.Fragment`
   * for a non-first fragment, whose upper-layer header is elsewhere.
   */
  protocol: number;
  /** Offset of the upper-layer header in the parsed array. */
  payloadOffset: number;
  /** End of the payload in the parsed array (short of the stated length when truncated). */
  payloadEnd: number;
}

/** Options of {@link parseIpv6Header}. */
export interface ParseIpv6Options {
  /** Where the header starts; 0 when omitted. */
  offset?: number;
  /** End of the data to read; the array's length when omitted. */
  end?: number;
  /** Accept a packet cut short of its payload length, as ICMPv6 errors quote it. */
  truncated?: boolean;
}

/**
 * Write a fixed IPv6 header at `offset`; returns its length (40).
 *
 * @throws {RangeError} on bad addresses or lengths, or a buffer too short.
 */
export function writeIpv6Header(buffer: Uint8Array, fields: Ipv6Init, offset = 0): number {
  if (fields.src.length !== 16 || fields.dst.length !== 16) {
    throw new RangeError(
      `Cannot write IPv6 header: address lengths ${fields.src.length}/${fields.dst.length} are not 16`,
    );
  }
  if (fields.payloadLength < 0 || fields.payloadLength > 0xffff) {
    throw new RangeError(
      `Cannot write IPv6 header: payload length ${fields.payloadLength} is out of range`,
    );
  }
  if (offset < 0 || buffer.length - offset < IPV6_HEADER_LENGTH) {
    throw new RangeError(
      `Cannot write IPv6 header at ${offset}: buffer of ${buffer.length} bytes is too short`,
    );
  }
  const trafficClass = fields.trafficClass ?? 0;
  const flowLabel = fields.flowLabel ?? 0;
  buffer[offset] = 0x60 | ((trafficClass >>> 4) & 0x0f);
  buffer[offset + 1] = ((trafficClass & 0x0f) << 4) | ((flowLabel >>> 16) & 0x0f);
  writeUint16(buffer, offset + 2, flowLabel & 0xffff);
  writeUint16(buffer, offset + 4, fields.payloadLength);
  buffer[offset + 6] = fields.nextHeader;
  buffer[offset + 7] = fields.hopLimit ?? 64;
  buffer.set(fields.src, offset + 8);
  buffer.set(fields.dst, offset + 24);
  return IPV6_HEADER_LENGTH;
}

/** An IPv6 packet carrying `payload` (payload length is taken from it). */
export function buildIpv6Packet(
  fields: Omit<Ipv6Init, "payloadLength">,
  payload: Uint8Array,
): Uint8Array {
  const packet = new Uint8Array(IPV6_HEADER_LENGTH + payload.length);
  writeIpv6Header(packet, { ...fields, payloadLength: payload.length });
  packet.set(payload, IPV6_HEADER_LENGTH);
  return packet;
}

/**
 * Parse the IPv6 header at `options.offset` and follow hop-by-hop, routing,
 * fragment, destination-options and AH headers; undefined when the header
 * is not version 6, a length does not fit, or the chain is too long.
 */
export function parseIpv6Header(
  bytes: Uint8Array,
  options: ParseIpv6Options = {},
): Ipv6Header | undefined {
  const offset = options.offset ?? 0;
  const end = Math.min(options.end ?? bytes.length, bytes.length);
  if (offset < 0 || end - offset < IPV6_HEADER_LENGTH) return undefined;
  const word = readUint32(bytes, offset);
  if (word >>> 28 !== 6) return undefined;
  const payloadLength = readUint16(bytes, offset + 4);
  const available = end - offset - IPV6_HEADER_LENGTH;
  if (payloadLength > available && !options.truncated) return undefined;
  const payloadEnd = offset + IPV6_HEADER_LENGTH + Math.min(payloadLength, available);
  const nextHeader = bytes[offset + 6]!;
  let protocol = nextHeader;
  let at = offset + IPV6_HEADER_LENGTH;
  for (let count = 0;; count++) {
    let length: number;
    if (
      protocol === IpProtocol.HopByHop || protocol === IpProtocol.Routing ||
      protocol === IpProtocol.DestinationOptions
    ) {
      if (payloadEnd - at < 8) return undefined;
      length = (bytes[at + 1]! + 1) * 8;
    } else if (protocol === IpProtocol.Fragment) {
      if (payloadEnd - at < 8) return undefined;
      length = 8;
      // A later fragment has no upper-layer header to read.
      if ((readUint16(bytes, at + 2) & 0xfff8) !== 0) break;
    } else if (protocol === IpProtocol.Ah) {
      if (payloadEnd - at < 8) return undefined;
      length = (bytes[at + 1]! + 2) * 4;
    } else {
      break;
    }
    if (count >= MAX_EXTENSION_HEADERS || payloadEnd - at < length) return undefined;
    protocol = bytes[at]!;
    at += length;
  }
  return {
    version: 6,
    trafficClass: (word >>> 20) & 0xff,
    flowLabel: word & 0xfffff,
    payloadLength,
    nextHeader,
    hopLimit: bytes[offset + 7]!,
    src: bytes.slice(offset + 8, offset + 24),
    dst: bytes.slice(offset + 24, offset + 40),
    protocol,
    payloadOffset: at,
    payloadEnd,
  };
}
