import assert from "node:assert/strict";
import { parseIpv4, parseIpv6 } from "./ip.ts";
import { type AddressRange, isHostname, parseTargetSpec, prefixBlock } from "./parse.ts";

function ranges(spec: string): AddressRange[] {
  const parsed = parseTargetSpec(spec);
  assert.equal(parsed.kind, "ranges", spec);
  return parsed.kind === "ranges" ? parsed.ranges : [];
}

function v4(text: string): bigint {
  return BigInt(parseIpv4(text));
}

function count(list: AddressRange[]): bigint {
  return list.reduce((sum, r) => sum + r.end - r.start + 1n, 0n);
}

Deno.test("single addresses of both families", () => {
  assert.deepEqual(ranges("10.0.0.1"), [{ family: 4, start: v4("10.0.0.1"), end: v4("10.0.0.1") }]);
  const one = parseIpv6("2001:db8::1");
  assert.deepEqual(ranges("2001:db8::1"), [{ family: 6, start: one, end: one }]);
});

Deno.test("CIDR blocks mask host bits", () => {
  assert.deepEqual(ranges("10.0.0.0/8"), [{
    family: 4,
    start: v4("10.0.0.0"),
    end: v4("10.255.255.255"),
  }]);
  assert.deepEqual(ranges("192.168.1.77/24"), [
    { family: 4, start: v4("192.168.1.0"), end: v4("192.168.1.255") },
  ]);
  assert.deepEqual(ranges("10.1.2.3/32"), [{
    family: 4,
    start: v4("10.1.2.3"),
    end: v4("10.1.2.3"),
  }]);
  assert.equal(count(ranges("0.0.0.0/0")), 1n << 32n);
  assert.deepEqual(ranges("2001:db8::5/120"), [
    { family: 6, start: parseIpv6("2001:db8::"), end: parseIpv6("2001:db8::ff") },
  ]);
  assert.equal(count(ranges("2001:db8::/64")), 1n << 64n);
});

Deno.test("bad prefix lengths are refused", () => {
  assert.throws(() => parseTargetSpec("10.0.0.0/33"), {
    name: "RangeError",
    message: 'Cannot parse target "10.0.0.0/33": prefix length 33 is > 32',
  });
  assert.throws(() => parseTargetSpec("2001:db8::/129"), {
    name: "RangeError",
    message: 'Cannot parse target "2001:db8::/129": prefix length 129 is > 128',
  });
  assert.throws(() => parseTargetSpec("10.0.0.0/-1"), {
    name: "SyntaxError",
    message: /"-1" is not a number/,
  });
  assert.throws(() => parseTargetSpec("10.0.0.0/abc"), {
    name: "SyntaxError",
    message: /"abc" is not a number/,
  });
  assert.throws(() => parseTargetSpec("10.0.0.0/"), { name: "SyntaxError" });
  assert.throws(() => parseTargetSpec("10.0.0.1-5/24"), {
    name: "SyntaxError",
    message: /prefix length cannot follow/,
  });
});

Deno.test("octet ranges expand to the right hosts", () => {
  const grid = ranges("10.0.0-3.1-254");
  assert.equal(count(grid), 4n * 254n);
  assert.equal(grid.length, 4);
  assert.deepEqual(grid[3], { family: 4, start: v4("10.0.3.1"), end: v4("10.0.3.254") });
  assert.deepEqual(ranges("192.168.1.*"), [
    { family: 4, start: v4("192.168.1.0"), end: v4("192.168.1.255") },
  ]);
  assert.deepEqual(ranges("10.0.0,2.1").map((r) => r.start), [v4("10.0.0.1"), v4("10.0.2.1")]);
  assert.equal(count(ranges("10.*.*.*")), 1n << 24n);
  assert.equal(ranges("10.*.*.*").length, 1);
  // Overlapping list items are merged, open ends follow nmap.
  assert.equal(count(ranges("10.0.0.1-5,3-8")), 8n);
  assert.deepEqual(ranges("10.0.0.-5"), [{
    family: 4,
    start: v4("10.0.0.0"),
    end: v4("10.0.0.5"),
  }]);
  assert.deepEqual(ranges("10.0.0.250-"), [
    { family: 4, start: v4("10.0.0.250"), end: v4("10.0.0.255") },
  ]);
});

Deno.test("bad octet ranges are refused", () => {
  assert.throws(() => parseTargetSpec("10.0.0.5-3"), {
    name: "RangeError",
    message: 'Cannot parse target "10.0.0.5-3": octet range 5-3 ends below its start',
  });
  assert.throws(() => parseTargetSpec("10.0.0.1-300"), {
    name: "RangeError",
    message: /octet 300 is > 255/,
  });
  assert.throws(() => parseTargetSpec("10.0.1"), { name: "SyntaxError", message: /expected 4/ });
  assert.throws(() => parseTargetSpec("10.0.0.1*"), { name: "SyntaxError" });
  assert.throws(() => parseTargetSpec("10.0.0.1,,2"), {
    name: "SyntaxError",
    message: /empty octet/,
  });
  assert.throws(() => parseTargetSpec("*.*.*.1"), {
    name: "RangeError",
    message: /separate ranges/,
  });
});

Deno.test("dash ranges of full addresses", () => {
  assert.deepEqual(ranges("10.0.0.1-10.0.0.50"), [
    { family: 4, start: v4("10.0.0.1"), end: v4("10.0.0.50") },
  ]);
  assert.deepEqual(ranges("10.0.0.250-10.0.1.5"), [
    { family: 4, start: v4("10.0.0.250"), end: v4("10.0.1.5") },
  ]);
  assert.deepEqual(ranges("2001:db8::1-2001:db8::ff"), [
    { family: 6, start: parseIpv6("2001:db8::1"), end: parseIpv6("2001:db8::ff") },
  ]);
  assert.throws(() => parseTargetSpec("10.0.0.9-10.0.0.1"), {
    name: "RangeError",
    message: 'Cannot parse target "10.0.0.9-10.0.0.1": range end is below its start',
  });
  assert.throws(() => parseTargetSpec("2001:db8::9-2001:db8::1"), {
    name: "RangeError",
    message: /range end is below its start/,
  });
  assert.throws(() => parseTargetSpec("10.0.0.1-10.0.0.300"), { message: /octet 300 is > 255/ });
});

Deno.test("bad addresses name the spec", () => {
  assert.throws(() => parseTargetSpec("300.1.2.3"), {
    name: "RangeError",
    message: 'Cannot parse target "300.1.2.3": octet 300 is > 255',
  });
  for (const spec of ["2001:db8:::1", "1:2:3:4:5:6:7:8:9", "12345::", "fe80::1%eth0", "1::2::3"]) {
    assert.throws(
      () => parseTargetSpec(spec),
      {
        name: "SyntaxError",
        message: new RegExp(`^Cannot parse target "${spec.replace(/[.*]/g, "\\$&")}": `),
      },
    );
  }
});

Deno.test("empty and garbage specs", () => {
  assert.throws(() => parseTargetSpec(""), {
    name: "SyntaxError",
    message: 'Cannot parse target "": empty target',
  });
  for (
    const spec of [
      "a b",
      "foo_bar",
      "-bad.example",
      "exa$mple.com",
      "a..b",
      "x".repeat(64) + ".com",
    ]
  ) {
    assert.throws(() => parseTargetSpec(spec), {
      name: "SyntaxError",
      message: `Cannot parse target "${spec}": not an address, range or hostname`,
    });
  }
});

Deno.test("hostnames are returned for resolution", () => {
  assert.deepEqual(parseTargetSpec("scanme.example.org"), {
    kind: "hostname",
    text: "scanme.example.org",
    hostname: "scanme.example.org",
  });
  assert.deepEqual(parseTargetSpec("localhost/30"), {
    kind: "hostname",
    text: "localhost/30",
    hostname: "localhost",
    prefixLength: 30,
  });
  assert.equal(isHostname("a-b.c0.example."), true);
  assert.equal(isHostname("1.2.3.4"), false);
  assert.equal(isHostname("host-"), false);
});

Deno.test("prefixBlock masks a resolved address and checks the family bound", () => {
  const spec = { text: "localhost/30", prefixLength: 30 };
  assert.deepEqual(prefixBlock({ family: 4, value: v4("127.0.0.6") }, spec), {
    family: 4,
    start: v4("127.0.0.4"),
    end: v4("127.0.0.7"),
  });
  assert.throws(() => prefixBlock({ family: 4, value: 1n }, { text: "h/64", prefixLength: 64 }), {
    name: "RangeError",
    message: /prefix length 64 is > 32/,
  });
});
