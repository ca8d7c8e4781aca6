import assert from "node:assert/strict";
import { buildIpv6Packet, parseIpv6Header, writeIpv6Header } from "./ipv6.ts";
import { DST6, fromHex, SRC6, SYN6, toHex } from "./testdata/scapy_packets.ts";

Deno.test("buildIpv6Packet() matches scapy's header byte for byte", () => {
  const reference = fromHex(SYN6);
  const packet = buildIpv6Packet(
    { src: SRC6, dst: DST6, nextHeader: 6, hopLimit: 64 },
    reference.subarray(40),
  );
  assert.equal(toHex(packet), SYN6);
});

Deno.test("parseIpv6Header() reads every field", () => {
  const packet = buildIpv6Packet(
    { src: SRC6, dst: DST6, nextHeader: 17, hopLimit: 7, trafficClass: 0xab, flowLabel: 0xcdef1 },
    new Uint8Array(12),
  );
  const header = parseIpv6Header(packet);
  assert.deepEqual(header, {
    version: 6,
    trafficClass: 0xab,
    flowLabel: 0xcdef1,
    payloadLength: 12,
    nextHeader: 17,
    hopLimit: 7,
    src: SRC6,
    dst: DST6,
    protocol: 17,
    payloadOffset: 40,
    payloadEnd: 52,
  });
});

/** An IPv6 packet whose payload starts with the given extension headers. */
function withExtensions(extensions: Uint8Array, first: number, upper: Uint8Array): Uint8Array {
  const payload = new Uint8Array(extensions.length + upper.length);
  payload.set(extensions);
  payload.set(upper, extensions.length);
  return buildIpv6Packet({ src: SRC6, dst: DST6, nextHeader: first }, payload);
}

Deno.test("parseIpv6Header() walks hop-by-hop, destination options and a first fragment", () => {
  const extensions = new Uint8Array([
    60,
    0,
    1,
    4,
    0,
    0,
    0,
    0, // hop-by-hop (8 bytes) → destination options
    44,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0, // destination options (16 bytes) → fragment
    6,
    0,
    0,
    1,
    0,
    0,
    0,
    42, // fragment offset 0, M set → TCP
  ]);
  const packet = withExtensions(extensions, 0, new Uint8Array(20));
  const header = parseIpv6Header(packet);
  assert.equal(header?.nextHeader, 0);
  assert.equal(header?.protocol, 6);
  assert.equal(header?.payloadOffset, 40 + 32);
});

Deno.test("parseIpv6Header() stops at a later fragment", () => {
  const fragment = new Uint8Array([6, 0, 0, 0x08, 0, 0, 0, 1]); // offset 1 (8 bytes)
  const header = parseIpv6Header(withExtensions(fragment, 44, new Uint8Array(8)));
  assert.equal(header?.protocol, 44);
});

Deno.test("parseIpv6Header() rejects chains that run past the data or loop too long", () => {
  const overlong = new Uint8Array([6, 3, 0, 0, 0, 0, 0, 0]); // says 32 bytes, has 8
  assert.equal(parseIpv6Header(withExtensions(overlong, 60, new Uint8Array(0))), undefined);
  const chain = new Uint8Array(8 * 9);
  for (let i = 0; i < 9; i++) chain[i * 8] = 60;
  assert.equal(parseIpv6Header(withExtensions(chain, 60, new Uint8Array(0))), undefined);
  const eight = new Uint8Array(8 * 8);
  for (let i = 0; i < 8; i++) eight[i * 8] = i === 7 ? 17 : 60;
  assert.equal(parseIpv6Header(withExtensions(eight, 60, new Uint8Array(8)))?.protocol, 17);
});

Deno.test("parseIpv6Header() rejects malformed headers and honours truncation", () => {
  const good = fromHex(SYN6);
  assert.equal(parseIpv6Header(good.subarray(0, 39)), undefined);
  const v4 = good.slice();
  v4[0] = 0x45;
  assert.equal(parseIpv6Header(v4), undefined);
  const cut = good.subarray(0, 48);
  assert.equal(parseIpv6Header(cut), undefined);
  assert.equal(parseIpv6Header(cut, { truncated: true })?.payloadEnd, 48);
  assert.equal(parseIpv6Header(good, { offset: 1 }), undefined);
});

Deno.test("writeIpv6Header() rejects bad addresses, lengths and short buffers", () => {
  const fields = { src: SRC6, dst: DST6, nextHeader: 6, payloadLength: 0 };
  assert.throws(() => writeIpv6Header(new Uint8Array(39), fields), /too short/);
  assert.throws(
    () => writeIpv6Header(new Uint8Array(40), { ...fields, src: new Uint8Array(4) }),
    /address lengths 4\/16/,
  );
  assert.throws(
    () => writeIpv6Header(new Uint8Array(40), { ...fields, payloadLength: 70000 }),
    /payload length 70000/,
  );
});
