import assert from "node:assert/strict";
import { buildIpv4Packet, IPV4_HEADER_LENGTH, parseIpv4Header, writeIpv4Header } from "./ipv4.ts";
import { internetChecksum } from "./checksum.ts";
import { DST4, fromHex, SRC4, SYN4, toHex } from "./testdata/scapy_packets.ts";

Deno.test("writeIpv4Header() matches scapy's header byte for byte", () => {
  const reference = fromHex(SYN4);
  const packet = buildIpv4Packet(
    { src: SRC4, dst: DST4, protocol: 6, ttl: 64, id: 0x1234 },
    reference.subarray(20),
  );
  assert.equal(toHex(packet), SYN4);
});

Deno.test("parseIpv4Header() reads every field", () => {
  const header = parseIpv4Header(fromHex(SYN4));
  assert.deepEqual(header, {
    version: 4,
    headerLength: 20,
    tos: 0,
    totalLength: 44,
    id: 0x1234,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 6,
    checksum: 0x025e,
    src: SRC4,
    dst: DST4,
    payloadOffset: 20,
    payloadEnd: 44,
  });
});

Deno.test("writeIpv4Header() writes flags, TOS, options and a valid checksum", () => {
  const options = new Uint8Array([1, 1, 1, 0]); // NOP NOP NOP EOL
  const packet = buildIpv4Packet(
    {
      src: 1,
      dst: 0xffffffff,
      protocol: 17,
      ttl: 1,
      id: 0xffff,
      tos: 0xb8,
      dontFragment: true,
      options,
    },
    new Uint8Array(3),
  );
  assert.equal(packet.length, 27);
  assert.equal(internetChecksum(packet.subarray(0, 24)), 0);
  const header = parseIpv4Header(packet, { verifyChecksum: true });
  assert.ok(header);
  assert.equal(header.headerLength, 24);
  assert.equal(header.dontFragment, true);
  assert.equal(header.tos, 0xb8);
  assert.equal(header.dst, 0xffffffff);
  assert.equal(header.payloadOffset, 24);
  assert.equal(header.payloadEnd, 27);
});

Deno.test("writeIpv4Header() writes at an offset and rejects what does not fit", () => {
  const buffer = new Uint8Array(30).fill(0xaa);
  assert.equal(
    writeIpv4Header(buffer, { src: SRC4, dst: DST4, protocol: 6, payloadLength: 0 }, 10),
    20,
  );
  assert.equal(buffer[9], 0xaa);
  assert.equal(buffer[10], 0x45);
  assert.throws(
    () => writeIpv4Header(buffer, { src: 1, dst: 2, protocol: 6, payloadLength: 0 }, 11),
    /buffer of 30 bytes is too short/,
  );
  assert.throws(
    () =>
      writeIpv4Header(new Uint8Array(40), {
        src: 1,
        dst: 2,
        protocol: 6,
        payloadLength: 0,
        options: new Uint8Array(3),
      }),
    /options length 3/,
  );
  assert.throws(
    () =>
      writeIpv4Header(new Uint8Array(40), { src: 1, dst: 2, protocol: 6, payloadLength: 65516 }),
    RangeError,
  );
});

Deno.test("parseIpv4Header() rejects malformed headers", () => {
  const good = fromHex(SYN4);
  const broken = (patch: (bytes: Uint8Array) => void): Uint8Array => {
    const copy = good.slice();
    patch(copy);
    return copy;
  };
  assert.equal(parseIpv4Header(good.subarray(0, 19)), undefined, "short");
  assert.equal(parseIpv4Header(broken((b) => (b[0] = 0x65))), undefined, "version 6");
  assert.equal(parseIpv4Header(broken((b) => (b[0] = 0x44))), undefined, "IHL 4");
  assert.equal(parseIpv4Header(broken((b) => (b[0] = 0x4f))), undefined, "IHL past data");
  assert.equal(parseIpv4Header(broken((b) => (b[3] = 19))), undefined, "total < header");
  assert.equal(parseIpv4Header(broken((b) => (b[3] = 45))), undefined, "total > data");
  assert.equal(
    parseIpv4Header(broken((b) => (b[11] = b[11]! ^ 1)), { verifyChecksum: true }),
    undefined,
    "checksum",
  );
  assert.ok(parseIpv4Header(broken((b) => (b[11] = b[11]! ^ 1))), "checksum not asked for");
  assert.equal(parseIpv4Header(good, { offset: -1 }), undefined);
  assert.equal(parseIpv4Header(good, { offset: 30 }), undefined);
  assert.equal(parseIpv4Header(good, { end: 40 }), undefined, "end before total length");
});

Deno.test("parseIpv4Header() accepts a truncated quote when asked, bounded by the data", () => {
  const quote = fromHex(SYN4).subarray(0, 28);
  assert.equal(parseIpv4Header(quote), undefined);
  const header = parseIpv4Header(quote, { truncated: true });
  assert.equal(header?.totalLength, 44);
  assert.equal(header?.payloadEnd, 28);
});

Deno.test("parseIpv4Header() ignores trailing link-layer padding", () => {
  const padded = new Uint8Array(60);
  padded.set(fromHex(SYN4));
  const header = parseIpv4Header(padded);
  assert.equal(header?.payloadEnd, 44);
  assert.equal(IPV4_HEADER_LENGTH, 20);
});
