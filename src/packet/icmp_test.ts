import assert from "node:assert/strict";
import {
  buildEchoRequest,
  buildIcmpMessage,
  buildIcmpPacket,
  buildNeighborSolicitation,
  icmpReason,
  IcmpType,
  Icmpv6Type,
  ipv6MulticastMac,
  parseIcmpMessage,
  parseQuotedProbe,
  solicitedNodeAddress,
} from "./icmp.ts";
import { internetChecksum, transportChecksum } from "./checksum.ts";
import { buildSynProbe } from "./tcp.ts";
import { buildUdpPacket } from "./udp.ts";
import {
  DST4,
  DST6,
  ECHO4,
  ECHO6,
  fromHex,
  MAC1,
  NS,
  SRC4,
  SRC6,
  toHex,
} from "./testdata/scapy_packets.ts";

const ROUTER4 = 0xc6336464; // 198.51.100.100
const ROUTER6 = fromHex("20010db80000000000000000000000ff");
const PING = new TextEncoder().encode("ping");

Deno.test("buildEchoRequest() matches scapy over IPv4 and IPv6", () => {
  const fields = { id: 0xbeef, seq: 7, payload: PING };
  assert.equal(toHex(buildEchoRequest({ ...fields, src: SRC4, dst: DST4 })), ECHO4);
  assert.equal(toHex(buildEchoRequest({ ...fields, src: SRC6, dst: DST6 })), ECHO6);
});

Deno.test("buildNeighborSolicitation() matches scapy's frame", () => {
  const frame = buildNeighborSolicitation({ src: SRC6, target: DST6, srcMac: MAC1 });
  assert.equal(toHex(frame), NS);
});

Deno.test("solicitedNodeAddress() and ipv6MulticastMac()", () => {
  const target = fromHex("20010db8000000000000000000abcdef");
  assert.equal(toHex(solicitedNodeAddress(target)), "ff0200000000000000000001ffabcdef");
  assert.equal(toHex(ipv6MulticastMac(solicitedNodeAddress(target))), "3333ffabcdef");
});

Deno.test("buildIcmpMessage() checksums ICMPv4 alone and ICMPv6 with its pseudo-header", () => {
  const v4 = buildIcmpMessage({ src: SRC4, dst: DST4, type: 8, rest: 0x00010002 });
  assert.equal(internetChecksum(v4), 0);
  const v6 = buildIcmpMessage({ src: SRC6, dst: DST6, type: 128, body: PING });
  assert.equal(transportChecksum(v6, { src: SRC6, dst: DST6, protocol: 58 }), 0);
  assert.notEqual(internetChecksum(v6), 0);
});

Deno.test("parseIcmpMessage() reads echo replies and requests", () => {
  const reply = buildIcmpMessage({ src: DST4, dst: SRC4, type: 0, rest: 0xbeef0007, body: PING });
  assert.deepEqual(parseIcmpMessage(reply, 4), {
    kind: "echo-reply",
    type: 0,
    code: 0,
    id: 0xbeef,
    seq: 7,
    payloadOffset: 8,
    payloadEnd: 12,
  });
  const request6 = fromHex(ECHO6);
  assert.equal(parseIcmpMessage(request6, 6, { offset: 40 })?.kind, "echo-request");
  // An ICMPv4 echo-reply type number means nothing special in ICMPv6.
  assert.equal(parseIcmpMessage(reply, 6)?.kind, "other");
});

Deno.test("a port unreachable quoting our UDP probe gives back its tuple", () => {
  const probe = buildUdpPacket({
    src: SRC4,
    dst: DST4,
    srcPort: 41000,
    dstPort: 161,
    ttl: 50,
    id: 99,
  });
  const error = buildIcmpMessage({
    src: DST4,
    dst: SRC4,
    type: 3,
    code: 3,
    body: probe.subarray(0, 28),
  });
  const message = parseIcmpMessage(error, 4);
  assert.deepEqual(message, {
    kind: "error",
    type: 3,
    code: 3,
    reason: "port-unreach",
    quoted: {
      family: 4,
      src: SRC4,
      dst: DST4,
      protocol: 17,
      ttl: 50,
      ipId: 99,
      srcPort: 41000,
      dstPort: 161,
    },
  });
});

Deno.test("a time exceeded quoting a SYN gives back ports and sequence number", () => {
  const probe = buildSynProbe({
    src: SRC4,
    dst: DST4,
    srcPort: 40001,
    dstPort: 22,
    seq: 0xabcdef01,
    ttl: 1,
  });
  const packet = buildIcmpPacket({
    src: ROUTER4,
    dst: SRC4,
    type: IcmpType.TimeExceeded,
    body: probe.subarray(0, 28),
  });
  const message = parseIcmpMessage(packet, 4, { offset: 20 });
  assert.equal(message?.kind, "error");
  if (message?.kind !== "error") return;
  assert.equal(message.reason, "time-exceeded");
  assert.equal(message.quoted?.dst, DST4);
  assert.equal(message.quoted?.srcPort, 40001);
  assert.equal(message.quoted?.dstPort, 22);
  assert.equal(message.quoted?.seq, 0xabcdef01);
});

Deno.test("a quote of only 4 transport bytes gives ports but no sequence number", () => {
  const probe = buildSynProbe({ src: SRC4, dst: DST4, srcPort: 40001, dstPort: 22, seq: 5 });
  const error = buildIcmpMessage({
    src: DST4,
    dst: SRC4,
    type: 3,
    code: 13,
    body: probe.subarray(0, 24),
  });
  const message = parseIcmpMessage(error, 4);
  assert.ok(message?.kind === "error" && message.quoted);
  assert.equal(message.reason, "admin-prohibited");
  assert.equal(message.quoted.dstPort, 22);
  assert.equal(message.quoted.seq, undefined);
  // With the IP header cut short, nothing can be matched.
  const short = buildIcmpMessage({
    src: DST4,
    dst: SRC4,
    type: 3,
    code: 1,
    body: probe.subarray(0, 19),
  });
  const shortMessage = parseIcmpMessage(short, 4);
  assert.equal(shortMessage?.kind, "error");
  assert.equal(shortMessage?.kind === "error" && shortMessage.quoted, undefined);
});

Deno.test("an ICMPv6 unreachable quoting our IPv6 SYN and an echo request", () => {
  const probe = buildSynProbe({ src: SRC6, dst: DST6, srcPort: 40002, dstPort: 25, seq: 77 });
  const error = buildIcmpMessage({ src: ROUTER6, dst: SRC6, type: 1, code: 1, body: probe });
  const message = parseIcmpMessage(error, 6);
  assert.ok(message?.kind === "error" && message.quoted);
  assert.equal(message.reason, "admin-prohibited");
  assert.deepEqual(message.quoted.dst, DST6);
  assert.equal(message.quoted.seq, 77);
  const echo = buildEchoRequest({ src: SRC6, dst: DST6, id: 0x1234, seq: 0x5678 });
  const exceeded = buildIcmpMessage({ src: ROUTER6, dst: SRC6, type: 3, body: echo });
  const quoted = parseQuotedProbe(exceeded, 6, { offset: 8 });
  assert.equal(quoted?.protocol, 58);
  assert.equal(quoted?.icmpType, 128);
  assert.equal(quoted?.icmpId, 0x1234);
  assert.equal(quoted?.icmpSeq, 0x5678);
  // An IPv4 quote inside ICMPv6 is not ours.
  assert.equal(
    parseQuotedProbe(buildSynProbe({ src: SRC4, dst: DST4, srcPort: 1, dstPort: 2, seq: 3 }), 6),
    undefined,
  );
});

Deno.test("parseIcmpMessage() reads a neighbour advertisement with its MAC", () => {
  const body = new Uint8Array(24);
  body.set(DST6, 0);
  body.set([2, 1, 0x02, 0, 0, 0, 0, 0x05], 16);
  const na = buildIcmpMessage({
    src: DST6,
    dst: SRC6,
    type: Icmpv6Type.NeighborAdvertisement,
    rest: 0x60000000,
    body,
  });
  assert.deepEqual(parseIcmpMessage(na, 6), {
    kind: "neighbor-advertisement",
    type: 136,
    code: 0,
    router: false,
    solicited: true,
    override: true,
    target: DST6,
    mac: fromHex("020000000005"),
  });
  // Options with a zero length end the walk instead of looping.
  const zero = na.slice();
  zero[8 + 16 + 1] = 0;
  const parsed = parseIcmpMessage(zero, 6);
  assert.ok(parsed?.kind === "neighbor-advertisement");
  assert.equal(parsed.mac, undefined);
  assert.equal(parseIcmpMessage(na.subarray(0, 23), 6), undefined);
});

Deno.test("parseIcmpMessage() rejects messages shorter than 8 bytes", () => {
  assert.equal(parseIcmpMessage(new Uint8Array(7), 4), undefined);
  assert.equal(parseIcmpMessage(new Uint8Array(8), 4, { offset: 1 }), undefined);
  assert.equal(parseIcmpMessage(new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0]), 4)?.kind, "other");
});

Deno.test("icmpReason() names (type, code) as nmap does", () => {
  const v4: [number, number, string][] = [
    [0, 0, "echo-reply"],
    [3, 0, "net-unreach"],
    [3, 1, "host-unreach"],
    [3, 2, "proto-unreach"],
    [3, 3, "port-unreach"],
    [3, 4, "dest-unreach"],
    [3, 9, "net-prohibited"],
    [3, 10, "host-prohibited"],
    [3, 13, "admin-prohibited"],
    [3, 15, "dest-unreach"],
    [4, 0, "source-quench"],
    [11, 0, "time-exceeded"],
    [11, 1, "time-exceeded"],
    [14, 0, "timestamp-reply"],
    [12, 0, "unknown-response"],
  ];
  for (const [type, code, reason] of v4) {
    assert.equal(icmpReason(4, type, code), reason, `${type}/${code}`);
  }
  const v6: [number, number, string][] = [
    [129, 0, "echo-reply"],
    [1, 0, "no-route"],
    [1, 1, "admin-prohibited"],
    [1, 2, "beyond-scope"],
    [1, 3, "host-unreach"],
    [1, 4, "port-unreach"],
    [1, 5, "admin-prohibited"],
    [1, 6, "reject-route"],
    [1, 7, "dest-unreach"],
    [3, 0, "time-exceeded"],
    [4, 0, "param-problem"],
    [136, 0, "nd-response"],
    [2, 0, "unknown-response"],
  ];
  for (const [type, code, reason] of v6) {
    assert.equal(icmpReason(6, type, code), reason, `${type}/${code}`);
  }
});
