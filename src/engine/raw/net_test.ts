import assert from "node:assert/strict";
import { formatAddress, onLinkInterface, rawAvailable, writeRawSockaddr } from "./net.ts";

const ROUTES = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
veth1\t006433C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
`;

const ROUTES6 =
  `20010db8000100000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     veth1
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0
`;

Deno.test("onLinkInterface picks the longest on-link route, or none behind a gateway", () => {
  assert.equal(onLinkInterface(0xc6336402, { v4: ROUTES }), "veth1"); // 198.51.100.2
  assert.equal(onLinkInterface(0xc0000205, { v4: ROUTES }), "eth0"); // 192.0.2.5
  assert.equal(onLinkInterface(0x08080808, { v4: ROUTES }), undefined); // via the gateway
  const inside = new Uint8Array(16);
  inside.set([0x20, 0x01, 0x0d, 0xb8, 0, 1], 0);
  inside[15] = 2;
  assert.equal(onLinkInterface(inside, { v6: ROUTES6 }), "veth1");
  const outside = inside.slice();
  outside[5] = 9;
  assert.equal(onLinkInterface(outside, { v6: ROUTES6 }), undefined);
});

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
