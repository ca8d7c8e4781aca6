import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: not in deno.json, so the scanner never fetches it
import fc from "npm:fast-check@4.11.0";
import {
  buildArpReply,
  buildIcmpPacket,
  buildTcpPacket,
  buildUdpPacket,
  createCookieKey,
  IcmpType,
  IpProtocol,
  parseReply,
  probeIdentity,
  TcpFlag,
} from "../../packet/mod.ts";
import { ReplyKind, type ReplyRecord } from "./types.ts";
import {
  createTcp4Scratch,
  FRAME_OTHER,
  FRAME_RECORD,
  FRAME_REJECTED,
  readTcp4Frame,
  validateReply,
} from "./validate.ts";
import { fuzzBudget } from "../../testing/fuzz.ts";

const key = createCookieKey();
const us = 0xc6336401;
const them = 0xc6336402;
const ports = { first: 32768, last: 60999 };
const config = { key, ports, attempts: 4, addresses: [us] };

function reply(packet: Uint8Array): ReturnType<typeof parseReply> & object {
  const parsed = parseReply(packet, { linkType: "ip" });
  assert.ok(parsed);
  return parsed;
}

Deno.test("a SYN-ACK acknowledging our cookie is open, with the attempt answered", () => {
  const id = probeIdentity(key, { src: us, dst: them, dstPort: 443 }, { ports, attempt: 2 });
  const synAck = buildTcpPacket({
    src: them,
    dst: us,
    srcPort: 443,
    dstPort: id.srcPort,
    seq: 12345,
    ack: (id.seq + 1) >>> 0,
    flags: TcpFlag.Syn | TcpFlag.Ack,
  });
  const record = validateReply(reply(synAck), config, 5);
  assert.equal(record?.kind, ReplyKind.SynAck);
  assert.equal(record?.port, 443);
  assert.equal(record?.attempt, 2);
  assert.equal(record?.address, them);
  const forged = buildTcpPacket({
    src: them,
    dst: us,
    srcPort: 443,
    dstPort: id.srcPort,
    seq: 1,
    ack: (id.seq + 2) >>> 0,
    flags: TcpFlag.Rst | TcpFlag.Ack,
  });
  assert.equal(validateReply(reply(forged), config, 5), undefined);
});

Deno.test("an ICMP error quoting our UDP probe names the probed port and who sent it", () => {
  const id = probeIdentity(key, { src: us, dst: them, dstPort: 161, protocol: IpProtocol.Udp }, {
    ports,
  });
  const probe = buildUdpPacket({ src: us, dst: them, srcPort: id.srcPort, dstPort: 161 });
  const fromTarget = buildIcmpPacket({
    src: them,
    dst: us,
    type: IcmpType.DestinationUnreachable,
    code: 3,
    body: probe,
  });
  const record = validateReply(reply(fromTarget), config, 5);
  assert.equal(record?.kind, ReplyKind.IcmpError);
  assert.equal(record?.reason, "port-unreach");
  assert.equal(record?.port, 161);
  assert.equal(record?.protocol, IpProtocol.Udp);
  assert.equal(record?.fromTarget, true);
  const fromRouter = buildIcmpPacket({
    src: 0x0a000001,
    dst: us,
    type: IcmpType.DestinationUnreachable,
    code: 1,
    body: probe,
  });
  const routed = validateReply(reply(fromRouter), config, 5);
  assert.equal(routed?.reason, "host-unreach");
  assert.equal(routed?.fromTarget, false);
  assert.equal(routed?.address, them);
});

Deno.test("a UDP reply from the probed port to our slot is an answer; others are not", () => {
  const id = probeIdentity(key, { src: us, dst: them, dstPort: 53, protocol: IpProtocol.Udp }, {
    ports,
    attempt: 1,
  });
  const answer = buildUdpPacket({ src: them, dst: us, srcPort: 53, dstPort: id.srcPort });
  assert.equal(validateReply(reply(answer), config, 5)?.attempt, 1);
  const stray = buildUdpPacket({ src: them, dst: us, srcPort: 54, dstPort: id.srcPort });
  assert.equal(validateReply(reply(stray), config, 5), undefined);
});

/** An Ethernet frame around an IP packet, as the receive socket hands it over. */
function frame(packet: Uint8Array, etherType = 0x0800): Uint8Array {
  const bytes = new Uint8Array(14 + packet.length);
  bytes[12] = etherType >>> 8;
  bytes[13] = etherType & 0xff;
  bytes.set(packet, 14);
  return bytes;
}

/** The full parse's verdict on a frame. */
function slow(bytes: Uint8Array): ReplyRecord | undefined {
  const parsed = parseReply(bytes, { linkType: "ethernet" });
  return parsed === undefined ? undefined : validateReply(parsed, config, 5);
}

/** The fast path's verdict, or "other" when it leaves the frame to the full parse. */
function fast(bytes: Uint8Array): ReplyRecord | undefined | "other" {
  const scratch = createTcp4Scratch();
  const result = readTcp4Frame(bytes, config, 5, scratch);
  if (result === FRAME_OTHER) return "other";
  return result === FRAME_RECORD ? { ...scratch.record } : undefined;
}

function tcpReply(port: number, attempt: number, flags: number, wrongCookie = false): Uint8Array {
  const id = probeIdentity(key, { src: us, dst: them, dstPort: port }, { ports, attempt });
  const cookie = wrongCookie ? id.seq + 7 : id.seq;
  return buildTcpPacket({
    src: them,
    dst: us,
    srcPort: port,
    dstPort: id.srcPort,
    seq: flags & TcpFlag.Ack ? 99 : cookie,
    ack: flags & TcpFlag.Ack ? (cookie + 1) >>> 0 : 0,
    flags,
  });
}

Deno.test("the IPv4 TCP fast path gives the full parse's records", () => {
  const cases = [
    tcpReply(443, 0, TcpFlag.Syn | TcpFlag.Ack),
    tcpReply(1, 3, TcpFlag.Rst | TcpFlag.Ack),
    tcpReply(65535, 1, TcpFlag.Rst),
    tcpReply(80, 0, TcpFlag.Syn | TcpFlag.Ack, true),
    tcpReply(80, 0, TcpFlag.Ack),
  ];
  const verdicts = cases.map((packet) => fast(frame(packet)));
  assert.equal((verdicts[0] as ReplyRecord).kind, ReplyKind.SynAck);
  assert.equal((verdicts[1] as ReplyRecord).attempt, 3);
  assert.equal((verdicts[2] as ReplyRecord).kind, ReplyKind.Reset);
  assert.deepEqual(verdicts.slice(3), [undefined, undefined]);
  for (const [i, packet] of cases.entries()) {
    assert.deepEqual(verdicts[i], slow(frame(packet)), `case ${i}`);
  }
  const scratch = createTcp4Scratch();
  assert.equal(readTcp4Frame(frame(cases[3]!), config, 5, scratch), FRAME_REJECTED);
});

Deno.test("the fast path leaves IPv6, ICMP, fragments and odd headers to the full parse", () => {
  const synAck = tcpReply(443, 0, TcpFlag.Syn | TcpFlag.Ack);
  const fragment = synAck.slice();
  fragment[6] = 0x20; // more fragments
  const options = new Uint8Array(synAck.length + 4);
  options.set(synAck.subarray(0, 20));
  options[0] = 0x46;
  options[3] = synAck[3]! + 4;
  options.set(synAck.subarray(20), 24);
  const icmp = buildIcmpPacket({ src: them, dst: us, type: IcmpType.EchoReply, code: 0 });
  for (const bytes of [frame(fragment), frame(icmp), frame(synAck, 0x86dd), synAck]) {
    assert.equal(fast(bytes), "other");
  }
  // IP options are read past; the answer is the same as without them.
  assert.deepEqual(fast(frame(options)), slow(frame(synAck)));
});

Deno.test("property: wherever the fast path answers, it agrees with the full parse", () => {
  const base = [
    tcpReply(443, 0, TcpFlag.Syn | TcpFlag.Ack),
    tcpReply(22, 2, TcpFlag.Rst | TcpFlag.Ack),
  ].map((packet) => frame(packet));
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 1 }),
      fc.array(fc.tuple(fc.nat(80), fc.nat(255)), { maxLength: 4 }),
      // Mostly whole frames: a cut one is the full parse's business.
      fc.constantFrom(0, 0, 0, 1, 4, 20),
      (which, edits, cut) => {
        const bytes = base[which]!.slice(0, base[which]!.length - cut);
        for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
        const quick = fast(bytes);
        if (quick !== "other") assert.deepEqual(quick, slow(bytes));
      },
    ),
    fuzzBudget(5000, 20261203),
  );
});

Deno.test("an ARP reply to us is arp-response, carrying the sender's MAC", () => {
  const frame = buildArpReply({
    srcMac: new Uint8Array([0x32, 0x28, 0x85, 0x3d, 0xf7, 0xa7]),
    srcIp: them,
    dstMac: new Uint8Array([2, 0, 0, 0, 0, 1]),
    dstIp: us,
  });
  const parsed = parseReply(frame, { linkType: "ethernet" });
  assert.ok(parsed);
  const record = validateReply(parsed, config, 5);
  assert.equal(record?.reason, "arp-response");
  assert.equal(record?.mac, 0x3228853df7a7);
  // Not addressed to one of ours: ignored.
  const other = parseReply(
    buildArpReply({
      srcMac: new Uint8Array(6),
      srcIp: them,
      dstMac: new Uint8Array(6),
      dstIp: us + 7,
    }),
    { linkType: "ethernet" },
  );
  assert.ok(other);
  assert.equal(validateReply(other, config, 5), undefined);
});
