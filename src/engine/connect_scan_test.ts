import assert from "node:assert/strict";
import { createTargetSet } from "../targets/target_set.ts";
import { CompletionTracker, ProbeOrder } from "./connect_scan.ts";
import { timingTemplate } from "./timing.ts";
import type { ScanPlan } from "./types.ts";

function plan(overrides: Partial<ScanPlan> = {}): ScanPlan {
  return {
    // 198.51.100.0/28: 16 hosts.
    targets: createTargetSet([{ family: 4, start: 0xc6336400n, end: 0xc633640fn }]),
    protocol: "tcp",
    ports: [22, 80, 443, 8080, 65535],
    timing: timingTemplate(3),
    seed: 42n,
    sequential: false,
    ...overrides,
  };
}

function walk(order: ProbeOrder): string[] {
  const seen: string[] = [];
  for (let pair = order.next(); pair !== undefined; pair = order.next()) {
    seen.push(`${pair.host.address}:${pair.port}`);
  }
  return seen;
}

Deno.test("probe order visits every (host, port) exactly once", () => {
  const seen = walk(new ProbeOrder(plan()));
  assert.equal(seen.length, 16 * 5);
  assert.equal(new Set(seen).size, seen.length);
});

Deno.test("probe order: same seed, same order; another seed, another order", () => {
  const a = walk(new ProbeOrder(plan()));
  const b = walk(new ProbeOrder(plan()));
  const c = walk(new ProbeOrder(plan({ seed: 43n })));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("probe order spreads one host's probes out instead of hammering it", () => {
  const seen = walk(new ProbeOrder(plan()));
  const runs =
    seen.filter((probe, i) => i > 0 && probe.split(":")[0] === seen[i - 1]!.split(":")[0]).length;
  // A sequential walk would give 75 same-host neighbours out of 79.
  assert.ok(runs < 20, `${runs} consecutive probes to the same host`);
});

Deno.test("-r walks host by host, ports ascending", () => {
  const seen = walk(new ProbeOrder(plan({ sequential: true })));
  assert.deepEqual(seen.slice(0, 6), [
    "198.51.100.0:22",
    "198.51.100.0:80",
    "198.51.100.0:443",
    "198.51.100.0:8080",
    "198.51.100.0:65535",
    "198.51.100.1:22",
  ]);
});

Deno.test("probe order skips hosts the filter rejects", () => {
  const seen = walk(new ProbeOrder(plan({ hostFilter: (index) => index % 2n === 0n })));
  assert.equal(seen.length, 8 * 5);
  assert.ok(seen.every((probe) => Number(probe.split(":")[0]!.split(".")[3]) % 2 === 0));
});

Deno.test("probe order over an IPv6 /64 needs no memory for its 2^64 hosts", () => {
  const start = 0x20010db8000000000000000000000000n;
  const huge = createTargetSet([{ family: 6, start, end: start + (1n << 64n) - 1n }]);
  assert.equal(huge.size, 1n << 64n);
  const order = new ProbeOrder(plan({ targets: huge, ports: [80] }));
  assert.equal(order.total, huge.size);
  const first = new Set<string>();
  for (let i = 0; i < 1000; i++) first.add(order.next()!.host.address);
  assert.equal(first.size, 1000);
});

Deno.test("completion tracker keeps a low-water mark and the few done above it", () => {
  const tracker = new CompletionTracker();
  for (const index of [1, 2, 5]) tracker.complete(index);
  assert.deepEqual(tracker.point(), { next: 0, done: [1, 2, 5] });
  tracker.complete(0);
  assert.deepEqual(tracker.point(), { next: 3, done: [5] });
  tracker.complete(3);
  tracker.complete(4);
  assert.deepEqual(tracker.point(), { next: 6, done: [] });
  const resumed = new CompletionTracker({ next: 6, done: [7, 2] });
  assert.deepEqual(resumed.point(), { next: 6, done: [7] }, "positions below next are dropped");
});

Deno.test("probe order resumed from a point visits exactly what was left", () => {
  const full = new ProbeOrder(plan());
  const all: { index: number; probe: string }[] = [];
  for (let pair = full.next(); pair !== undefined; pair = full.next()) {
    all.push({ index: pair.index, probe: `${pair.host.address}:${pair.port}` });
  }
  const point = { next: 30, done: [31, 35, 60] };
  const left = walk(new ProbeOrder(plan({ resume: point })));
  const expected = all.filter(({ index }) => index >= 30 && ![31, 35, 60].includes(index))
    .map(({ probe }) => probe);
  assert.deepEqual(left, expected);
});

Deno.test("shards of one seed cover the probe space exactly once between them", () => {
  const whole = walk(new ProbeOrder(plan()));
  for (const count of [1, 2, 3, 7, 80, 81]) {
    const seen: string[] = [];
    for (let index = 0; index < count; index++) {
      const order = new ProbeOrder(plan({ shard: { index, count } }));
      const part = walk(order);
      assert.equal(BigInt(part.length), order.total);
      seen.push(...part);
    }
    assert.equal(seen.length, whole.length, `${count} shards`);
    assert.deepEqual([...seen].sort(), [...whole].sort(), `${count} shards`);
  }
  assert.throws(() => new ProbeOrder(plan({ shard: { index: 2, count: 2 } })), RangeError);
});
