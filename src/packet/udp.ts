/**
 * UDP datagrams (RFC 768; RFC 8200 §8.1 for IPv6): build with checksum,
 * parse with bounds checks.
 *
 * @module
 */

import { type IpAddress, readUint16, writeUint16 } from "./address.ts";
import { transportChecksum } from "./checksum.ts";
import { ipHeaderLength, writeIpHeader } from "./ip.ts";
import { IpProtocol } from "./protocols.ts";

/** Length of a UDP header. */
export const UDP_HEADER_LENGTH = 8;

/** Fields of a UDP datagram, with the addresses its checksum covers. */
export interface UdpInit {
  /** Source address; a number for IPv4, 16 bytes for IPv6. */
  src: IpAddress;
  /** Destination address, of the same family. */
  dst: IpAddress;
  srcPort: number;
  dstPort: number;
  /** Data after the header; empty when omitted. */
  payload?: Uint8Array;
  /**
   * Send a zero checksum ("none"), which only IPv4 allows; the checksum is
   * computed when omitted or false.
   */
  noChecksum?: boolean;
}

/** Fields of a whole IP packet carrying a UDP datagram. */
export interface UdpPacketInit extends UdpInit {
  /** TTL or hop limit; 64 when omitted. */
  ttl?: number;
  /** IPv4 identification; 0 when omitted. */
  id?: number;
}

/** A parsed UDP header. */
export interface UdpHeader {
  srcPort: number;
  dstPort: number;
  /** Length field: header plus data. */
  length: number;
  checksum: number;
  /** Offset of the data in the parsed array. */
  payloadOffset: number;
  /** End of the data in the parsed array. */
  payloadEnd: number;
}

/** Options of {@link parseUdpHeader}. */
export interface ParseUdpOptions {
  /** Where the header starts; 0 when omitted. */
  offset?: number;
  /** End of the datagram; the array's length when omitted. */
  end?: number;
  /** Accept a datagram shorter than its length field, as ICMP errors quote it. */
  truncated?: boolean;
}

function udpLength(fields: UdpInit): number {
  const length = UDP_HEADER_LENGTH + (fields.payload?.length ?? 0);
  if (length > 0xffff) {
    throw new RangeError(`Cannot write UDP datagram: length ${length} is > 65535`);
  }
  return length;
}

/**
 * Write a UDP datagram at `offset`; returns its length. A computed checksum
 * of 0 is sent as 0xffff, since 0 means "no checksum".
 *
 * @throws {RangeError} when a zero checksum is asked for over IPv6, or the buffer is short.
 */
export function writeUdpDatagram(buffer: Uint8Array, fields: UdpInit, offset = 0): number {
  const length = udpLength(fields);
  if (offset < 0 || buffer.length - offset < length) {
    throw new RangeError(
      `Cannot write UDP datagram at ${offset}: buffer of ${buffer.length} bytes is too short`,
    );
  }
  writeUint16(buffer, offset, fields.srcPort);
  writeUint16(buffer, offset + 2, fields.dstPort);
  writeUint16(buffer, offset + 4, length);
  writeUint16(buffer, offset + 6, 0);
  if (fields.payload) buffer.set(fields.payload, offset + UDP_HEADER_LENGTH);
  if (fields.noChecksum) {
    if (typeof fields.src !== "number") {
      throw new RangeError("Cannot write UDP datagram: IPv6 requires a checksum");
    }
    return length;
  }
  const checksum = transportChecksum(buffer.subarray(offset, offset + length), {
    src: fields.src,
    dst: fields.dst,
    protocol: IpProtocol.Udp,
  });
  writeUint16(buffer, offset + 6, checksum === 0 ? 0xffff : checksum);
  return length;
}

/** A UDP datagram alone (for an AF_INET6 raw socket, where the kernel adds the IP header). */
export function buildUdpDatagram(fields: UdpInit): Uint8Array {
  const datagram = new Uint8Array(udpLength(fields));
  writeUdpDatagram(datagram, fields);
  return datagram;
}

/** Write an IPv4 or IPv6 packet carrying a UDP datagram at `offset`; returns its length. */
export function writeUdpPacket(buffer: Uint8Array, fields: UdpPacketInit, offset = 0): number {
  const ipLength = writeIpHeader(buffer, {
    src: fields.src,
    dst: fields.dst,
    protocol: IpProtocol.Udp,
    payloadLength: udpLength(fields),
    ttl: fields.ttl ?? 64,
    id: fields.id ?? 0,
  }, offset);
  return ipLength + writeUdpDatagram(buffer, fields, offset + ipLength);
}

/** An IPv4 or IPv6 packet carrying a UDP datagram. */
export function buildUdpPacket(fields: UdpPacketInit): Uint8Array {
  const packet = new Uint8Array(ipHeaderLength(fields.src) + udpLength(fields));
  writeUdpPacket(packet, fields);
  return packet;
}

/**
 * Parse the UDP header at `options.offset`; undefined when the header does
 * not fit, or its length field is below 8 or (unless truncated) past `end`.
 */
export function parseUdpHeader(
  bytes: Uint8Array,
  options: ParseUdpOptions = {},
): UdpHeader | undefined {
  const offset = options.offset ?? 0;
  const end = Math.min(options.end ?? bytes.length, bytes.length);
  if (offset < 0 || end - offset < UDP_HEADER_LENGTH) return undefined;
  const length = readUint16(bytes, offset + 4);
  if (length < UDP_HEADER_LENGTH) return undefined;
  if (length > end - offset && !options.truncated) return undefined;
  return {
    srcPort: readUint16(bytes, offset),
    dstPort: readUint16(bytes, offset + 2),
    length,
    checksum: readUint16(bytes, offset + 6),
    payloadOffset: offset + UDP_HEADER_LENGTH,
    payloadEnd: offset + Math.min(length, end - offset),
  };
}
