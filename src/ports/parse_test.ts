import assert from "node:assert/strict";
import { excludePorts, formatPortRanges, parsePorts } from "./parse.ts";

function range(low: number, high: number): number[] {
  return Array.from({ length: high - low + 1 }, (_, i) => low + i);
}

Deno.test("parsePorts() reads single ports and ranges for both protocols", () => {
  const spec = parsePorts("80,22,1000-1003");
  assert.deepEqual(spec.tcp, [22, 80, 1000, 1001, 1002, 1003]);
  assert.deepEqual(spec.udp, spec.tcp);
});

Deno.test("parsePorts() sorts and removes duplicates", () => {
  assert.deepEqual(parsePorts("443,80,80,79-81,443").tcp, [79, 80, 81, 443]);
});

Deno.test("parsePorts() reads '-' as every port but 0", () => {
  const spec = parsePorts("-");
  assert.deepEqual(spec.tcp, range(1, 65535));
  assert.deepEqual(spec.udp, range(1, 65535));
});

Deno.test("parsePorts() reads open-ended ranges", () => {
  assert.deepEqual(parsePorts("-1024").tcp, range(1, 1024));
  assert.deepEqual(parsePorts("60000-").tcp, range(60000, 65535));
  assert.deepEqual(parsePorts("65535-").tcp, [65535]);
});

Deno.test("parsePorts() allows port 0 only when named", () => {
  assert.deepEqual(parsePorts("0").tcp, [0]);
  assert.deepEqual(parsePorts("0-2").tcp, [0, 1, 2]);
  assert.equal(parsePorts("-").tcp[0], 1);
  assert.equal(parsePorts("-5").tcp[0], 1);
});

Deno.test("parsePorts() applies a protocol prefix until the next one", () => {
  const spec = parsePorts("U:53,111,T:21-25,80");
  assert.deepEqual(spec.udp, [53, 111]);
  assert.deepEqual(spec.tcp, [21, 22, 23, 24, 25, 80]);
});

Deno.test("parsePorts() puts unprefixed items before a prefix in both protocols", () => {
  const spec = parsePorts("22,U:53,t:80");
  assert.deepEqual(spec.tcp, [22, 80]);
  assert.deepEqual(spec.udp, [22, 53]);
});

Deno.test("parsePorts() honours the protocols option for unprefixed items", () => {
  const spec = parsePorts("22,U:53", { protocols: ["tcp"] });
  assert.deepEqual(spec.tcp, [22]);
  assert.deepEqual(spec.udp, [53]);
});

Deno.test("parsePorts() accepts surrounding spaces and stray commas", () => {
  assert.deepEqual(parsePorts(" 22 , 80,,U: 53 ").tcp, [22, 80]);
  assert.deepEqual(parsePorts("T:-").udp, []);
});

Deno.test("parsePorts() rejects values above 65535", () => {
  assert.throws(() => parsePorts("70000"), {
    name: "RangeError",
    message: 'Cannot parse port range "70000": value must be <= 65535',
  });
  assert.throws(() => parsePorts("0-65536"), {
    name: "RangeError",
    message: 'Cannot parse port range "0-65536": value must be <= 65535',
  });
  assert.throws(() => parsePorts("22,99999999999999999999"), {
    name: "RangeError",
    message: 'Cannot parse port range "99999999999999999999": value must be <= 65535',
  });
});

Deno.test("parsePorts() rejects reversed ranges", () => {
  assert.throws(() => parsePorts("2000-1000"), {
    name: "RangeError",
    message: 'Cannot parse port range "2000-1000": range end is below its start',
  });
  assert.throws(() => parsePorts("-0"), {
    name: "RangeError",
    message: 'Cannot parse port range "-0": range end is below its start',
  });
});

Deno.test("parsePorts() rejects names and other non-numbers", () => {
  assert.throws(() => parsePorts("abc"), {
    name: "SyntaxError",
    message: 'Cannot parse port "abc": not a number',
  });
  for (const bad of ["http", "8o", "1.5", "+5", "0x50", "1e3", "[80]", "*"]) {
    assert.throws(() => parsePorts(`22,${bad}`), {
      name: "SyntaxError",
      message: `Cannot parse port "${bad}": not a number`,
    });
  }
  assert.throws(() => parsePorts("1-abc"), {
    name: "SyntaxError",
    message: 'Cannot parse port range "1-abc": "abc" is not a number',
  });
});

Deno.test("parsePorts() rejects empty lists", () => {
  for (const empty of ["", ",", " , ", "U:", "T:,U:"]) {
    assert.throws(() => parsePorts(empty), {
      name: "SyntaxError",
      message: `Cannot parse ports "${empty}": the list is empty`,
    });
  }
});

Deno.test("parsePorts() rejects negative numbers and extra dashes", () => {
  for (const bad of ["--5", "1-2-3", "-1-5", "5--"]) {
    assert.throws(() => parsePorts(bad), {
      name: "SyntaxError",
      message: `Cannot parse port range "${bad}": expected one "-" between two ports`,
    });
  }
});

Deno.test("parsePorts() rejects SCTP and unknown prefixes", () => {
  assert.throws(() => parsePorts("T:80,S:2905"), {
    name: "SyntaxError",
    message: 'Cannot parse port "S:2905": SCTP ports are not supported',
  });
  assert.throws(() => parsePorts("P:6"), {
    name: "SyntaxError",
    message: 'Cannot parse port "P:6": IP protocol scans are not supported',
  });
  assert.throws(() => parsePorts("X:80"), {
    name: "SyntaxError",
    message: 'Cannot parse port "X:80": unknown protocol prefix "X:"',
  });
});

Deno.test("excludePorts() removes ports protocol by protocol", () => {
  const spec = parsePorts("T:20-25,U:53,161");
  const result = excludePorts(spec, parsePorts("T:22,25,U:161"));
  assert.deepEqual(result.tcp, [20, 21, 23, 24]);
  assert.deepEqual(result.udp, [53]);
  assert.deepEqual(spec.tcp, [20, 21, 22, 23, 24, 25], "input is left alone");
  assert.deepEqual(excludePorts(spec, { tcp: [], udp: [] }), spec);
  assert.deepEqual(excludePorts(parsePorts("80"), parsePorts("-")), { tcp: [], udp: [] });
});

Deno.test("formatPortRanges() merges consecutive runs", () => {
  assert.equal(formatPortRanges(range(1, 1024).concat([8080])), "1-1024,8080");
  assert.equal(formatPortRanges([21, 22, 23, 25, 80, 137, 138]), "21-23,25,80,137-138");
  assert.equal(formatPortRanges([]), "");
  assert.equal(formatPortRanges([7]), "7");
  assert.equal(formatPortRanges([9, 3, 2, 9, 1]), "1-3,9");
  assert.equal(formatPortRanges(parsePorts("-").tcp), "1-65535");
});

Deno.test("formatPortRanges() output parses back to the same ports", () => {
  const ports = parsePorts("0,2,4-9,100,65534-").tcp;
  assert.deepEqual(parsePorts(formatPortRanges(ports)).tcp, ports);
});
