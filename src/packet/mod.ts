/**
 * Packets for the raw-socket engine: checksums, IPv4/IPv6/TCP/UDP/ICMP/ARP
 * builders and bounds-checked parsers, stateless probe cookies, one
 * never-throwing reply parser, and the BPF filter for the receive socket.
 * Pure computation: no I/O, no FFI.
 *
 * @module
 */

export {
  addressEquals,
  addressFromHost,
  addressToBigInt,
  BROADCAST_MAC,
  formatMac,
  type IpAddress,
  type Ipv4Address,
  type Ipv6Address,
  ipv6FromBigInt,
  ipv6ToBigInt,
  type MacAddress,
  parseMac,
} from "./address.ts";
export {
  ARP_LENGTH,
  ArpOperation,
  type ArpPacket,
  type ArpReplyInit,
  type ArpRequestInit,
  buildArpReply,
  buildArpRequest,
  parseArpFrame,
  parseArpPacket,
} from "./arp.ts";
export {
  Bpf,
  BPF_INSTRUCTION_SIZE,
  BPF_MAX_INSTRUCTIONS,
  BpfAssembler,
  type BpfInstruction,
  buildScanFilter,
  decodeBpfProgram,
  encodeBpfProgram,
  type ScanFilterOptions,
} from "./bpf.ts";
export {
  finishChecksum,
  foldSum,
  internetChecksum,
  type PseudoHeader,
  pseudoHeaderSum,
  sumWords,
  transportChecksum,
  updateChecksum,
  updateChecksum32,
} from "./checksum.ts";
export {
  attemptOfSourcePort,
  COOKIE_KEY_LENGTH,
  type CookieOptions,
  createCookieKey,
  DEFAULT_PORT_RANGE,
  echoIdentity,
  type EchoReplyFields,
  type FlowTuple,
  type PortRange,
  probeAttempt,
  probeCookie,
  probeIdentity,
  type ProbeOptions,
  probeSourcePort,
  type ProbeTarget,
  type TcpReplyFields,
  type UdpReplyFields,
  validateEchoReply,
  validateIcmpQuote,
  validateTcpReply,
  validateUdpReply,
} from "./cookie.ts";
export {
  buildEthernetFrame,
  ETHERNET_HEADER_LENGTH,
  type EthernetHeader,
  type EthernetInit,
  parseEthernetHeader,
  writeEthernetHeader,
} from "./ethernet.ts";
export {
  buildEchoRequest,
  buildIcmpMessage,
  buildIcmpPacket,
  buildNeighborSolicitation,
  type EchoInit,
  ICMP_HEADER_LENGTH,
  type IcmpInit,
  type IcmpMessage,
  type IcmpPacketInit,
  icmpReason,
  IcmpType,
  Icmpv6Type,
  ipv6MulticastMac,
  type NeighborSolicitationInit,
  parseIcmpMessage,
  type ParseIcmpOptions,
  type ParseQuotedOptions,
  parseQuotedProbe,
  type QuotedProbe,
  solicitedNodeAddress,
  writeIcmpMessage,
} from "./icmp.ts";
export { ipHeaderLength, type IpInit, writeIpHeader } from "./ip.ts";
export {
  buildIpv4Packet,
  IPV4_HEADER_LENGTH,
  type Ipv4Header,
  type Ipv4Init,
  parseIpv4Header,
  type ParseIpv4Options,
  writeIpv4Header,
} from "./ipv4.ts";
export {
  buildIpv6Packet,
  IPV6_HEADER_LENGTH,
  type Ipv6Header,
  type Ipv6Init,
  parseIpv6Header,
  type ParseIpv6Options,
  writeIpv6Header,
} from "./ipv6.ts";
export {
  type ArpReply,
  type EchoReply,
  type IcmpErrorReply,
  type IpReplyBase,
  type LinkType,
  type NeighborAdvertisementReply,
  parseReply,
  type ParseReplyOptions,
  type Reply,
  type TcpReply,
  type UdpReply,
} from "./parse.ts";
export { EtherType, IpProtocol } from "./protocols.ts";
export { sipHash24, sipHash24Halves } from "./siphash.ts";
export {
  buildAckProbe,
  buildRst,
  buildSynProbe,
  buildTcpPacket,
  buildTcpSegment,
  DEFAULT_MSS,
  DEFAULT_PROBE_WINDOW,
  formatTcpFlags,
  mssOption,
  parseTcpHeader,
  type ParseTcpOptions,
  TCP_HEADER_LENGTH,
  TcpFlag,
  type TcpHeader,
  type TcpInit,
  type TcpPacketInit,
  type TcpProbeInit,
  writeTcpPacket,
  writeTcpSegment,
} from "./tcp.ts";
export {
  buildUdpDatagram,
  buildUdpPacket,
  parseUdpHeader,
  type ParseUdpOptions,
  UDP_HEADER_LENGTH,
  type UdpHeader,
  type UdpInit,
  type UdpPacketInit,
  writeUdpDatagram,
  writeUdpPacket,
} from "./udp.ts";
