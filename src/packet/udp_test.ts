import assert from "node:assert/strict";
import { buildUdpDatagram, buildUdpPacket, parseUdpHeader, writeUdpPacket } from "./udp.ts";
import { transportChecksum } from "./checksum.ts";
import {
  DST4,
  DST6,
  fromHex,
  SRC4,
  SRC6,
  toHex,
  UDP4,
  UDP4_ZERO_SUM,
  UDP6,
} from "./testdata/scapy_packets.ts";

const PAYLOAD = fromHex("000168656c6c6f");

Deno.test("buildUdpPacket() matches scapy over IPv4 and IPv6", () => {
  const fields = { srcPort: 50000, dstPort: 53, payload: PAYLOAD };
  assert.equal(toHex(buildUdpPacket({ ...fields, src: SRC4, dst: DST4 })), UDP4);
  assert.equal(toHex(buildUdpPacket({ ...fields, src: SRC6, dst: DST6 })), UDP6);
});

Deno.test("a checksum that computes to 0 is sent as 0xffff, as scapy does", () => {
  const packet = buildUdpPacket({
    src: SRC4,
    dst: DST4,
    srcPort: 50000,
    dstPort: 53,
    payload: fromHex("d619"),
  });
  assert.equal(toHex(packet), UDP4_ZERO_SUM);
  assert.equal(packet[26], 0xff);
  assert.equal(packet[27], 0xff);
  // 0xffff is -0: the datagram still verifies.
  assert.equal(transportChecksum(packet.subarray(20), { src: SRC4, dst: DST4, protocol: 17 }), 0);
});

Deno.test("noChecksum sends 0 over IPv4 and is refused over IPv6", () => {
  const datagram = buildUdpDatagram({
    src: SRC4,
    dst: DST4,
    srcPort: 1,
    dstPort: 2,
    noChecksum: true,
  });
  assert.equal(toHex(datagram), "0001000200080000");
  assert.throws(
    () => buildUdpDatagram({ src: SRC6, dst: DST6, srcPort: 1, dstPort: 2, noChecksum: true }),
    /IPv6 requires a checksum/,
  );
});

Deno.test("parseUdpHeader() reads fields and bounds the payload by the length field", () => {
  const padded = new Uint8Array(40);
  padded.set(fromHex(UDP4).subarray(20));
  const header = parseUdpHeader(padded);
  assert.deepEqual(header, {
    srcPort: 50000,
    dstPort: 53,
    length: 15,
    checksum: 0x923c,
    payloadOffset: 8,
    payloadEnd: 15,
  });
});

Deno.test("parseUdpHeader() rejects short data and bad lengths", () => {
  const datagram = fromHex(UDP4).subarray(20);
  assert.equal(parseUdpHeader(datagram.subarray(0, 7)), undefined);
  assert.equal(parseUdpHeader(datagram.subarray(0, 14)), undefined, "length past end");
  assert.equal(parseUdpHeader(datagram.subarray(0, 14), { truncated: true })?.payloadEnd, 14);
  const small = datagram.slice();
  small[5] = 7;
  assert.equal(parseUdpHeader(small), undefined, "length < 8");
});

Deno.test("writeUdpPacket() refuses short buffers and oversize payloads", () => {
  assert.throws(
    () => writeUdpPacket(new Uint8Array(27), { src: SRC4, dst: DST4, srcPort: 1, dstPort: 2 }),
    RangeError,
  );
  assert.throws(
    () =>
      buildUdpDatagram({
        src: SRC4,
        dst: DST4,
        srcPort: 1,
        dstPort: 2,
        payload: new Uint8Array(65528),
      }),
    /length 65536 is > 65535/,
  );
});
