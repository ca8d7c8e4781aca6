import assert from "node:assert/strict";
import {
  finishChecksum,
  foldSum,
  internetChecksum,
  pseudoHeaderSum,
  sumWords,
  transportChecksum,
  updateChecksum,
  updateChecksum32,
} from "./checksum.ts";
import { DST4, DST6, fromHex, SRC4, SRC6, SYN4, SYN6 } from "./testdata/scapy_packets.ts";

Deno.test("sumWords() follows the RFC 1071 §3 example", () => {
  // 0001 + f203 + f4f5 + f6f7 = 2ddf0, folded ddf2.
  const bytes = fromHex("0001f203f4f5f6f7");
  assert.equal(sumWords(bytes), 0xddf2);
  assert.equal(internetChecksum(bytes), 0x220d);
});

Deno.test("internetChecksum() of a textbook IPv4 header", () => {
  const header = fromHex("450000730000400040110000c0a80001c0a800c7");
  assert.equal(internetChecksum(header), 0xb861);
  header[10] = 0xb8;
  header[11] = 0x61;
  assert.equal(internetChecksum(header), 0);
});

Deno.test("sumWords() pads an odd byte and chains across even pieces", () => {
  assert.equal(sumWords(fromHex("ab")), 0xab00);
  const whole = fromHex("0102030405060708090a0b");
  assert.equal(sumWords(whole.subarray(4), sumWords(whole.subarray(0, 4))), sumWords(whole));
  assert.equal(sumWords(new Uint8Array(0)), 0);
  assert.equal(internetChecksum(new Uint8Array(0)), 0xffff);
});

Deno.test("sumWords() folds long inputs without losing carries", () => {
  const bytes = new Uint8Array(200_001).fill(0xff);
  // 100000 words of ffff plus ff00: every ffff is 0 in one's complement.
  assert.equal(sumWords(bytes), foldSum(100_000 * 0xffff + 0xff00));
  assert.equal(sumWords(bytes), 0xff00);
});

Deno.test("foldSum() and finishChecksum()", () => {
  assert.equal(foldSum(0x1_fffe), 0xffff);
  assert.equal(foldSum(0x2_0000), 2);
  assert.equal(finishChecksum(0xffff), 0);
  assert.equal(finishChecksum(0), 0xffff);
});

Deno.test("transportChecksum() verifies scapy's IPv4 and IPv6 SYNs to 0", () => {
  const syn4 = fromHex(SYN4).subarray(20);
  assert.equal(transportChecksum(syn4, { src: SRC4, dst: DST4, protocol: 6 }), 0);
  const syn6 = fromHex(SYN6).subarray(40);
  assert.equal(transportChecksum(syn6, { src: SRC6, dst: DST6, protocol: 6 }), 0);
  // A different destination breaks it.
  assert.notEqual(transportChecksum(syn4, { src: SRC4, dst: DST4 + 1, protocol: 6 }), 0);
});

Deno.test("pseudoHeaderSum() matches summing the pseudo-header bytes", () => {
  const v4 = fromHex("c6336401cb0071050006001c");
  assert.equal(pseudoHeaderSum({ src: SRC4, dst: DST4, protocol: 6, length: 28 }), sumWords(v4));
  const v6 = new Uint8Array(40);
  v6.set(SRC6, 0);
  v6.set(DST6, 16);
  v6.set([0, 1, 0x23, 0x45, 0, 0, 0, 58], 32);
  assert.equal(
    pseudoHeaderSum({ src: SRC6, dst: DST6, protocol: 58, length: 0x12345 }),
    sumWords(v6),
  );
});

Deno.test("pseudoHeaderSum() rejects mixed families and short IPv6 addresses", () => {
  assert.throws(
    () => pseudoHeaderSum({ src: SRC4, dst: DST6, protocol: 6, length: 20 }),
    RangeError,
  );
  assert.throws(
    () => pseudoHeaderSum({ src: new Uint8Array(4), dst: DST6, protocol: 6, length: 20 }),
    /address lengths 4\/16 are not 16/,
  );
});

Deno.test("updateChecksum() and updateChecksum32() match a full recomputation", () => {
  const packet = fromHex(SYN4);
  const segment = packet.subarray(20);
  const pseudo = { src: SRC4, dst: DST4, protocol: 6 };
  const before = (segment[16]! << 8) | segment[17]!;
  // Re-aim the port and sequence number of the template.
  const newPort = 8443;
  const newSeq = 0xfedcba98;
  let checksum = updateChecksum(before, { from: 443, to: newPort });
  checksum = updateChecksum32(checksum, { from: 0x12345678, to: newSeq });
  segment.set([newPort >> 8, newPort & 0xff], 2);
  segment.set([0xfe, 0xdc, 0xba, 0x98], 4);
  segment[16] = 0;
  segment[17] = 0;
  assert.equal(checksum, transportChecksum(segment, pseudo));
});
