/**
 * Protocol numbers shared by the packet modules.
 *
 * @module
 */

/** IP protocol / IPv6 next-header numbers the scanner speaks. */
export const IpProtocol = {
  HopByHop: 0,
  Icmp: 1,
  Tcp: 6,
  Udp: 17,
  Routing: 43,
  Fragment: 44,
  Esp: 50,
  Ah: 51,
  Icmpv6: 58,
  NoNext: 59,
  DestinationOptions: 60,
} as const;

/** EtherType values. */
export const EtherType = {
  Ipv4: 0x0800,
  Arp: 0x0806,
  Vlan: 0x8100,
  QinQ: 0x88a8,
  Ipv6: 0x86dd,
} as const;
