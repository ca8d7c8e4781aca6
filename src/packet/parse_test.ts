import assert from "node:assert/strict";
import { parseReply } from "./parse.ts";
import { buildArpReply, buildArpRequest } from "./arp.ts";
import { buildEthernetFrame } from "./ethernet.ts";
import { buildIcmpPacket, buildNeighborSolicitation } from "./icmp.ts";
import { buildSynProbe, buildTcpPacket, mssOption, TcpFlag } from "./tcp.ts";
import { buildUdpPacket } from "./udp.ts";
import { DST4, DST6, fromHex, MAC1, SRC4, SRC6 } from "./testdata/scapy_packets.ts";

const PEER_MAC = fromHex("020000000005");

function frame(
  packet: Uint8Array,
  etherType = packet[0]! >>> 4 === 4 ? 0x0800 : 0x86dd,
): Uint8Array {
  return buildEthernetFrame({ dst: MAC1, src: PEER_MAC, etherType }, packet);
}

function synAck(src: number | Uint8Array, dst: number | Uint8Array): Uint8Array {
  return buildTcpPacket({
    src,
    dst,
    srcPort: 443,
    dstPort: 40000,
    seq: 0x01020304,
    ack: 0x12345679,
    flags: TcpFlag.Syn | TcpFlag.Ack,
    window: 64240,
    options: mssOption(1400),
    ttl: 57,
  });
}

Deno.test("parseReply() reads a SYN-ACK from an IP socket", () => {
  assert.deepEqual(parseReply(synAck(DST4, SRC4), { linkType: "ip" }), {
    kind: "tcp",
    family: 4,
    src: DST4,
    dst: SRC4,
    ttl: 57,
    srcPort: 443,
    dstPort: 40000,
    seq: 0x01020304,
    ack: 0x12345679,
    flags: TcpFlag.Syn | TcpFlag.Ack,
    window: 64240,
    mss: 1400,
  });
});

Deno.test("parseReply() reads an IPv6 SYN-ACK in a padded Ethernet frame with its MAC", () => {
  const bytes = new Uint8Array(200);
  bytes.set(frame(synAck(DST6, SRC6)));
  const reply = parseReply(bytes, { linkType: "ethernet" });
  assert.ok(reply?.kind === "tcp");
  assert.equal(reply.family, 6);
  assert.deepEqual(reply.src, DST6);
  assert.deepEqual(reply.linkSrc, PEER_MAC);
  assert.equal(reply.ack, 0x12345679);
});

Deno.test("parseReply() bounds an IPv4 RST by its total length, not the 60-byte frame", () => {
  const rst = buildTcpPacket({
    src: DST4,
    dst: SRC4,
    srcPort: 80,
    dstPort: 40000,
    seq: 0,
    ack: 1,
    flags: 0x14,
  });
  const padded = new Uint8Array(60);
  padded.set(frame(rst));
  const reply = parseReply(padded, { linkType: "ethernet", verifyChecksums: true });
  assert.equal(reply?.kind, "tcp");
});

Deno.test("parseReply() reads a UDP reply and copies its payload", () => {
  const payload = new TextEncoder().encode("dns answer");
  const packet = buildUdpPacket({ src: DST4, dst: SRC4, srcPort: 53, dstPort: 50000, payload });
  const reply = parseReply(packet, { linkType: "ip", verifyChecksums: true });
  assert.ok(reply?.kind === "udp");
  assert.deepEqual(reply.payload, payload);
  packet[packet.length - 1] = 0;
  assert.deepEqual(reply.payload, payload, "a copy, not a view of the receive buffer");
});

Deno.test("parseReply() reads an ICMP port unreachable with the quoted probe", () => {
  const probe = buildUdpPacket({ src: SRC4, dst: DST4, srcPort: 41000, dstPort: 161 });
  const error = buildIcmpPacket({
    src: DST4,
    dst: SRC4,
    type: 3,
    code: 3,
    body: probe.subarray(0, 28),
    ttl: 60,
  });
  const reply = parseReply(error, { linkType: "ip" });
  assert.ok(reply?.kind === "icmp-error");
  assert.equal(reply.reason, "port-unreach");
  assert.equal(reply.ttl, 60);
  assert.equal(reply.quoted.dst, DST4);
  assert.equal(reply.quoted.protocol, 17);
  assert.equal(reply.quoted.dstPort, 161);
});

Deno.test("parseReply() reads an ICMPv6 unreachable, echo replies and a neighbour advertisement", () => {
  const probe = buildSynProbe({ src: SRC6, dst: DST6, srcPort: 40000, dstPort: 22, seq: 9 });
  const error = buildIcmpPacket({ src: DST6, dst: SRC6, type: 1, code: 4, body: probe });
  const unreach = parseReply(frame(error), { linkType: "ethernet", verifyChecksums: true });
  assert.ok(unreach?.kind === "icmp-error");
  assert.equal(unreach.reason, "port-unreach");
  assert.equal(unreach.quoted.seq, 9);

  for (const [src, dst, type] of [[DST4, SRC4, 0], [DST6, SRC6, 129]] as const) {
    const echo = buildIcmpPacket({ src, dst, type, rest: 0xbeef0007, body: new Uint8Array(4) });
    assert.deepEqual(parseReply(echo, { linkType: "ip", verifyChecksums: true }), {
      kind: "echo-reply",
      family: typeof src === "number" ? 4 : 6,
      src,
      dst,
      ttl: 64,
      id: 0xbeef,
      seq: 7,
    });
  }

  const body = new Uint8Array(24);
  body.set(DST6);
  body.set([2, 1, ...PEER_MAC], 16);
  const na = buildIcmpPacket({ src: DST6, dst: SRC6, type: 136, rest: 0xe0000000, body, ttl: 255 });
  const advert = parseReply(frame(na), { linkType: "ethernet" });
  assert.ok(advert?.kind === "neighbor-advertisement");
  assert.deepEqual(advert.target, DST6);
  assert.deepEqual(advert.mac, PEER_MAC);
  assert.equal(advert.router, true);
  // Neighbour discovery from off-link (hop limit < 255) is ignored.
  const forwarded = buildIcmpPacket({ src: DST6, dst: SRC6, type: 136, body, ttl: 254 });
  assert.equal(parseReply(forwarded, { linkType: "ip" }), undefined);
});

Deno.test("parseReply() reads ARP replies and ignores ARP requests", () => {
  const arp = buildArpReply({ srcMac: PEER_MAC, srcIp: DST4, dstMac: MAC1, dstIp: SRC4 });
  assert.deepEqual(parseReply(arp, { linkType: "ethernet" }), {
    kind: "arp-reply",
    senderMac: PEER_MAC,
    senderIp: DST4,
    targetMac: MAC1,
    targetIp: SRC4,
    linkSrc: PEER_MAC,
  });
  const request = buildArpRequest({ srcMac: PEER_MAC, srcIp: DST4, targetIp: SRC4 });
  assert.equal(parseReply(request, { linkType: "ethernet" }), undefined);
  assert.equal(parseReply(arp, { linkType: "ip" }), undefined);
});

Deno.test("parseReply() verifies checksums only when asked", () => {
  const packet = synAck(DST4, SRC4);
  packet[20 + 16] = packet[20 + 16]! ^ 0xff; // TCP checksum
  assert.equal(parseReply(packet, { linkType: "ip" })?.kind, "tcp");
  assert.equal(parseReply(packet, { linkType: "ip", verifyChecksums: true }), undefined);
  const header = synAck(DST4, SRC4);
  header[10] = header[10]! ^ 0xff; // IPv4 header checksum
  assert.equal(parseReply(header, { linkType: "ip", verifyChecksums: true }), undefined);
  const udp = buildUdpPacket({ src: DST4, dst: SRC4, srcPort: 1, dstPort: 2, noChecksum: true });
  assert.equal(parseReply(udp, { linkType: "ip", verifyChecksums: true })?.kind, "udp");
  const icmp = buildIcmpPacket({ src: DST4, dst: SRC4, type: 0 });
  icmp[22] = icmp[22]! ^ 1;
  assert.equal(parseReply(icmp, { linkType: "ip", verifyChecksums: true }), undefined);
});

Deno.test("parseReply() returns undefined for what a scan has no use for", () => {
  const cases: [string, Uint8Array, "ip" | "ethernet"][] = [
    ["empty", new Uint8Array(0), "ip"],
    ["version 5", new Uint8Array([0x55, ...new Uint8Array(40)]), "ip"],
    [
      "ICMP error quoting nothing",
      buildIcmpPacket({ src: DST4, dst: SRC4, type: 3, code: 1 }),
      "ip",
    ],
    ["echo request", buildIcmpPacket({ src: DST4, dst: SRC4, type: 8 }), "ip"],
    [
      "neighbour solicitation",
      buildNeighborSolicitation({ src: SRC6, target: DST6, srcMac: MAC1 }),
      "ethernet",
    ],
    ["IPv6 in an IPv4 EtherType", frame(synAck(DST6, SRC6), 0x0800), "ethernet"],
    ["IPX", frame(new Uint8Array(30), 0x8137), "ethernet"],
    [
      "GRE",
      buildIcmpPacket({ src: DST4, dst: SRC4, type: 0 }).map((b, i) => (i === 9 ? 47 : b)),
      "ip",
    ],
    [
      "ICMPv6 over IPv4",
      buildIcmpPacket({ src: DST4, dst: SRC4, type: 129 }).map((b, i) => (i === 9 ? 58 : b)),
      "ip",
    ],
  ];
  // The checksum no longer matters once the protocol is rewritten: nothing is verified.
  for (const [label, bytes, linkType] of cases) {
    assert.equal(parseReply(bytes, { linkType }), undefined, label);
  }
  // A later fragment carries no transport header, even if its bytes look like one.
  const fragment = synAck(DST4, SRC4);
  fragment[7] = 1;
  assert.equal(parseReply(fragment, { linkType: "ip" }), undefined);
  // A first fragment does.
  const first = synAck(DST4, SRC4);
  first[6] = 0x20;
  assert.equal(parseReply(first, { linkType: "ip" })?.kind, "tcp");
  // Unknown link types and non-arrays are refused, not thrown on.
  assert.equal(parseReply(synAck(DST4, SRC4), { linkType: "token-ring" as "ip" }), undefined);
  assert.equal(parseReply(null as unknown as Uint8Array, { linkType: "ip" }), undefined);
});
