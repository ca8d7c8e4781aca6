/**
 * ARP over Ethernet (RFC 826) for local-link host discovery: who-has
 * requests and reply parsing.
 *
 * @module
 */

import {
  BROADCAST_MAC,
  type Ipv4Address,
  type MacAddress,
  readUint16,
  readUint32,
  writeUint16,
  writeUint32,
} from "./address.ts";
import { ETHERNET_HEADER_LENGTH, parseEthernetHeader, writeEthernetHeader } from "./ethernet.ts";
import { EtherType } from "./protocols.ts";

/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_LENGTH = 28;

/** ARP operations. */
export const ArpOperation = { Request: 1, Reply: 2 } as const;

/** Fields of an ARP request. */
export interface ArpRequestInit {
  /** Our MAC address. */
  srcMac: MacAddress;
  /** Our IPv4 address. */
  srcIp: Ipv4Address;
  /** The address asked about. */
  targetIp: Ipv4Address;
  /** Link-layer destination; broadcast when omitted. */
  dstMac?: MacAddress;
}

/** A parsed Ethernet/IPv4 ARP packet. */
export interface ArpPacket {
  /** 1 request, 2 reply. */
  operation: number;
  senderMac: MacAddress;
  senderIp: Ipv4Address;
  targetMac: MacAddress;
  targetIp: Ipv4Address;
}

/**
 * An Ethernet frame carrying an ARP who-has request for `targetIp`
 * (42 bytes; the driver pads it to the 60-byte minimum).
 */
export function buildArpRequest(fields: ArpRequestInit): Uint8Array {
  if (fields.srcMac.length !== 6 || (fields.dstMac && fields.dstMac.length !== 6)) {
    throw new RangeError(`Cannot build ARP request: MAC length ${fields.srcMac.length} is not 6`);
  }
  const frame = new Uint8Array(ETHERNET_HEADER_LENGTH + ARP_LENGTH);
  writeEthernetHeader(frame, {
    dst: fields.dstMac ?? BROADCAST_MAC,
    src: fields.srcMac,
    etherType: EtherType.Arp,
  });
  const at = ETHERNET_HEADER_LENGTH;
  writeUint16(frame, at, 1); // hardware type: Ethernet
  writeUint16(frame, at + 2, EtherType.Ipv4);
  frame[at + 4] = 6;
  frame[at + 5] = 4;
  writeUint16(frame, at + 6, ArpOperation.Request);
  frame.set(fields.srcMac, at + 8);
  writeUint32(frame, at + 14, fields.srcIp);
  // The target hardware address stays zero: it is what we ask for.
  writeUint32(frame, at + 24, fields.targetIp);
  return frame;
}

/** Fields of an ARP reply. */
export interface ArpReplyInit {
  /** The answering host's MAC and address. */
  srcMac: MacAddress;
  srcIp: Ipv4Address;
  /** The asker's MAC and address. */
  dstMac: MacAddress;
  dstIp: Ipv4Address;
}

/** An Ethernet frame carrying an ARP is-at reply (for test peers and the lab). */
export function buildArpReply(fields: ArpReplyInit): Uint8Array {
  const frame = buildArpRequest({
    srcMac: fields.srcMac,
    srcIp: fields.srcIp,
    targetIp: fields.dstIp,
    dstMac: fields.dstMac,
  });
  writeUint16(frame, ETHERNET_HEADER_LENGTH + 6, ArpOperation.Reply);
  frame.set(fields.dstMac, ETHERNET_HEADER_LENGTH + 18);
  return frame;
}

/**
 * Parse an Ethernet/IPv4 ARP packet at `offset` (after the Ethernet header);
 * undefined when it is short or not Ethernet/IPv4.
 */
export function parseArpPacket(bytes: Uint8Array, offset = 0): ArpPacket | undefined {
  if (offset < 0 || bytes.length - offset < ARP_LENGTH) return undefined;
  if (
    readUint16(bytes, offset) !== 1 || readUint16(bytes, offset + 2) !== EtherType.Ipv4 ||
    bytes[offset + 4] !== 6 || bytes[offset + 5] !== 4
  ) {
    return undefined;
  }
  return {
    operation: readUint16(bytes, offset + 6),
    senderMac: bytes.slice(offset + 8, offset + 14),
    senderIp: readUint32(bytes, offset + 14),
    targetMac: bytes.slice(offset + 18, offset + 24),
    targetIp: readUint32(bytes, offset + 24),
  };
}

/** Parse an Ethernet frame carrying ARP; undefined for anything else. */
export function parseArpFrame(frame: Uint8Array): ArpPacket | undefined {
  const ethernet = parseEthernetHeader(frame);
  if (!ethernet || ethernet.etherType !== EtherType.Arp) return undefined;
  return parseArpPacket(frame, ethernet.payloadOffset);
}
