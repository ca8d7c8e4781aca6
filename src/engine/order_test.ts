import assert from "node:assert/strict";
import { createTargetSet } from "../targets/mod.ts";
import { Order, parseShard, shardSize } from "./order.ts";
import type { ScanPlan } from "./types.ts";
import { timingTemplate } from "./timing.ts";

function plan(hosts: number, ports: number, extra: Partial<ScanPlan> = {}): ScanPlan {
  return {
    targets: createTargetSet([{ family: 4, start: 0x0a000001n, end: BigInt(0x0a000000 + hosts) }]),
    protocol: "tcp",
    ports: Array.from({ length: ports }, (_, i) => i + 1),
    timing: timingTemplate(4),
    seed: 7n,
    sequential: false,
    ...extra,
  };
}

function walk(order: Order): string[] {
  const seen: string[] = [];
  for (let item = order.next(); item !== undefined; item = order.next()) {
    seen.push(`${item.hostIndex}:${item.portIndex}`);
  }
  return seen;
}

Deno.test("parseShard reads I/N and rejects bad values", () => {
  assert.deepEqual(parseShard("2/5"), { index: 2, count: 5 });
  assert.throws(() => parseShard("5/5"), /index 5 must be < 5/);
  assert.throws(() => parseShard("1/0"), RangeError);
  assert.throws(() => parseShard("a/b"), SyntaxError);
});

Deno.test("shardSize splits a space of any size exactly", () => {
  for (const total of [0n, 1n, 7n, 100n, 101n]) {
    for (const count of [1, 2, 3, 7, 150]) {
      let sum = 0n;
      for (let index = 0; index < count; index++) sum += shardSize(total, { index, count });
      assert.equal(sum, total, `total ${total}, count ${count}`);
    }
  }
});

Deno.test("shards with the same seed cover the space exactly once", () => {
  for (const count of [1, 2, 3, 8]) {
    const seen = new Map<string, number>();
    for (let index = 0; index < count; index++) {
      for (const key of walk(new Order(plan(5, 37, { shard: { index, count } }), 37))) {
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    }
    assert.equal(seen.size, 5 * 37, `count ${count}`);
    assert.ok([...seen.values()].every((times) => times === 1), `count ${count}`);
  }
});

Deno.test("the order is a seeded permutation, and sequential order is host-major", () => {
  const a = walk(new Order(plan(4, 10), 10));
  const b = walk(new Order(plan(4, 10), 10));
  const c = walk(new Order(plan(4, 10, { seed: 8n }), 10));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const sequential = walk(new Order(plan(2, 3, { sequential: true }), 3));
  assert.deepEqual(sequential, ["0:0", "0:1", "0:2", "1:0", "1:1", "1:2"]);
});

Deno.test("a resumed shard probes exactly what is left", () => {
  const full = walk(new Order(plan(3, 20, { shard: { index: 1, count: 2 } }), 20));
  const resumed = walk(
    new Order(
      plan(3, 20, { shard: { index: 1, count: 2 }, resume: { next: 10, done: [12, 15] } }),
      20,
    ),
  );
  assert.deepEqual(resumed, full.filter((_, i) => i >= 10 && i !== 12 && i !== 15));
});

Deno.test("filtered-out hosts are skipped and reported", () => {
  const skipped: number[] = [];
  const order = new Order(plan(3, 4, { hostFilter: (index) => index !== 1n }), 4, {
    onSkip: (index) => skipped.push(index),
  });
  const seen = walk(order);
  assert.equal(seen.length, 8);
  assert.ok(seen.every((key) => !key.startsWith("1:")));
  assert.equal(skipped.length, 4);
});

Deno.test("the order spreads one host's probes out instead of hammering it", () => {
  const seen = walk(new Order(plan(16, 5), 5));
  const runs = seen.filter((key, i) => i > 0 && key.split(":")[0] === seen[i - 1]!.split(":")[0])
    .length;
  // A sequential walk would give 64 same-host neighbours out of 79.
  assert.ok(runs < 20, `${runs} consecutive probes to the same host`);
});

Deno.test("the order over an IPv6 /64 needs no memory for its 2^64 hosts", () => {
  const start = 0x20010db8000000000000000000000000n;
  const huge = createTargetSet([{ family: 6, start, end: start + (1n << 64n) - 1n }]);
  const order = new Order(plan(1, 1, { targets: huge, ports: [80] }), 1);
  assert.equal(order.total, Number(huge.size));
  const first = new Set<string>();
  for (let i = 0; i < 1000; i++) first.add(order.next()!.host.address);
  assert.equal(first.size, 1000);
  assert.throws(
    () => new Order(plan(1, 1, { targets: huge, resume: { next: 1, done: [] } }), 1),
    /Cannot resume a scan of 18446744073709551616 probes/,
  );
});

Deno.test("next() hands back one item, overwritten: its fields are the unit's own each call", () => {
  const order = new Order(plan(4, 10), 10);
  const first = order.next()!;
  const seen = `${first.hostIndex}:${first.portIndex}:${first.index}`;
  const second = order.next()!;
  assert.equal(second, first, "the same object");
  assert.notEqual(`${second.hostIndex}:${second.portIndex}:${second.index}`, seen);
});
