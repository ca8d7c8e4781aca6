import assert from "node:assert/strict";
import { formatIp, formatIpv4, formatIpv6, parseIp, parseIpv4, parseIpv6 } from "./ip.ts";

Deno.test("parseIpv4 reads dotted quads", () => {
  assert.equal(parseIpv4("0.0.0.0"), 0);
  assert.equal(parseIpv4("1.2.3.4"), 0x01020304);
  assert.equal(parseIpv4("255.255.255.255"), 0xffffffff);
});

Deno.test("parseIpv4 rejects bad octets with precise messages", () => {
  assert.throws(() => parseIpv4("300.1.2.3", { subject: "target" }), {
    name: "RangeError",
    message: 'Cannot parse target "300.1.2.3": octet 300 is > 255',
  });
  assert.throws(() => parseIpv4("1.2.3"), {
    name: "SyntaxError",
    message: 'Cannot parse address "1.2.3": expected 4 dot-separated octets, got 3',
  });
  assert.throws(() => parseIpv4("1.2..4"), { name: "SyntaxError", message: /empty octet/ });
  assert.throws(() => parseIpv4("1.2.x.4"), {
    name: "SyntaxError",
    message: /"x" is not a decimal/,
  });
  assert.throws(() => parseIpv4("1.2.03.4"), { name: "SyntaxError", message: /leading zero/ });
});

Deno.test("parseIpv6 reads full, compressed and mixed forms", () => {
  assert.equal(parseIpv6("::"), 0n);
  assert.equal(parseIpv6("::1"), 1n);
  assert.equal(parseIpv6("1::"), 1n << 112n);
  assert.equal(parseIpv6("2001:DB8:0:0:0:0:0:1"), parseIpv6("2001:db8::1"));
  assert.equal(parseIpv6("2001:db8::1"), (0x20010db8n << 96n) | 1n);
  assert.equal(parseIpv6("::ffff:1.2.3.4"), (0xffffn << 32n) | 0x01020304n);
  assert.equal(parseIpv6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), (1n << 128n) - 1n);
});

Deno.test("parseIpv6 rejects malformed addresses with clear messages", () => {
  const cases: [string, RegExp][] = [
    ["2001:db8:::1", /':::' is not valid/],
    ["1:2:3:4:5:6:7:8:9", /has 9 groups, at most 8/],
    ["12345::", /group "12345" has more than 4 hex digits/],
    ["1::2::3", /'::' may appear only once/],
    ["1:2:3", /has 3 groups, expected 8/],
    [":1::", /cannot start with a single ':'/],
    ["1::2:", /cannot end with a single ':'/],
    ["1::2:3:4:5:6:7:8", /'::' must stand for at least one zero group/],
    ["g::1", /group "g" is not hexadecimal/],
    ["fe80::1%eth0", /zone ids/],
    ["1.2.3.4::", /embedded IPv4 address must come last/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseIpv6(text), { name: "SyntaxError", message }, text);
    assert.throws(() => parseIpv6(text), { message: new RegExp(`^Cannot parse address "`) });
  }
  assert.throws(() => parseIpv6("::1.2.3.400"), {
    name: "RangeError",
    message: 'Cannot parse address "::1.2.3.400": embedded IPv4 address: octet 400 is > 255',
  });
});

Deno.test("formatIpv4 is the inverse of parseIpv4", () => {
  for (const text of ["0.0.0.0", "10.0.0.1", "192.168.255.7", "255.255.255.255"]) {
    assert.equal(formatIpv4(parseIpv4(text)), text);
  }
});

Deno.test("formatIpv6 follows RFC 5952", () => {
  const cases: [string, string][] = [
    // Section 4.1: no leading zeros; 4.2.1: longest run; 4.2.2: not one group;
    // 4.2.3: first of equal runs; 4.3: lower case; 5: IPv4-mapped.
    ["2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"],
    ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:DB8::AbCd", "2001:db8::abcd"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["0:0:0:0:0:ffff:c000:0280", "::ffff:192.0.2.128"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ];
  for (const [input, canonical] of cases) assert.equal(formatIpv6(parseIpv6(input)), canonical);
  assert.throws(() => formatIpv6(1n << 128n), RangeError);
  assert.throws(() => formatIpv6(-1n), RangeError);
});

Deno.test("parseIp and formatIp pick the family", () => {
  assert.deepEqual(parseIp("10.0.0.1"), { family: 4, value: 0x0a000001n });
  assert.deepEqual(parseIp("2001:db8::1"), { family: 6, value: (0x20010db8n << 96n) | 1n });
  assert.equal(formatIp(4, 0x0a000001n), "10.0.0.1");
  assert.equal(formatIp(6, 1n), "::1");
});
