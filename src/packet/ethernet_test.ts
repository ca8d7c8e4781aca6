import assert from "node:assert/strict";
import { buildEthernetFrame, parseEthernetHeader, writeEthernetHeader } from "./ethernet.ts";
import { BROADCAST_MAC } from "./address.ts";
import { fromHex, MAC1, toHex } from "./testdata/scapy_packets.ts";

Deno.test("buildEthernetFrame() → parseEthernetHeader() round trip", () => {
  const frame = buildEthernetFrame(
    { dst: BROADCAST_MAC, src: MAC1, etherType: 0x0806 },
    new Uint8Array([1, 2]),
  );
  assert.equal(toHex(frame), "ffffffffffff0200000000010806" + "0102");
  assert.deepEqual(parseEthernetHeader(frame), {
    dst: BROADCAST_MAC,
    src: MAC1,
    etherType: 0x0806,
    payloadOffset: 14,
  });
});

Deno.test("parseEthernetHeader() skips one or two VLAN tags", () => {
  const single = fromHex("ffffffffffff020000000001" + "8100" + "0064" + "0800" + "45");
  assert.equal(parseEthernetHeader(single)?.etherType, 0x0800);
  assert.equal(parseEthernetHeader(single)?.payloadOffset, 18);
  const double = fromHex("ffffffffffff020000000001" + "88a8" + "0001" + "8100" + "0064" + "86dd");
  assert.equal(parseEthernetHeader(double)?.etherType, 0x86dd);
  assert.equal(parseEthernetHeader(double)?.payloadOffset, 22);
  assert.equal(parseEthernetHeader(double.subarray(0, 21)), undefined);
  assert.equal(parseEthernetHeader(new Uint8Array(13)), undefined);
});

Deno.test("writeEthernetHeader() checks MAC lengths and room", () => {
  const fields = { dst: BROADCAST_MAC, src: MAC1, etherType: 0x0800 };
  assert.throws(() => writeEthernetHeader(new Uint8Array(13), fields), /too short/);
  assert.throws(
    () => writeEthernetHeader(new Uint8Array(14), { ...fields, src: new Uint8Array(5) }),
    /MAC lengths 6\/5/,
  );
});
