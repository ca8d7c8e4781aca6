/**
 * ICMPv4 (RFC 792) and ICMPv6 (RFC 4443, RFC 4861 neighbour discovery):
 * echo and neighbour-solicitation builders, a parser for the replies and
 * errors a scan receives, including the probe an error quotes, and the
 * names nmap gives each (type, code) as a reason.
 *
 * @module
 */

import {
  type IpAddress,
  type Ipv6Address,
  type MacAddress,
  readUint16,
  readUint32,
  writeUint16,
} from "./address.ts";
import { internetChecksum, transportChecksum } from "./checksum.ts";
import { buildEthernetFrame } from "./ethernet.ts";
import { ipHeaderLength, writeIpHeader } from "./ip.ts";
import { parseIpv4Header } from "./ipv4.ts";
import { parseIpv6Header } from "./ipv6.ts";
import { EtherType, IpProtocol } from "./protocols.ts";
import { icmpReason, IcmpType, Icmpv6Type } from "./icmp_types.ts";

export { icmpReason, IcmpType, Icmpv6Type } from "./icmp_types.ts";

/** Length of the fixed ICMP header (type, code, checksum, 4 type-specific bytes). */
export const ICMP_HEADER_LENGTH = 8;

/** Fields of an ICMP or ICMPv6 message; the address type picks the version. */
export interface IcmpInit {
  /** Source address; a number for ICMPv4, 16 bytes for ICMPv6. */
  src: IpAddress;
  /** Destination address, of the same family. */
  dst: IpAddress;
  type: number;
  code?: number;
  /** The 4 type-specific header bytes as a 32-bit value (id << 16 | seq for echo). */
  rest?: number;
  /** Data after the 8-byte header. */
  body?: Uint8Array;
}

/** Fields of a whole IP packet carrying an ICMP message. */
export interface IcmpPacketInit extends IcmpInit {
  /** TTL or hop limit; 64 when omitted. */
  ttl?: number;
  /** IPv4 identification; 0 when omitted. */
  id?: number;
}

/** Fields of an echo request. */
export interface EchoInit {
  src: IpAddress;
  dst: IpAddress;
  /** Identifier (16 bits). */
  id: number;
  /** Sequence number (16 bits). */
  seq: number;
  /** Data; empty when omitted. */
  payload?: Uint8Array;
  /** TTL or hop limit; 64 when omitted. */
  ttl?: number;
  /** IPv4 identification; 0 when omitted. */
  ipId?: number;
}

/**
 * Write an ICMP (IPv4 addresses) or ICMPv6 (IPv6 addresses, checksum over
 * the pseudo-header) message at `offset`; returns its length.
 *
 * @throws {RangeError} when the buffer is short or families differ.
 */
export function writeIcmpMessage(buffer: Uint8Array, fields: IcmpInit, offset = 0): number {
  const length = ICMP_HEADER_LENGTH + (fields.body?.length ?? 0);
  if (offset < 0 || buffer.length - offset < length) {
    throw new RangeError(
      `Cannot write ICMP message at ${offset}: buffer of ${buffer.length} bytes is too short`,
    );
  }
  buffer[offset] = fields.type;
  buffer[offset + 1] = fields.code ?? 0;
  writeUint16(buffer, offset + 2, 0);
  const rest = fields.rest ?? 0;
  writeUint16(buffer, offset + 4, rest >>> 16);
  writeUint16(buffer, offset + 6, rest & 0xffff);
  if (fields.body) buffer.set(fields.body, offset + ICMP_HEADER_LENGTH);
  const message = buffer.subarray(offset, offset + length);
  let checksum: number;
  if (typeof fields.src === "number" && typeof fields.dst === "number") {
    checksum = internetChecksum(message);
  } else {
    checksum = transportChecksum(message, {
      src: fields.src,
      dst: fields.dst,
      protocol: IpProtocol.Icmpv6,
    });
  }
  writeUint16(buffer, offset + 2, checksum);
  return length;
}

/** An ICMP or ICMPv6 message alone, for a raw socket that adds the IP header. */
export function buildIcmpMessage(fields: IcmpInit): Uint8Array {
  const message = new Uint8Array(ICMP_HEADER_LENGTH + (fields.body?.length ?? 0));
  writeIcmpMessage(message, fields);
  return message;
}

/** An IPv4 or IPv6 packet carrying an ICMP or ICMPv6 message. */
export function buildIcmpPacket(fields: IcmpPacketInit): Uint8Array {
  const length = ICMP_HEADER_LENGTH + (fields.body?.length ?? 0);
  const packet = new Uint8Array(ipHeaderLength(fields.src) + length);
  const ipLength = writeIpHeader(packet, {
    src: fields.src,
    dst: fields.dst,
    protocol: typeof fields.src === "number" ? IpProtocol.Icmp : IpProtocol.Icmpv6,
    payloadLength: length,
    ttl: fields.ttl ?? 64,
    id: fields.id ?? 0,
  });
  writeIcmpMessage(packet, fields, ipLength);
  return packet;
}

/** An ICMP (IPv4) or ICMPv6 (IPv6) echo request packet. */
export function buildEchoRequest(fields: EchoInit): Uint8Array {
  const v4 = typeof fields.src === "number";
  const init: IcmpPacketInit = {
    src: fields.src,
    dst: fields.dst,
    type: v4 ? IcmpType.EchoRequest : Icmpv6Type.EchoRequest,
    rest: (((fields.id & 0xffff) << 16) | (fields.seq & 0xffff)) >>> 0,
    ttl: fields.ttl ?? 64,
    id: fields.ipId ?? 0,
  };
  if (fields.payload) init.body = fields.payload;
  return buildIcmpPacket(init);
}

/** The solicited-node multicast address of `target` (ff02::1:ffXX:XXXX). */
export function solicitedNodeAddress(target: Ipv6Address): Ipv6Address {
  const address = new Uint8Array(16);
  address.set([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff]);
  address.set(target.subarray(13, 16), 13);
  return address;
}

/** The Ethernet multicast address of an IPv6 multicast address (33:33:xx:xx:xx:xx). */
export function ipv6MulticastMac(address: Ipv6Address): MacAddress {
  const mac = new Uint8Array(6);
  mac[0] = 0x33;
  mac[1] = 0x33;
  mac.set(address.subarray(12, 16), 2);
  return mac;
}

/** Fields of a neighbour solicitation. */
export interface NeighborSolicitationInit {
  /** Our IPv6 address (link-local or global on the link). */
  src: Ipv6Address;
  /** The address whose link-layer address we ask for. */
  target: Ipv6Address;
  /** Our MAC, sent as the source link-layer address option. */
  srcMac: MacAddress;
}

/**
 * A neighbour solicitation for `target` as an Ethernet frame, sent to its
 * solicited-node multicast group with hop limit 255 (RFC 4861 §4.3, §7.2.2).
 */
export function buildNeighborSolicitation(fields: NeighborSolicitationInit): Uint8Array {
  if (fields.target.length !== 16 || fields.srcMac.length !== 6) {
    throw new RangeError(
      `Cannot build neighbour solicitation: target length ${fields.target.length} or MAC length ${fields.srcMac.length} is wrong`,
    );
  }
  const dst = solicitedNodeAddress(fields.target);
  const body = new Uint8Array(24);
  body.set(fields.target, 0);
  body[16] = 1; // source link-layer address option, 1 × 8 bytes
  body[17] = 1;
  body.set(fields.srcMac, 18);
  const packet = buildIcmpPacket({
    src: fields.src,
    dst,
    type: Icmpv6Type.NeighborSolicitation,
    body,
    ttl: 255,
  });
  return buildEthernetFrame(
    { dst: ipv6MulticastMac(dst), src: fields.srcMac, etherType: EtherType.Ipv6 },
    packet,
  );
}

/** The probe an ICMP error quotes: the original IP header and the start of its payload. */
export interface QuotedProbe {
  family: 4 | 6;
  /** Source of the original packet (our address when it is our probe). */
  src: IpAddress;
  /** Destination of the original packet (the probed host). */
  dst: IpAddress;
  /** Upper-layer protocol of the original packet. */
  protocol: number;
  /** TTL / hop limit left in the quoted header. */
  ttl: number;
  /** IPv4 identification of the original packet. */
  ipId?: number;
  /** TCP/UDP ports, when at least 4 bytes of the transport header are quoted. */
  srcPort?: number;
  dstPort?: number;
  /** TCP sequence number, when 8 bytes of a TCP header are quoted. */
  seq?: number;
  /** ICMP type, id and sequence of a quoted echo request. */
  icmpType?: number;
  icmpId?: number;
  icmpSeq?: number;
}

/** A parsed ICMP or ICMPv6 message. */
export type IcmpMessage =
  | {
    kind: "echo-reply" | "echo-request";
    type: number;
    code: number;
    id: number;
    seq: number;
    /** Offset and end of the echo data in the parsed array. */
    payloadOffset: number;
    payloadEnd: number;
  }
  | {
    /** Destination unreachable, time exceeded, parameter problem, source quench, packet too big. */
    kind: "error";
    type: number;
    code: number;
    /** nmap's reason name for (type, code). */
    reason: string;
    /** The quoted probe, when the quote holds a whole IP header of the right family. */
    quoted?: QuotedProbe;
  }
  | {
    kind: "neighbor-advertisement";
    type: number;
    code: number;
    router: boolean;
    solicited: boolean;
    override: boolean;
    target: Ipv6Address;
    /** The target link-layer address option, when present. */
    mac?: MacAddress;
  }
  | { kind: "other"; type: number; code: number };

/** Options of {@link parseIcmpMessage}. */
export interface ParseIcmpOptions {
  /** Where the message starts; 0 when omitted. */
  offset?: number;
  /** End of the message; the array's length when omitted. */
  end?: number;
}

/**
 * Parse an ICMP (`family` 4) or ICMPv6 (`family` 6) message; undefined when
 * it is shorter than its fixed part.
 */
export function parseIcmpMessage(
  bytes: Uint8Array,
  family: 4 | 6,
  options: ParseIcmpOptions = {},
): IcmpMessage | undefined {
  const offset = options.offset ?? 0;
  const end = Math.min(options.end ?? bytes.length, bytes.length);
  if (offset < 0 || end - offset < ICMP_HEADER_LENGTH) return undefined;
  const type = bytes[offset]!;
  const code = bytes[offset + 1]!;
  const echoReply = family === 4 ? IcmpType.EchoReply : Icmpv6Type.EchoReply;
  const echoRequest = family === 4 ? IcmpType.EchoRequest : Icmpv6Type.EchoRequest;
  if (type === echoReply || type === echoRequest) {
    return {
      kind: type === echoReply ? "echo-reply" : "echo-request",
      type,
      code,
      id: readUint16(bytes, offset + 4),
      seq: readUint16(bytes, offset + 6),
      payloadOffset: offset + ICMP_HEADER_LENGTH,
      payloadEnd: end,
    };
  }
  if (isIcmpError(family, type)) {
    const message: IcmpMessage = {
      kind: "error",
      type,
      code,
      reason: icmpReason(family, type, code),
    };
    const quoted = parseQuotedProbe(bytes, family, { offset: offset + ICMP_HEADER_LENGTH, end });
    if (quoted) message.quoted = quoted;
    return message;
  }
  if (family === 6 && type === Icmpv6Type.NeighborAdvertisement) {
    if (end - offset < 24) return undefined;
    const flags = bytes[offset + 4]!;
    const message: IcmpMessage = {
      kind: "neighbor-advertisement",
      type,
      code,
      router: (flags & 0x80) !== 0,
      solicited: (flags & 0x40) !== 0,
      override: (flags & 0x20) !== 0,
      target: bytes.slice(offset + 8, offset + 24),
    };
    const mac = findLinkLayerOption(bytes, offset + 24, end, 2);
    if (mac) message.mac = mac;
    return message;
  }
  return { kind: "other", type, code };
}

function isIcmpError(family: 4 | 6, type: number): boolean {
  if (family === 4) {
    return type === IcmpType.DestinationUnreachable || type === IcmpType.TimeExceeded ||
      type === IcmpType.ParameterProblem || type === IcmpType.SourceQuench;
  }
  return type >= Icmpv6Type.DestinationUnreachable && type <= Icmpv6Type.ParameterProblem;
}

/** Find a source (1) or target (2) link-layer address option among ND options. */
function findLinkLayerOption(
  bytes: Uint8Array,
  start: number,
  end: number,
  wanted: number,
): MacAddress | undefined {
  let at = start;
  // Each option is at least 8 bytes, so this loop is bounded by the data.
  while (end - at >= 8) {
    const type = bytes[at]!;
    const length = bytes[at + 1]! * 8;
    if (length === 0 || end - at < length) return undefined;
    if (type === wanted && length >= 8) return bytes.slice(at + 2, at + 8);
    at += length;
  }
  return undefined;
}

/** Options of {@link parseQuotedProbe}. */
export interface ParseQuotedOptions {
  /** Where the quoted IP header starts; 0 when omitted. */
  offset?: number;
  /** End of the quote; the array's length when omitted. */
  end?: number;
}

/**
 * Parse the packet an ICMP error quotes: its IP header (which must be whole
 * and of `family`) and as much of the first 8 transport bytes as is there.
 */
export function parseQuotedProbe(
  bytes: Uint8Array,
  family: 4 | 6,
  options: ParseQuotedOptions = {},
): QuotedProbe | undefined {
  const parseOptions = {
    offset: options.offset ?? 0,
    end: options.end ?? bytes.length,
    truncated: true,
  };
  let quoted: QuotedProbe;
  let at: number;
  let end: number;
  let firstFragment = true;
  if (family === 4) {
    const ip = parseIpv4Header(bytes, parseOptions);
    if (!ip) return undefined;
    quoted = { family, src: ip.src, dst: ip.dst, protocol: ip.protocol, ttl: ip.ttl, ipId: ip.id };
    at = ip.payloadOffset;
    end = ip.payloadEnd;
    firstFragment = ip.fragmentOffset === 0;
  } else {
    const ip = parseIpv6Header(bytes, parseOptions);
    if (!ip) return undefined;
    quoted = { family, src: ip.src, dst: ip.dst, protocol: ip.protocol, ttl: ip.hopLimit };
    at = ip.payloadOffset;
    end = ip.payloadEnd;
    firstFragment = ip.protocol !== IpProtocol.Fragment;
  }
  if (!firstFragment) return quoted;
  const available = end - at;
  const protocol = quoted.protocol;
  if ((protocol === IpProtocol.Tcp || protocol === IpProtocol.Udp) && available >= 4) {
    quoted.srcPort = readUint16(bytes, at);
    quoted.dstPort = readUint16(bytes, at + 2);
    if (protocol === IpProtocol.Tcp && available >= 8) quoted.seq = readUint32(bytes, at + 4);
  } else if (
    (protocol === IpProtocol.Icmp || protocol === IpProtocol.Icmpv6) && available >= 8
  ) {
    quoted.icmpType = bytes[at]!;
    quoted.icmpId = readUint16(bytes, at + 4);
    quoted.icmpSeq = readUint16(bytes, at + 6);
  }
  return quoted;
}
