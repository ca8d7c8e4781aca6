import assert from "node:assert/strict";
import {
  addressEquals,
  addressFromHost,
  addressToBigInt,
  formatMac,
  ipv6FromBigInt,
  ipv6ToBigInt,
  parseMac,
} from "./address.ts";
import { fromHex } from "./testdata/scapy_packets.ts";

Deno.test("ipv6FromBigInt() and ipv6ToBigInt() are inverse", () => {
  const value = 0x20010db8000000000000000000000001n;
  const bytes = ipv6FromBigInt(value);
  assert.deepEqual(bytes, fromHex("20010db8000000000000000000000001"));
  assert.equal(ipv6ToBigInt(bytes), value);
  const max = (1n << 128n) - 1n;
  assert.equal(ipv6ToBigInt(ipv6FromBigInt(max)), max);
  assert.throws(() => ipv6FromBigInt(1n << 128n), RangeError);
  assert.throws(() => ipv6ToBigInt(new Uint8Array(4)), /length 4 is not 16/);
});

Deno.test("addressFromHost() and addressToBigInt() follow Host.value", () => {
  assert.equal(addressFromHost({ family: 4, value: 0xc6336401n }), 0xc6336401);
  assert.equal(addressToBigInt(0xffffffff), 0xffffffffn);
  const v6 = addressFromHost({ family: 6, value: 5n });
  assert.ok(v6 instanceof Uint8Array);
  assert.equal(addressToBigInt(v6), 5n);
});

Deno.test("addressEquals() compares within a family only", () => {
  assert.ok(addressEquals(1, 1));
  assert.ok(!addressEquals(1, 2));
  assert.ok(addressEquals(ipv6FromBigInt(7n), ipv6FromBigInt(7n)));
  assert.ok(!addressEquals(ipv6FromBigInt(7n), ipv6FromBigInt(8n)));
  assert.ok(!addressEquals(7, ipv6FromBigInt(7n)));
});

Deno.test("formatMac() and parseMac()", () => {
  assert.equal(formatMac(parseMac("02:00:5E:10:0a:FF")), "02:00:5e:10:0a:ff");
  assert.deepEqual(parseMac("2-0-0-0-0-1"), fromHex("020000000001"));
  assert.throws(() => parseMac("02:00:00:00:00"), /Cannot parse MAC address "02:00:00:00:00"/);
  assert.throws(() => parseMac("02:00:00:00:00:gg"), SyntaxError);
});
