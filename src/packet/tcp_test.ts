import assert from "node:assert/strict";
import {
  buildAckProbe,
  buildRst,
  buildSynProbe,
  buildTcpPacket,
  buildTcpSegment,
  formatTcpFlags,
  mssOption,
  parseTcpHeader,
  TcpFlag,
  writeTcpPacket,
} from "./tcp.ts";
import { transportChecksum } from "./checksum.ts";
import {
  ACK4,
  DST4,
  DST6,
  fromHex,
  RST4,
  SRC4,
  SRC6,
  SYN4,
  SYN6,
  toHex,
} from "./testdata/scapy_packets.ts";

const SYN_FIELDS = { srcPort: 40000, dstPort: 443, seq: 0x12345678 };

Deno.test("buildSynProbe() matches scapy's IPv4 SYN byte for byte", () => {
  const packet = buildSynProbe({ ...SYN_FIELDS, src: SRC4, dst: DST4, id: 0x1234 });
  assert.equal(toHex(packet), SYN4);
});

Deno.test("buildSynProbe() matches scapy's IPv6 SYN byte for byte", () => {
  const packet = buildSynProbe({ ...SYN_FIELDS, src: SRC6, dst: DST6 });
  assert.equal(toHex(packet), SYN6);
});

Deno.test("buildAckProbe() and buildRst() match scapy", () => {
  const ack = buildAckProbe({
    src: SRC4,
    dst: DST4,
    srcPort: 33000,
    dstPort: 80,
    seq: 0,
    ack: 0xcafebabe,
    ttl: 52,
    id: 7,
  });
  assert.equal(toHex(ack), ACK4);
  const rst = buildRst({ src: SRC4, dst: DST4, srcPort: 40000, dstPort: 443, seq: 0x12345679 });
  assert.equal(toHex(rst), RST4);
});

Deno.test("buildTcpSegment() is the IPv6 SYN without its IP header", () => {
  const segment = buildTcpSegment({
    ...SYN_FIELDS,
    src: SRC6,
    dst: DST6,
    flags: TcpFlag.Syn,
    options: mssOption(1460),
  });
  assert.equal(toHex(segment), SYN6.slice(80));
});

Deno.test("parseTcpHeader() reads the fields and the MSS option", () => {
  const header = parseTcpHeader(fromHex(SYN4), { offset: 20 });
  assert.deepEqual(header, {
    srcPort: 40000,
    dstPort: 443,
    seq: 0x12345678,
    ack: 0,
    headerLength: 24,
    flags: TcpFlag.Syn,
    window: 1024,
    checksum: 0x2744,
    urgent: 0,
    mss: 1460,
    payloadOffset: 44,
    payloadEnd: 44,
  });
});

Deno.test("parseTcpHeader() skips NOPs and other options before MSS, and stops at EOL", () => {
  const options = new Uint8Array([1, 1, 4, 2, 3, 3, 7, 0, 2, 4, 0x05, 0x78]);
  const segment = buildTcpSegment({
    src: SRC4,
    dst: DST4,
    srcPort: 1,
    dstPort: 2,
    seq: 3,
    flags: TcpFlag.Syn | TcpFlag.Ack,
    options,
  });
  assert.equal(parseTcpHeader(segment)?.mss, undefined, "EOL before MSS");
  options[7] = 1;
  const again = buildTcpSegment({
    src: SRC4,
    dst: DST4,
    srcPort: 1,
    dstPort: 2,
    seq: 3,
    flags: 0,
    options,
  });
  assert.equal(parseTcpHeader(again)?.mss, 0x578);
  // An option whose length runs past the header is not followed.
  const bad = buildTcpSegment({
    src: SRC4,
    dst: DST4,
    srcPort: 1,
    dstPort: 2,
    seq: 3,
    flags: 0,
    options: new Uint8Array([8, 10, 0, 0]),
  });
  const parsed = parseTcpHeader(bad);
  assert.ok(parsed);
  assert.equal(parsed.mss, undefined);
});

Deno.test("parseTcpHeader() rejects short segments and bad data offsets", () => {
  const segment = fromHex(SYN4).subarray(20);
  assert.equal(parseTcpHeader(segment.subarray(0, 19)), undefined);
  assert.equal(parseTcpHeader(segment.subarray(0, 23)), undefined, "options cut off");
  const low = segment.slice();
  low[12] = 0x40;
  assert.equal(parseTcpHeader(low), undefined);
  assert.equal(parseTcpHeader(segment, { offset: -1 }), undefined);
});

Deno.test("build→parse keeps every field, with payload and custom window", () => {
  const payload = new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n");
  const packet = buildTcpPacket({
    src: SRC6,
    dst: DST6,
    srcPort: 65535,
    dstPort: 1,
    seq: 0xffffffff,
    ack: 0x80000000,
    flags: TcpFlag.Psh | TcpFlag.Ack,
    window: 65535,
    urgent: 9,
    payload,
    ttl: 3,
  });
  const header = parseTcpHeader(packet, { offset: 40 });
  assert.ok(header);
  assert.equal(header.seq, 0xffffffff);
  assert.equal(header.ack, 0x80000000);
  assert.equal(header.flags, TcpFlag.Psh | TcpFlag.Ack);
  assert.equal(header.urgent, 9);
  assert.deepEqual(packet.subarray(header.payloadOffset, header.payloadEnd), payload);
  assert.equal(transportChecksum(packet.subarray(40), { src: SRC6, dst: DST6, protocol: 6 }), 0);
});

Deno.test("writeTcpPacket() writes into a buffer at an offset and checks room", () => {
  const buffer = new Uint8Array(100);
  const length = writeTcpPacket(buffer, { ...SYN_FIELDS, src: SRC4, dst: DST4, flags: 2 }, 14);
  assert.equal(length, 40);
  assert.throws(
    () => writeTcpPacket(new Uint8Array(30), { ...SYN_FIELDS, src: SRC4, dst: DST4, flags: 2 }),
    RangeError,
  );
  assert.throws(
    () => buildTcpPacket({ ...SYN_FIELDS, src: SRC4, dst: DST6, flags: 2 }),
    /families differ/,
  );
});

Deno.test("formatTcpFlags() spells flags as nmap does", () => {
  assert.equal(formatTcpFlags(TcpFlag.Syn | TcpFlag.Ack), "SA");
  assert.equal(formatTcpFlags(TcpFlag.Rst | TcpFlag.Ack), "AR");
  assert.equal(formatTcpFlags(0), "");
  assert.equal(formatTcpFlags(0xff), "SAFRPUEC");
});
