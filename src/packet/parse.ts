/**
 * One entry point for everything a scan's receive socket hands over:
 * {@link parseReply} turns a raw packet (from an AF_INET SOCK_RAW socket, or
 * an AF_PACKET socket with or without the Ethernet header) into a tagged
 * reply, or undefined for anything a scan has no use for. It never throws
 * and never reads out of bounds, whatever the bytes.
 *
 * @module
 */

import type { IpAddress, Ipv4Address, Ipv6Address, MacAddress } from "./address.ts";
import { ArpOperation, parseArpPacket } from "./arp.ts";
import { internetChecksum, pseudoHeaderSum } from "./checksum.ts";
import { parseEthernetHeader } from "./ethernet.ts";
import { parseIcmpMessage, type QuotedProbe } from "./icmp.ts";
import { parseIpv4Header } from "./ipv4.ts";
import { parseIpv6Header } from "./ipv6.ts";
import { EtherType, IpProtocol } from "./protocols.ts";
import { parseTcpHeader } from "./tcp.ts";
import { parseUdpHeader } from "./udp.ts";

/** What the received bytes start with. */
export type LinkType = "ip" | "ethernet";

/** Options of {@link parseReply}. */
export interface ParseReplyOptions {
  /**
   * "ip" when the packet starts at the IP header (AF_INET SOCK_RAW, AF_PACKET
   * SOCK_DGRAM), "ethernet" when it starts at an Ethernet header (AF_PACKET
   * SOCK_RAW). An AF_INET6 raw socket strips the IPv6 header, so IPv6 replies
   * are read from an AF_PACKET socket.
   */
  linkType: LinkType;
  /**
   * Drop packets whose IPv4 header or transport checksum is wrong. Off by
   * default: with checksum offload (veth, loopback) packets seen on an
   * AF_PACKET socket often carry a partial checksum that is not yet filled in.
   */
  verifyChecksums?: boolean;
}

/** Fields every IP reply has. */
export interface IpReplyBase {
  family: 4 | 6;
  /** Who sent the reply. */
  src: IpAddress;
  /** Whom it was sent to (one of our addresses). */
  dst: IpAddress;
  /** TTL or hop limit of the reply. */
  ttl: number;
  /** Sender's MAC, when the packet came with an Ethernet header. */
  linkSrc?: MacAddress;
}

/** A TCP segment (SYN-ACK, RST, …). */
export interface TcpReply extends IpReplyBase {
  kind: "tcp";
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Flag bits, see `TcpFlag`. */
  flags: number;
  window: number;
  /** The MSS option, when present. */
  mss?: number;
}

/** A UDP datagram. */
export interface UdpReply extends IpReplyBase {
  kind: "udp";
  srcPort: number;
  dstPort: number;
  /** The datagram's data (a copy). */
  payload: Uint8Array;
}

/** An ICMP or ICMPv6 error quoting a packet (destination unreachable, time exceeded, …). */
export interface IcmpErrorReply extends IpReplyBase {
  kind: "icmp-error";
  type: number;
  code: number;
  /** nmap's reason name: port-unreach, admin-prohibited, time-exceeded, … */
  reason: string;
  /** The quoted packet, for matching to our probe. */
  quoted: QuotedProbe;
}

/** An ICMP or ICMPv6 echo reply. */
export interface EchoReply extends IpReplyBase {
  kind: "echo-reply";
  id: number;
  seq: number;
}

/** An ICMPv6 neighbour advertisement. */
export interface NeighborAdvertisementReply extends IpReplyBase {
  kind: "neighbor-advertisement";
  /** The address advertised. */
  target: Ipv6Address;
  /** The target link-layer address option, when present. */
  mac?: MacAddress;
  router: boolean;
  solicited: boolean;
  override: boolean;
}

/** An ARP reply. */
export interface ArpReply {
  kind: "arp-reply";
  senderMac: MacAddress;
  senderIp: Ipv4Address;
  targetMac: MacAddress;
  targetIp: Ipv4Address;
  /** Source MAC of the Ethernet frame. */
  linkSrc: MacAddress;
}

/** Everything {@link parseReply} recognises. */
export type Reply =
  | TcpReply
  | UdpReply
  | IcmpErrorReply
  | EchoReply
  | NeighborAdvertisementReply
  | ArpReply;

/** Where an IP packet's upper-layer data lies, and what it is. */
interface IpView {
  base: IpReplyBase;
  protocol: number;
  start: number;
  end: number;
}

/**
 * Parse a received packet into a {@link Reply}; undefined when it is not a
 * well-formed TCP, UDP, ICMP error (with a quote), echo reply, neighbour
 * advertisement or ARP reply. Never throws.
 */
export function parseReply(bytes: Uint8Array, options: ParseReplyOptions): Reply | undefined {
  if (!(bytes instanceof Uint8Array)) return undefined;
  const verify = options.verifyChecksums === true;
  if (options.linkType === "ethernet") {
    const ethernet = parseEthernetHeader(bytes);
    if (!ethernet) return undefined;
    const at = ethernet.payloadOffset;
    if (ethernet.etherType === EtherType.Arp) {
      const arp = parseArpPacket(bytes, at);
      if (!arp || arp.operation !== ArpOperation.Reply) return undefined;
      return {
        kind: "arp-reply",
        senderMac: arp.senderMac,
        senderIp: arp.senderIp,
        targetMac: arp.targetMac,
        targetIp: arp.targetIp,
        linkSrc: ethernet.src,
      };
    }
    if (ethernet.etherType !== EtherType.Ipv4 && ethernet.etherType !== EtherType.Ipv6) {
      return undefined;
    }
    const view = parseIp(bytes, at, verify);
    if (!view || view.base.family !== (ethernet.etherType === EtherType.Ipv4 ? 4 : 6)) {
      return undefined;
    }
    view.base.linkSrc = ethernet.src;
    return parseTransport(bytes, view, verify);
  }
  if (options.linkType !== "ip") return undefined;
  const view = parseIp(bytes, 0, verify);
  return view && parseTransport(bytes, view, verify);
}

function parseIp(bytes: Uint8Array, offset: number, verify: boolean): IpView | undefined {
  if (bytes.length <= offset) return undefined;
  const version = bytes[offset]! >>> 4;
  if (version === 4) {
    const ip = parseIpv4Header(bytes, { offset, verifyChecksum: verify });
    // A later fragment carries no transport header.
    if (!ip || ip.fragmentOffset !== 0) return undefined;
    return {
      base: { family: 4, src: ip.src, dst: ip.dst, ttl: ip.ttl },
      protocol: ip.protocol,
      start: ip.payloadOffset,
      end: ip.payloadEnd,
    };
  }
  if (version === 6) {
    const ip = parseIpv6Header(bytes, { offset });
    if (!ip) return undefined;
    return {
      base: { family: 6, src: ip.src, dst: ip.dst, ttl: ip.hopLimit },
      protocol: ip.protocol,
      start: ip.payloadOffset,
      end: ip.payloadEnd,
    };
  }
  return undefined;
}

function checksumOk(bytes: Uint8Array, view: IpView): boolean {
  const segment = bytes.subarray(view.start, view.end);
  const { src, dst, family } = view.base;
  if (view.protocol === IpProtocol.Icmp) return internetChecksum(segment) === 0;
  // A zero UDP checksum means "none" over IPv4.
  if (view.protocol === IpProtocol.Udp && family === 4 && segment.length >= 8) {
    if (segment[6] === 0 && segment[7] === 0) return true;
  }
  const initial = pseudoHeaderSum({ src, dst, protocol: view.protocol, length: segment.length });
  return internetChecksum(segment, initial) === 0;
}

function parseTransport(bytes: Uint8Array, view: IpView, verify: boolean): Reply | undefined {
  const { base, protocol, start, end } = view;
  if (verify && !checksumOk(bytes, view)) return undefined;
  switch (protocol) {
    case IpProtocol.Tcp: {
      const tcp = parseTcpHeader(bytes, { offset: start, end });
      if (!tcp) return undefined;
      const reply: TcpReply = {
        ...base,
        kind: "tcp",
        srcPort: tcp.srcPort,
        dstPort: tcp.dstPort,
        seq: tcp.seq,
        ack: tcp.ack,
        flags: tcp.flags,
        window: tcp.window,
      };
      if (tcp.mss !== undefined) reply.mss = tcp.mss;
      return reply;
    }
    case IpProtocol.Udp: {
      const udp = parseUdpHeader(bytes, { offset: start, end });
      if (!udp) return undefined;
      return {
        ...base,
        kind: "udp",
        srcPort: udp.srcPort,
        dstPort: udp.dstPort,
        payload: bytes.slice(udp.payloadOffset, udp.payloadEnd),
      };
    }
    case IpProtocol.Icmp:
    case IpProtocol.Icmpv6: {
      // ICMP inside IPv6, or ICMPv6 inside IPv4, is nonsense.
      if ((protocol === IpProtocol.Icmp) !== (base.family === 4)) return undefined;
      const icmp = parseIcmpMessage(bytes, base.family, { offset: start, end });
      if (!icmp) return undefined;
      switch (icmp.kind) {
        case "echo-reply":
          return { ...base, kind: "echo-reply", id: icmp.id, seq: icmp.seq };
        case "error":
          if (!icmp.quoted) return undefined;
          return {
            ...base,
            kind: "icmp-error",
            type: icmp.type,
            code: icmp.code,
            reason: icmp.reason,
            quoted: icmp.quoted,
          };
        case "neighbor-advertisement": {
          // RFC 4861 §7.1.2: a hop limit below 255 means it came from off-link.
          if (base.ttl !== 255) return undefined;
          const reply: NeighborAdvertisementReply = {
            ...base,
            kind: "neighbor-advertisement",
            target: icmp.target,
            router: icmp.router,
            solicited: icmp.solicited,
            override: icmp.override,
          };
          if (icmp.mac) reply.mac = icmp.mac;
          return reply;
        }
        default:
          return undefined;
      }
    }
    default:
      return undefined;
  }
}
