import assert from "node:assert/strict";
import { parseIpv4, parseIpv6 } from "./ip.ts";
import {
  buildTargetSet,
  createTargetSet,
  normalizeRanges,
  splitExcludeList,
  subtractRanges,
} from "./target_set.ts";
import type { TargetSet } from "./types.ts";

function addresses(set: TargetSet): string[] {
  return [...set.hosts()].map((host) => host.address);
}

function v4(text: string): bigint {
  return BigInt(parseIpv4(text));
}

const NO_LOOKUP = { hostsFile: null, dns: false } as const;

Deno.test("sizes of big blocks are exact and cheap", async () => {
  assert.equal((await buildTargetSet(["10.0.0.0/8"])).size, 16_777_216n);
  assert.equal((await buildTargetSet(["2001:db8::/64"])).size, 1n << 64n);
  const both = await buildTargetSet(["2001:db8::/64", "10.0.0.0/8"]);
  assert.equal(both.size, (1n << 64n) + 16_777_216n);
  assert.equal(both.ranges.length, 2);
  assert.equal(both.at(0n).address, "10.0.0.0");
  assert.equal(both.at(16_777_216n).address, "2001:db8::");
  assert.equal(both.at(both.size - 1n).address, "2001:db8::ffff:ffff:ffff:ffff");
});

Deno.test("overlapping and duplicate specs are merged", async () => {
  const set = await buildTargetSet(["10.0.0.5", "10.0.0.1-10.0.0.6", "10.0.0.3", "10.0.0.7"]);
  assert.deepEqual(addresses(set), [1, 2, 3, 4, 5, 6, 7].map((n) => `10.0.0.${n}`));
  assert.equal(set.ranges.length, 1);
  assert.deepEqual(
    normalizeRanges([
      { family: 6, start: 1n, end: 1n },
      { family: 4, start: 5n, end: 9n },
      { family: 4, start: 1n, end: 4n },
    ]),
    [{ family: 4, start: 1n, end: 9n }, { family: 6, start: 1n, end: 1n }],
  );
});

Deno.test("exclusions cut the middle, the edges and the whole", async () => {
  const middle = await buildTargetSet(["10.0.0.1-10.0.0.10"], { exclude: ["10.0.0.4-10.0.0.6"] });
  assert.deepEqual(
    addresses(middle),
    ["1", "2", "3", "7", "8", "9", "10"].map((n) => `10.0.0.${n}`),
  );
  const edges = await buildTargetSet(["10.0.0.1-10.0.0.10"], {
    exclude: ["10.0.0.0-10.0.0.2", "10.0.0.9-10.0.0.20"],
  });
  assert.deepEqual(addresses(edges), ["3", "4", "5", "6", "7", "8"].map((n) => `10.0.0.${n}`));
  const whole = await buildTargetSet(["10.0.0.0/24"], { exclude: ["10.0.0.0/16"] });
  assert.equal(whole.size, 0n);
  assert.deepEqual(addresses(whole), []);
  assert.throws(() => whole.at(0n), RangeError);
  // One exclusion spanning several ranges, and families kept apart.
  assert.deepEqual(
    subtractRanges(
      [{ family: 4, start: 0n, end: 3n }, { family: 4, start: 10n, end: 13n }, {
        family: 6,
        start: 0n,
        end: 20n,
      }],
      [{ family: 4, start: 2n, end: 11n }, { family: 6, start: 5n, end: 5n }],
    ),
    [
      { family: 4, start: 0n, end: 1n },
      { family: 4, start: 12n, end: 13n },
      { family: 6, start: 0n, end: 4n },
      { family: 6, start: 6n, end: 20n },
    ],
  );
  const v6 = await buildTargetSet(["2001:db8::/120"], { exclude: ["2001:db8::10-2001:db8::ff"] });
  assert.equal(v6.size, 16n);
});

Deno.test("at() agrees with hosts() on a mixed set", async () => {
  const set = await buildTargetSet([
    "10.0.0-3.250-254",
    "192.168.7.1-192.168.7.3",
    "2001:db8::fffe-2001:db8::1:1",
    "::1",
  ], { exclude: ["10.0.2.252"] });
  const listed = [...set.hosts()];
  assert.equal(BigInt(listed.length), set.size);
  assert.equal(set.size, 4n * 5n - 1n + 3n + 4n + 1n);
  listed.forEach((host, index) => assert.deepEqual(set.at(BigInt(index)), host));
  assert.equal(set.at(4n).address, "10.0.0.254");
  assert.equal(set.at(5n).address, "10.0.1.250");
  assert.equal(set.at(set.size - 1n).address, "2001:db8::1:1");
  assert.equal(set.at(set.size - 5n).address, "::1");
  assert.throws(() => set.at(set.size), { name: "RangeError", message: /out of range/ });
  assert.throws(() => set.at(-1n), RangeError);
});

Deno.test("hosts() is lazy on a huge set", async () => {
  const set = await buildTargetSet(["2001:db8::/64", "10.0.0.0/8"]);
  const iterator = set.hosts()[Symbol.iterator]();
  assert.equal(iterator.next().value?.address, "10.0.0.0");
  assert.equal(iterator.next().value?.address, "10.0.0.1");
});

Deno.test("hostnames resolve through localhost and the hosts file, once per address", async () => {
  const hostsFile = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(
      hostsFile,
      "# test\n198.51.100.7  lab-a lab-alias\n2001:db8::7 lab-a\n198.51.100.9 lab-b # trailing\n",
    );
    const set = await buildTargetSet(["198.51.100.7", "lab-a", "198.51.100.8", "localhost"], {
      hostsFile,
      dns: false,
    });
    assert.deepEqual(addresses(set), ["127.0.0.1", "198.51.100.7", "198.51.100.8"]);
    const hosts = [...set.hosts()];
    assert.equal(hosts[0]!.hostname, "localhost");
    assert.equal(hosts[1]!.hostname, "lab-a");
    assert.equal(hosts[2]!.hostname, undefined);

    const all = await buildTargetSet(["LAB-A"], { hostsFile, dns: false, allAddresses: true });
    assert.deepEqual(addresses(all), ["198.51.100.7", "2001:db8::7"]);
    assert.equal(all.at(1n).hostname, "LAB-A");

    const six = await buildTargetSet(["lab-a"], { hostsFile, dns: false, family: 6 });
    assert.deepEqual(addresses(six), ["2001:db8::7"]);

    const block = await buildTargetSet(["lab-b/30"], { hostsFile, dns: false });
    assert.deepEqual(addresses(block), [
      "198.51.100.8",
      "198.51.100.9",
      "198.51.100.10",
      "198.51.100.11",
    ]);
    assert.equal(block.at(1n).hostname, "lab-b");

    const excluded = await buildTargetSet(["198.51.100.0/29"], {
      hostsFile,
      dns: false,
      exclude: ["lab-alias"],
    });
    assert.equal(excluded.size, 7n);
    assert.ok(!addresses(excluded).includes("198.51.100.7"));
  } finally {
    await Deno.remove(hostsFile);
  }
});

Deno.test("unresolvable names fail clearly or are reported and skipped", async () => {
  await assert.rejects(() => buildTargetSet(["nosuch.invalid"], NO_LOOKUP), {
    message: 'Failed to resolve "nosuch.invalid"',
  });
  const skipped: string[] = [];
  const set = await buildTargetSet(["nosuch.invalid", "10.0.0.1"], {
    ...NO_LOOKUP,
    onUnresolved: (name) => skipped.push(name),
  });
  assert.deepEqual(skipped, ["nosuch.invalid"]);
  assert.deepEqual(addresses(set), ["10.0.0.1"]);
  await assert.rejects(() => buildTargetSet(["localhost"], { resolve: false }), {
    message: /name resolution is disabled/,
  });
});

Deno.test("bad specs and exclusions throw before any resolution", async () => {
  await assert.rejects(() => buildTargetSet(["10.0.0.1", "300.1.2.3"]), {
    name: "RangeError",
    message: 'Cannot parse target "300.1.2.3": octet 300 is > 255',
  });
  await assert.rejects(() => buildTargetSet(["10.0.0.1"], { exclude: ["10.0.0"] }), SyntaxError);
});

Deno.test("splitExcludeList splits on every comma", () => {
  assert.deepEqual(splitExcludeList("10.0.0.1,10.0.0.5-10.0.0.9,"), [
    "10.0.0.1",
    "10.0.0.5-10.0.0.9",
  ]);
  assert.deepEqual(splitExcludeList("10.0.0,2.1"), ["10.0.0", "2.1"]);
});

Deno.test("createTargetSet works on raw ranges", () => {
  const set = createTargetSet([{ family: 4, start: v4("127.0.0.1"), end: v4("127.0.0.2") }], {
    hostnames: [{ family: 4, value: v4("127.0.0.2"), hostname: "lo2" }],
  });
  assert.deepEqual(set.at(1n), {
    family: 4,
    value: v4("127.0.0.2"),
    address: "127.0.0.2",
    hostname: "lo2",
  });
  const six = createTargetSet([{ family: 6, start: 1n, end: 1n }]);
  assert.deepEqual([...six.hosts()], [{ family: 6, value: parseIpv6("::1"), address: "::1" }]);
});
