/**
 * Ethernet II framing, with 802.1Q / 802.1ad tags skipped on parse.
 *
 * @module
 */

import { type MacAddress, readUint16, writeUint16 } from "./address.ts";
import { EtherType } from "./protocols.ts";

/** Length of an untagged Ethernet header. */
export const ETHERNET_HEADER_LENGTH = 14;

/** A parsed Ethernet header. */
export interface EthernetHeader {
  dst: MacAddress;
  src: MacAddress;
  /** EtherType after any VLAN tags. */
  etherType: number;
  /** Offset of the payload (14, or more with VLAN tags). */
  payloadOffset: number;
}

/** Fields of an Ethernet header to write. */
export interface EthernetInit {
  dst: MacAddress;
  src: MacAddress;
  etherType: number;
}

/**
 * Write an Ethernet header at `offset`; returns the bytes written (14).
 *
 * @throws {RangeError} when a MAC address is not 6 bytes or the buffer is short.
 */
export function writeEthernetHeader(
  buffer: Uint8Array,
  fields: EthernetInit,
  offset = 0,
): number {
  if (fields.dst.length !== 6 || fields.src.length !== 6) {
    throw new RangeError(
      `Cannot write Ethernet header: MAC lengths ${fields.dst.length}/${fields.src.length} are not 6`,
    );
  }
  if (offset < 0 || buffer.length - offset < ETHERNET_HEADER_LENGTH) {
    throw new RangeError(
      `Cannot write Ethernet header at ${offset}: buffer of ${buffer.length} bytes is too short`,
    );
  }
  buffer.set(fields.dst, offset);
  buffer.set(fields.src, offset + 6);
  writeUint16(buffer, offset + 12, fields.etherType);
  return ETHERNET_HEADER_LENGTH;
}

/** An Ethernet frame of `payload` with the given header. */
export function buildEthernetFrame(fields: EthernetInit, payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(ETHERNET_HEADER_LENGTH + payload.length);
  writeEthernetHeader(frame, fields);
  frame.set(payload, ETHERNET_HEADER_LENGTH);
  return frame;
}

/**
 * Parse the Ethernet header at `offset`, skipping up to two VLAN tags;
 * undefined when the frame is too short.
 */
export function parseEthernetHeader(
  bytes: Uint8Array,
  offset = 0,
): EthernetHeader | undefined {
  if (offset < 0 || bytes.length - offset < ETHERNET_HEADER_LENGTH) return undefined;
  let at = offset + 12;
  let etherType = readUint16(bytes, at);
  for (
    let tags = 0;
    tags < 2 && (etherType === EtherType.Vlan || etherType === EtherType.QinQ);
    tags++
  ) {
    if (bytes.length - at < 6) return undefined;
    at += 4;
    etherType = readUint16(bytes, at);
  }
  return {
    dst: bytes.slice(offset, offset + 6),
    src: bytes.slice(offset + 6, offset + 12),
    etherType,
    payloadOffset: at + 2,
  };
}
