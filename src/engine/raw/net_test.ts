import assert from "node:assert/strict";
import { formatAddress, rawAvailable, writeRawSockaddr } from "./net.ts";

Deno.test("sockaddrs and address text", () => {
  const buffer = new Uint8Array(32);
  assert.equal(writeRawSockaddr(buffer, 0xc6336402, 80), 16);
  assert.deepEqual([...buffer.subarray(0, 8)], [2, 0, 0, 80, 198, 51, 100, 2]);
  const v6 = new Uint8Array(16);
  v6[0] = 0x20;
  v6[1] = 0x01;
  v6[15] = 1;
  assert.equal(writeRawSockaddr(buffer, v6), 28);
  assert.equal(buffer[0], 10);
  assert.deepEqual([...buffer.subarray(8, 24)], [...v6]);
  assert.equal(formatAddress(0xc6336402), "198.51.100.2");
  assert.equal(formatAddress(v6), "2001::1");
});

Deno.test("rawAvailable answers in one line either way", () => {
  const result = rawAvailable();
  if (result.ok) {
    assert.equal(Deno.uid(), 0);
  } else {
    assert.match(result.why, /raw scans need/);
    assert.ok(!result.why.includes("\n"));
  }
});
