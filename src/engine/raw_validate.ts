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
  validateEchoReply,
  validateIcmpQuote,
  validateTcpReply,
  validateUdpReply,
} from "../packet/mod.ts";
import { type ReceiverConfig, ReplyKind, type ReplyRecord } from "./raw_types.ts";

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
      });
    }
  }
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
  rest: Pick<ReplyRecord, "kind" | "ttl" | "at" | "reason" | "fromTarget">,
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
