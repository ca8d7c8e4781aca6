import assert from "node:assert/strict";
import { addressSortKey, hostSortKey } from "./sort_key.ts";

Deno.test("addressSortKey and hostSortKey agree", () => {
  assert.equal(addressSortKey("198.51.100.2"), hostSortKey({ family: 4, value: 0xc6336402n }));
  assert.equal(
    addressSortKey("2001:db8::2"),
    hostSortKey({ family: 6, value: 0x20010db8000000000000000000000002n }),
  );
  assert.equal(addressSortKey("::"), 1n << 32n);
  assert.equal(
    addressSortKey("fe80::1%eth0"),
    hostSortKey({ family: 6, value: (0xfe80n << 112n) + 1n }),
  );
  assert.equal(addressSortKey("example.com"), undefined);
  assert.equal(addressSortKey("1:2:3:4:5:6:7:8:9"), undefined);
  assert.equal(addressSortKey("256.1.1.1"), undefined);
});
