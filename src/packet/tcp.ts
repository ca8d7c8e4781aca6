/**
 * TCP segments (RFC 9293) for probing: SYN, ACK and RST builders and a
 * bounds-checked header parser.
 *
 * @module
 */

import { type IpAddress, readUint16, readUint32, writeUint16, writeUint32 } from "./address.ts";
import { transportChecksum } from "./checksum.ts";
import { ipHeaderLength, writeIpHeader } from "./ip.ts";
import { IpProtocol } from "./protocols.ts";

/** Length of a TCP header without options. */
export const TCP_HEADER_LENGTH = 20;

/** TCP flag bits. */
export const TcpFlag = {
  Fin: 0x01,
  Syn: 0x02,
  Rst: 0x04,
  Psh: 0x08,
  Ack: 0x10,
  Urg: 0x20,
  Ece: 0x40,
  Cwr: 0x80,
} as const;

/** The window nmap's SYN probes carry. */
export const DEFAULT_PROBE_WINDOW = 1024;

/** The MSS option value put in SYN probes. */
export const DEFAULT_MSS = 1460;

/** Fields of a TCP segment, with the addresses its checksum covers. */
export interface TcpInit {
  /** Source address; a number for IPv4, 16 bytes for IPv6. */
  src: IpAddress;
  /** Destination address, of the same family. */
  dst: IpAddress;
  srcPort: number;
  dstPort: number;
  seq: number;
  /** Acknowledgment number; 0 when omitted. */
  ack?: number;
  /** Flag bits, see {@link TcpFlag}. */
  flags: number;
  /** Receive window; {@link DEFAULT_PROBE_WINDOW} when omitted. */
  window?: number;
  /** Urgent pointer; 0 when omitted. */
  urgent?: number;
  /** Options, padded by the caller to a multiple of 4 bytes, at most 40. */
  options?: Uint8Array;
  /** Data after the header. */
  payload?: Uint8Array;
}

/** Fields of a whole IP packet carrying a TCP segment. */
export interface TcpPacketInit extends TcpInit {
  /** TTL or hop limit; 64 when omitted. */
  ttl?: number;
  /** IPv4 identification; 0 when omitted. */
  id?: number;
}

/** Fields of a probe: a {@link TcpPacketInit} whose flags the builder sets. */
export type TcpProbeInit = Omit<TcpPacketInit, "flags">;

/** A parsed TCP header. */
export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Header length in bytes (data offset × 4). */
  headerLength: number;
  /** Flag bits, see {@link TcpFlag}. */
  flags: number;
  window: number;
  checksum: number;
  urgent: number;
  /** The MSS option, when present. */
  mss?: number;
  /** Offset of the data in the parsed array. */
  payloadOffset: number;
  /** End of the data in the parsed array. */
  payloadEnd: number;
}

/** Options of {@link parseTcpHeader}. */
export interface ParseTcpOptions {
  /** Where the header starts; 0 when omitted. */
  offset?: number;
  /** End of the segment; the array's length when omitted. */
  end?: number;
}

/** The 4-byte MSS option. */
export function mssOption(mss: number = DEFAULT_MSS): Uint8Array {
  return new Uint8Array([2, 4, (mss >>> 8) & 0xff, mss & 0xff]);
}

function tcpLength(fields: TcpInit): number {
  const optionsLength = fields.options?.length ?? 0;
  if (optionsLength % 4 !== 0 || optionsLength > 40) {
    throw new RangeError(
      `Cannot write TCP header: options length ${optionsLength} is not a multiple of 4 up to 40`,
    );
  }
  return TCP_HEADER_LENGTH + optionsLength + (fields.payload?.length ?? 0);
}

/**
 * Write a TCP segment with its checksum at `offset`; returns its length.
 *
 * @throws {RangeError} on bad options, mixed families or a buffer too short.
 */
export function writeTcpSegment(buffer: Uint8Array, fields: TcpInit, offset = 0): number {
  const length = tcpLength(fields);
  if (offset < 0 || buffer.length - offset < length) {
    throw new RangeError(
      `Cannot write TCP segment at ${offset}: buffer of ${buffer.length} bytes is too short`,
    );
  }
  const headerLength = TCP_HEADER_LENGTH + (fields.options?.length ?? 0);
  writeUint16(buffer, offset, fields.srcPort);
  writeUint16(buffer, offset + 2, fields.dstPort);
  writeUint32(buffer, offset + 4, fields.seq);
  writeUint32(buffer, offset + 8, fields.ack ?? 0);
  buffer[offset + 12] = (headerLength >>> 2) << 4;
  buffer[offset + 13] = fields.flags;
  writeUint16(buffer, offset + 14, fields.window ?? DEFAULT_PROBE_WINDOW);
  writeUint16(buffer, offset + 16, 0);
  writeUint16(buffer, offset + 18, fields.urgent ?? 0);
  if (fields.options) buffer.set(fields.options, offset + TCP_HEADER_LENGTH);
  if (fields.payload) buffer.set(fields.payload, offset + headerLength);
  const checksum = transportChecksum(buffer.subarray(offset, offset + length), {
    src: fields.src,
    dst: fields.dst,
    protocol: IpProtocol.Tcp,
  });
  writeUint16(buffer, offset + 16, checksum);
  return length;
}

/**
 * A TCP segment alone, as an AF_INET6 raw socket sends it (the kernel adds
 * the IPv6 header; the checksum still covers the pseudo-header).
 */
export function buildTcpSegment(fields: TcpInit): Uint8Array {
  const segment = new Uint8Array(tcpLength(fields));
  writeTcpSegment(segment, fields);
  return segment;
}

/**
 * Write an IPv4 or IPv6 packet carrying a TCP segment at `offset`; returns
 * its length.
 */
export function writeTcpPacket(buffer: Uint8Array, fields: TcpPacketInit, offset = 0): number {
  const length = tcpLength(fields);
  const ipLength = writeIpHeader(buffer, {
    src: fields.src,
    dst: fields.dst,
    protocol: IpProtocol.Tcp,
    payloadLength: length,
    ttl: fields.ttl ?? 64,
    id: fields.id ?? 0,
  }, offset);
  return ipLength + writeTcpSegment(buffer, fields, offset + ipLength);
}

/** An IPv4 or IPv6 packet carrying a TCP segment. */
export function buildTcpPacket(fields: TcpPacketInit): Uint8Array {
  const packet = new Uint8Array(ipHeaderLength(fields.src) + tcpLength(fields));
  writeTcpPacket(packet, fields);
  return packet;
}

/**
 * A SYN probe like nmap's: window 1024 and an MSS 1460 option unless
 * `options` says otherwise.
 */
export function buildSynProbe(fields: TcpProbeInit): Uint8Array {
  return buildTcpPacket({ options: mssOption(), ...fields, flags: TcpFlag.Syn });
}

/**
 * An ACK probe (host discovery, ACK to port 80): a live host answers with a
 * RST whose sequence number is this probe's `ack`.
 */
export function buildAckProbe(fields: TcpProbeInit): Uint8Array {
  return buildTcpPacket({ ...fields, flags: TcpFlag.Ack });
}

/** A RST, e.g. to tear down a half-open connection after a SYN-ACK. */
export function buildRst(fields: TcpProbeInit): Uint8Array {
  return buildTcpPacket({ window: 0, ...fields, flags: TcpFlag.Rst });
}

/**
 * Parse the TCP header at `options.offset`; undefined when the data offset is
 * below 5 or the header runs past `end`. Of the options only MSS is read.
 */
export function parseTcpHeader(
  bytes: Uint8Array,
  options: ParseTcpOptions = {},
): TcpHeader | undefined {
  const offset = options.offset ?? 0;
  const end = Math.min(options.end ?? bytes.length, bytes.length);
  if (offset < 0 || end - offset < TCP_HEADER_LENGTH) return undefined;
  const headerLength = (bytes[offset + 12]! >>> 4) * 4;
  if (headerLength < TCP_HEADER_LENGTH || end - offset < headerLength) return undefined;
  const header: TcpHeader = {
    srcPort: readUint16(bytes, offset),
    dstPort: readUint16(bytes, offset + 2),
    seq: readUint32(bytes, offset + 4),
    ack: readUint32(bytes, offset + 8),
    headerLength,
    flags: bytes[offset + 13]!,
    window: readUint16(bytes, offset + 14),
    checksum: readUint16(bytes, offset + 16),
    urgent: readUint16(bytes, offset + 18),
    payloadOffset: offset + headerLength,
    payloadEnd: end,
  };
  const mss = findMss(bytes, offset + TCP_HEADER_LENGTH, offset + headerLength);
  if (mss !== undefined) header.mss = mss;
  return header;
}

function findMss(bytes: Uint8Array, start: number, end: number): number | undefined {
  let at = start;
  while (at < end) {
    const kind = bytes[at]!;
    if (kind === 0) return undefined;
    if (kind === 1) {
      at++;
      continue;
    }
    if (end - at < 2) return undefined;
    const length = bytes[at + 1]!;
    if (length < 2 || end - at < length) return undefined;
    if (kind === 2 && length === 4) return readUint16(bytes, at + 2);
    at += length;
  }
  return undefined;
}

const FLAG_LETTERS: readonly [number, string][] = [
  [TcpFlag.Syn, "S"],
  [TcpFlag.Ack, "A"],
  [TcpFlag.Fin, "F"],
  [TcpFlag.Rst, "R"],
  [TcpFlag.Psh, "P"],
  [TcpFlag.Urg, "U"],
  [TcpFlag.Ece, "E"],
  [TcpFlag.Cwr, "C"],
];

/** Flags as letters, nmap-style ("SA" for SYN-ACK, "R" for RST). */
export function formatTcpFlags(flags: number): string {
  let text = "";
  for (const [bit, letter] of FLAG_LETTERS) if (flags & bit) text += letter;
  return text;
}
