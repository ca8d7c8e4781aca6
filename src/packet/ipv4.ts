/**
 * IPv4 headers (RFC 791): build one in place, parse one without ever reading
 * past the bytes given.
 *
 * @module
 */

import { type Ipv4Address, readUint16, readUint32, writeUint16, writeUint32 } from "./address.ts";
import { internetChecksum } from "./checksum.ts";

/** Length of an IPv4 header without options. */
export const IPV4_HEADER_LENGTH = 20;

/** Fields of an IPv4 header to write. */
export interface Ipv4Init {
  src: Ipv4Address;
  dst: Ipv4Address;
  /** Protocol of the payload (6 TCP, 17 UDP, 1 ICMP). */
  protocol: number;
  /** Payload length; the total length is this plus the header's. */
  payloadLength: number;
  /** Time to live; 64 when omitted. */
  ttl?: number;
  /** Identification; 0 when omitted. */
  id?: number;
  /** Type of service / DSCP+ECN byte; 0 when omitted. */
  tos?: number;
  /** Set the DF flag. */
  dontFragment?: boolean;
  /** Options, a multiple of 4 bytes, at most 40. */
  options?: Uint8Array;
}

/** A parsed IPv4 header, with where its payload lies in the parsed bytes. */
export interface Ipv4Header {
  version: 4;
  /** Header length in bytes (IHL × 4). */
  headerLength: number;
  tos: number;
  totalLength: number;
  id: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** Fragment offset in 8-byte units. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  src: Ipv4Address;
  dst: Ipv4Address;
  /** Offset of the payload in the parsed array. */
  payloadOffset: number;
  /** End of the payload in the parsed array (short of `totalLength` when truncated). */
  payloadEnd: number;
}

/** Options of {@link parseIpv4Header}. */
export interface ParseIpv4Options {
  /** Where the header starts; 0 when omitted. */
  offset?: number;
  /** End of the data to read; the array's length when omitted. */
  end?: number;
  /**
   * Accept a packet cut short of its total length, as ICMP errors quote it.
   * The header itself must still be whole.
   */
  truncated?: boolean;
  /** Reject a header whose checksum does not verify. */
  verifyChecksum?: boolean;
}

/**
 * Write an IPv4 header (checksum included) at `offset`; returns its length.
 *
 * @throws {RangeError} on bad options or a buffer too short.
 */
export function writeIpv4Header(buffer: Uint8Array, fields: Ipv4Init, offset = 0): number {
  const options = fields.options;
  const optionsLength = options?.length ?? 0;
  if (optionsLength % 4 !== 0 || optionsLength > 40) {
    throw new RangeError(
      `Cannot write IPv4 header: options length ${optionsLength} is not a multiple of 4 up to 40`,
    );
  }
  const headerLength = IPV4_HEADER_LENGTH + optionsLength;
  const totalLength = headerLength + fields.payloadLength;
  if (totalLength > 0xffff || fields.payloadLength < 0) {
    throw new RangeError(
      `Cannot write IPv4 header: payload length ${fields.payloadLength} is out of range`,
    );
  }
  if (offset < 0 || buffer.length - offset < headerLength) {
    throw new RangeError(
      `Cannot write IPv4 header at ${offset}: buffer of ${buffer.length} bytes is too short`,
    );
  }
  buffer[offset] = 0x40 | (headerLength >>> 2);
  buffer[offset + 1] = fields.tos ?? 0;
  writeUint16(buffer, offset + 2, totalLength);
  writeUint16(buffer, offset + 4, fields.id ?? 0);
  writeUint16(buffer, offset + 6, fields.dontFragment ? 0x4000 : 0);
  buffer[offset + 8] = fields.ttl ?? 64;
  buffer[offset + 9] = fields.protocol;
  writeUint16(buffer, offset + 10, 0);
  writeUint32(buffer, offset + 12, fields.src);
  writeUint32(buffer, offset + 16, fields.dst);
  if (options) buffer.set(options, offset + IPV4_HEADER_LENGTH);
  const header = buffer.subarray(offset, offset + headerLength);
  writeUint16(buffer, offset + 10, internetChecksum(header));
  return headerLength;
}

/** An IPv4 packet carrying `payload` (payload length is taken from it). */
export function buildIpv4Packet(
  fields: Omit<Ipv4Init, "payloadLength">,
  payload: Uint8Array,
): Uint8Array {
  const headerLength = IPV4_HEADER_LENGTH + (fields.options?.length ?? 0);
  const packet = new Uint8Array(headerLength + payload.length);
  writeIpv4Header(packet, { ...fields, payloadLength: payload.length });
  packet.set(payload, headerLength);
  return packet;
}

/**
 * Parse the IPv4 header at `options.offset`; undefined when it is not a
 * whole, consistent IPv4 header (wrong version, IHL < 5, lengths that do not
 * fit the data, or a bad checksum when asked to verify it).
 */
export function parseIpv4Header(
  bytes: Uint8Array,
  options: ParseIpv4Options = {},
): Ipv4Header | undefined {
  const offset = options.offset ?? 0;
  const end = Math.min(options.end ?? bytes.length, bytes.length);
  if (offset < 0 || end - offset < IPV4_HEADER_LENGTH) return undefined;
  const first = bytes[offset]!;
  if (first >>> 4 !== 4) return undefined;
  const headerLength = (first & 0x0f) * 4;
  if (headerLength < IPV4_HEADER_LENGTH || end - offset < headerLength) return undefined;
  const totalLength = readUint16(bytes, offset + 2);
  if (totalLength < headerLength) return undefined;
  if (totalLength > end - offset && !options.truncated) return undefined;
  if (
    options.verifyChecksum &&
    internetChecksum(bytes.subarray(offset, offset + headerLength)) !== 0
  ) {
    return undefined;
  }
  const flags = readUint16(bytes, offset + 6);
  return {
    version: 4,
    headerLength,
    tos: bytes[offset + 1]!,
    totalLength,
    id: readUint16(bytes, offset + 4),
    dontFragment: (flags & 0x4000) !== 0,
    moreFragments: (flags & 0x2000) !== 0,
    fragmentOffset: flags & 0x1fff,
    ttl: bytes[offset + 8]!,
    protocol: bytes[offset + 9]!,
    checksum: readUint16(bytes, offset + 10),
    src: readUint32(bytes, offset + 12),
    dst: readUint32(bytes, offset + 16),
    payloadOffset: offset + headerLength,
    payloadEnd: offset + Math.min(totalLength, end - offset),
  };
}
