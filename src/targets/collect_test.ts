import assert from "node:assert/strict";
import { SpecCollector } from "./collect.ts";
import { formatIpv4 } from "./ip.ts";
import { buildCollectedTargetSet } from "./target_set.ts";

/** A small deterministic generator (xorshift32): the same lists every run. */
function random(seed: number): () => number {
  let x = seed;
  return (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

Deno.test("a million contiguous addresses, in any order, collect into one range", () => {
  const specs = new SpecCollector();
  // Descending blocks, every address twice: well past the buffer, nothing in order.
  for (let block = 15; block >= 0; block--) {
    for (let i = 65_535; i >= 0; i--) specs.add(formatIpv4(0x0a000000 + block * 65_536 + i));
    for (let i = 0; i < 65_536; i++) specs.add(formatIpv4(0x0a000000 + block * 65_536 + i));
  }
  assert.equal(specs.count, 2 * 16 * 65_536);
  const { starts, ends } = specs.ipv4();
  assert.deepEqual([...starts], [0x0a000000]);
  assert.deepEqual([...ends], [0x0a0fffff]);
});

Deno.test("collected specs build the set by hand, duplicates and exclusions included", async () => {
  const next = random(7);
  const pick = (n: number): number => Math.floor(next() * n);
  // Each spec with the addresses it stands for, worked out by hand.
  const specs: [string, string[]][] = [];
  for (let i = 0; i < 150_000; i++) {
    const base = 0x0a000000 + pick(300_000);
    const kind = pick(10);
    if (kind === 0) {
      const block = base - (base % 16);
      specs.push([
        `${formatIpv4(block)}/28`,
        Array.from({ length: 16 }, (_, k) => formatIpv4(block + k)),
      ]);
    } else if (kind === 1) {
      const address = `2001:db8::${(1 + pick(5000)).toString(16)}`;
      specs.push([address, [address]]);
    } else {
      specs.push([formatIpv4(base), [formatIpv4(base)]]);
    }
  }
  const exclude: [string, string[]][] = [
    ["10.0.0.0/24", Array.from({ length: 256 }, (_, k) => formatIpv4(0x0a000000 + k))],
    ["2001:db8::10", ["2001:db8::10"]],
  ];
  for (let i = 0; i < 50_000; i++) {
    const address = formatIpv4(0x0a000000 + pick(300_000));
    exclude.push([address, [address]]);
  }

  const collected = new SpecCollector();
  specs.forEach(([spec]) => collected.add(spec));
  const cut = new SpecCollector();
  exclude.forEach(([spec]) => cut.add(spec));
  const streamed = await buildCollectedTargetSet(collected, { exclude: cut });

  const skip = new Set(exclude.flatMap(([, addresses]) => addresses));
  const expected = new Set(specs.flatMap(([, addresses]) => addresses));
  for (const address of skip) expected.delete(address);
  const got = [...streamed.hosts()].map((host) => host.address);
  assert.equal(got.length, expected.size, "each address once");
  assert.deepEqual(new Set(got), expected);
  assert.equal(streamed.size, BigInt(expected.size));
  // Ascending, IPv4 first.
  const hosts = [...streamed.hosts()];
  const v4 = hosts.filter((host) => host.family === 4).length;
  assert.ok(hosts.slice(0, v4).every((host) => host.family === 4));
  assert.ok(hosts.every((host, k) => k === 0 || k === v4 || host.value > hosts[k - 1]!.value));
});

Deno.test("names wait for resolution; -4/-6 name the first address of the other family", async () => {
  const specs = new SpecCollector();
  for (const spec of ["localhost", "::1", "127.0.0.2"]) specs.add(spec);
  assert.deepEqual(specs.names().map((name) => name.hostname), ["localhost"]);
  assert.equal(specs.first(4), "127.0.0.2");
  assert.equal(specs.first(6), "::1");
  await assert.rejects(
    () => buildCollectedTargetSet(specs, { family: 4, hostsFile: null, dns: false }),
    /^RangeError: Cannot scan an IPv6 target with -4 \(the first is ::1\)$/,
  );
  assert.throws(
    () => new SpecCollector().add("10.0.0.1/99"),
    (error) => error instanceof SyntaxError || error instanceof RangeError,
  );
});
