/**
 * From a parsed packet to a {@link ReplyRecord}: the reply is checked
 * against the scan's cookies (TCP acknowledgment, UDP port slot, ICMP quote,
 * echo identifier) and reduced to what the scheduler needs. Pure; runs in
 * the receive worker.
 *
 * @module
 */

import {
  addressToBigInt,
  type IpAddress,
  IpProtocol,
  type Reply,
  TcpFlag,
  type TcpReplyFields,
  validateEchoReply,
  validateIcmpQuote,
  validateTcpReply,
  validateUdpReply,
} from "../../packet/mod.ts";
import { type ReceiverConfig, ReplyKind, type ReplyRecord } from "./types.ts";

/** Turn a parsed packet into a validated record, or undefined when it answers no probe of ours. */
export function validateReply(
  reply: Reply,
  config: Pick<ReceiverConfig, "key" | "ports" | "attempts" | "addresses">,
  at: number,
): ReplyRecord | undefined {
  const options = { ports: config.ports, attempts: config.attempts };
  const { key } = config;
  switch (reply.kind) {
    case "tcp": {
      const attempt = validateTcpReply(key, reply, options);
      if (attempt === undefined) return undefined;
      const synAck = (reply.flags & (TcpFlag.Syn | TcpFlag.Ack)) === (TcpFlag.Syn | TcpFlag.Ack);
      const reset = (reply.flags & TcpFlag.Rst) !== 0;
      if (!synAck && !reset) return undefined;
      return record(reply.family, reply.src, reply.srcPort, IpProtocol.Tcp, attempt, {
        kind: synAck ? ReplyKind.SynAck : ReplyKind.Reset,
        ttl: reply.ttl,
        at,
        reason: synAck ? "syn-ack" : "reset",
        fromTarget: true,
      });
    }
    case "udp": {
      const attempt = validateUdpReply(key, reply, options);
      if (attempt === undefined) return undefined;
      return record(reply.family, reply.src, reply.srcPort, IpProtocol.Udp, attempt, {
        kind: ReplyKind.Udp,
        ttl: reply.ttl,
        at,
        reason: "udp-response",
        fromTarget: true,
      });
    }
    case "icmp-error": {
      const attempt = validateIcmpQuote(key, reply.quoted, options);
      if (attempt === undefined) return undefined;
      const quoted = reply.quoted;
      const fromTarget = sameAddress(reply.src, quoted.dst);
      return record(quoted.family, quoted.dst, quoted.dstPort ?? 0, quoted.protocol, attempt, {
        kind: ReplyKind.IcmpError,
        ttl: reply.ttl,
        at,
        reason: reply.reason,
        fromTarget,
      });
    }
    case "echo-reply": {
      const attempt = validateEchoReply(key, reply, options);
      if (attempt === undefined) return undefined;
      const protocol = reply.family === 4 ? IpProtocol.Icmp : IpProtocol.Icmpv6;
      return record(reply.family, reply.src, 0, protocol, attempt, {
        kind: ReplyKind.EchoReply,
        ttl: reply.ttl,
        at,
        reason: "echo-reply",
        fromTarget: true,
      });
    }
    case "arp-reply": {
      if (!config.addresses.some((address) => sameAddress(address, reply.targetIp))) {
        return undefined;
      }
      return record(4, reply.senderIp, 0, 0, 0, {
        kind: ReplyKind.Arp,
        ttl: 0,
        at,
        reason: "arp-response",
        fromTarget: true,
        mac: macNumber(reply.senderMac),
      });
    }
    case "neighbor-advertisement": {
      if (!reply.solicited) return undefined;
      return record(6, reply.target, 0, 0, 0, {
        kind: ReplyKind.Neighbor,
        ttl: reply.ttl,
        at,
        reason: "nd-response",
        fromTarget: true,
        ...(reply.mac !== undefined ? { mac: macNumber(reply.mac) } : {}),
      });
    }
  }
}

/** A MAC address as one number (48 bits fit a double exactly). */
function macNumber(mac: Uint8Array): number {
  return mac.reduce((value, byte) => value * 256 + byte, 0);
}

function sameAddress(a: IpAddress, b: IpAddress): boolean {
  if (typeof a === "number") return typeof b === "number" && a >>> 0 === b >>> 0;
  if (typeof b === "number" || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function record(
  family: 4 | 6,
  address: IpAddress,
  port: number,
  protocol: number,
  attempt: number,
  rest: Pick<ReplyRecord, "kind" | "ttl" | "at" | "reason" | "fromTarget" | "mac">,
): ReplyRecord {
  return {
    ...rest,
    family,
    address: typeof address === "number" ? address >>> 0 : addressToBigInt(address),
    port,
    protocol,
    attempt,
  };
}

/** {@link readTcp4Frame}: the frame is not a plain IPv4 TCP segment; parse it in full. */
export const FRAME_OTHER = -1;
/** {@link readTcp4Frame}: an IPv4 TCP segment that answers no probe of ours. */
export const FRAME_REJECTED = 0;
/** {@link readTcp4Frame}: `out` now holds the reply's record. */
export const FRAME_RECORD = 1;

/** Reusable state of {@link readTcp4Frame} (nothing is allocated per frame). */
export interface Tcp4Scratch {
  fields: TcpReplyFields;
  record: ReplyRecord;
}

/** Scratch for {@link readTcp4Frame}. */
export function createTcp4Scratch(): Tcp4Scratch {
  return {
    fields: { src: 0, dst: 0, srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0 },
    record: {
      kind: 0,
      family: 4,
      address: 0,
      port: 0,
      protocol: IpProtocol.Tcp,
      attempt: 0,
      ttl: 0,
      at: 0,
      reason: "",
      fromTarget: true,
    },
  };
}

/**
 * The receive worker's fast path for nearly every packet of a SYN scan: an
 * Ethernet frame carrying IPv4 and TCP is read in place and validated into
 * `scratch.record`, with the same verdict {@link validateReply} gives after
 * a full parse. Anything else (IPv6, ICMP, options it does not expect,
 * fragments, short or odd frames) is {@link FRAME_OTHER}: parse it in full.
 */
export function readTcp4Frame(
  bytes: Uint8Array,
  config: Pick<ReceiverConfig, "key" | "ports" | "attempts">,
  at: number,
  scratch: Tcp4Scratch,
): number {
  const ip = 14;
  if (bytes.length < ip + 40 || bytes[12] !== 0x08 || bytes[13] !== 0x00) return FRAME_OTHER;
  const versionIhl = bytes[ip]!;
  const ihl = (versionIhl & 0x0f) * 4;
  if (versionIhl >>> 4 !== 4 || ihl < 20 || bytes[ip + 9] !== IpProtocol.Tcp) return FRAME_OTHER;
  const totalLength = (bytes[ip + 2]! << 8) | bytes[ip + 3]!;
  // Fragments (more to come, or a later piece) go the long way.
  if ((((bytes[ip + 6]! << 8) | bytes[ip + 7]!) & 0x3fff) !== 0) return FRAME_OTHER;
  if (totalLength < ihl + 20 || ip + totalLength > bytes.length) return FRAME_OTHER;
  const tcp = ip + ihl;
  const dataOffset = (bytes[tcp + 12]! >>> 4) * 4;
  if (dataOffset < 20 || ihl + dataOffset > totalLength) return FRAME_OTHER;
  const { fields, record } = scratch;
  fields.src = read32(bytes, ip + 12);
  fields.dst = read32(bytes, ip + 16);
  fields.srcPort = (bytes[tcp]! << 8) | bytes[tcp + 1]!;
  fields.dstPort = (bytes[tcp + 2]! << 8) | bytes[tcp + 3]!;
  fields.seq = read32(bytes, tcp + 4);
  fields.ack = read32(bytes, tcp + 8);
  fields.flags = bytes[tcp + 13]!;
  const synAck = (fields.flags & (TcpFlag.Syn | TcpFlag.Ack)) === (TcpFlag.Syn | TcpFlag.Ack);
  const reset = (fields.flags & TcpFlag.Rst) !== 0;
  if (!synAck && !reset) return FRAME_REJECTED;
  const attempt = validateTcpReply(config.key, fields, config);
  if (attempt === undefined) return FRAME_REJECTED;
  record.kind = synAck ? ReplyKind.SynAck : ReplyKind.Reset;
  record.family = 4;
  record.address = fields.src as number;
  record.port = fields.srcPort;
  record.protocol = IpProtocol.Tcp;
  record.attempt = attempt;
  record.ttl = bytes[ip + 8]!;
  record.at = at;
  record.reason = synAck ? "syn-ack" : "reset";
  record.fromTarget = true;
  return FRAME_RECORD;
}

function read32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>>
    0;
}
