/**
 * ICMP and ICMPv6 message types and nmap's reason names for them: what a
 * connect scan needs of ICMP (the reason of an error queued on its socket)
 * without the packet builders and parsers of icmp.ts.
 *
 * @module
 */

/** ICMPv4 message types. */
export const IcmpType = {
  EchoReply: 0,
  DestinationUnreachable: 3,
  SourceQuench: 4,
  Redirect: 5,
  EchoRequest: 8,
  TimeExceeded: 11,
  ParameterProblem: 12,
  TimestampReply: 14,
  AddressMaskReply: 18,
} as const;

/** ICMPv6 message types. */
export const Icmpv6Type = {
  DestinationUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParameterProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  NeighborSolicitation: 135,
  NeighborAdvertisement: 136,
} as const;

const ICMP4_UNREACHABLE_REASONS: Readonly<Record<number, string>> = {
  0: "net-unreach",
  1: "host-unreach",
  2: "proto-unreach",
  3: "port-unreach",
  9: "net-prohibited",
  10: "host-prohibited",
  13: "admin-prohibited",
};

const ICMP6_UNREACHABLE_REASONS: Readonly<Record<number, string>> = {
  0: "no-route",
  1: "admin-prohibited",
  2: "beyond-scope",
  3: "host-unreach",
  4: "port-unreach",
  5: "admin-prohibited",
  6: "reject-route",
};

/**
 * nmap's reason name for an ICMP (`family` 4) or ICMPv6 (`family` 6)
 * message, as its portreasons.cc maps them: other unreachable codes are
 * "dest-unreach", unknown types "unknown-response".
 */
export function icmpReason(family: 4 | 6, type: number, code: number): string {
  if (family === 4) {
    switch (type) {
      case IcmpType.EchoReply:
        return "echo-reply";
      case IcmpType.DestinationUnreachable:
        return ICMP4_UNREACHABLE_REASONS[code] ?? "dest-unreach";
      case IcmpType.SourceQuench:
        return "source-quench";
      case IcmpType.TimeExceeded:
        return "time-exceeded";
      case IcmpType.TimestampReply:
        return "timestamp-reply";
      case IcmpType.AddressMaskReply:
        return "addressmask-reply";
    }
    return "unknown-response";
  }
  switch (type) {
    case Icmpv6Type.EchoReply:
      return "echo-reply";
    case Icmpv6Type.DestinationUnreachable:
      return ICMP6_UNREACHABLE_REASONS[code] ?? "dest-unreach";
    case Icmpv6Type.ParameterProblem:
      return "param-problem";
    case Icmpv6Type.TimeExceeded:
      return "time-exceeded";
    case Icmpv6Type.NeighborAdvertisement:
      return "nd-response";
  }
  return "unknown-response";
}
