import assert from "node:assert/strict";
import { createPermutation, randomSeed } from "./permutation.ts";

const SIZES = [0, 1, 2, 3, 7, 100, 1000, 65535, 65536, 100003, 3 * 65535];
const SEEDS = [0n, 1n, 0xdeadbeefn, (1n << 64n) - 1n, -7n];

/** Asserts that `at` maps [0, size) onto [0, size), each value once. */
function assertBijection(size: number, at: (index: number) => number, label: string): void {
  const seen = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const value = at(i);
    assert.ok(Number.isInteger(value) && value >= 0 && value < size, `${label}: ${i} -> ${value}`);
    assert.equal(seen[value], 0, `${label}: ${value} visited twice`);
    seen[value] = 1;
  }
}

Deno.test("atNumber() visits every index once, for many sizes and seeds", () => {
  for (const size of SIZES) {
    for (const seed of SEEDS) {
      const perm = createPermutation(BigInt(size), { seed });
      assert.equal(perm.size, BigInt(size));
      assertBijection(size, (i) => perm.atNumber(i), `size ${size} seed ${seed}`);
    }
  }
});

Deno.test("at() visits every index once", () => {
  for (const size of [1, 2, 3, 7, 100, 1000, 4097]) {
    const perm = createPermutation(BigInt(size), { seed: 99n });
    assertBijection(size, (i) => Number(perm.at(BigInt(i))), `size ${size}`);
  }
});

Deno.test("at() and atNumber() agree", () => {
  for (const size of [1, 2, 3, 7, 1000, 65535, 1 << 20, 2 ** 32, 2 ** 40 + 3, 2 ** 53]) {
    for (const seed of [0n, 12345n]) {
      const perm = createPermutation(BigInt(size), { seed });
      const step = Math.max(1, Math.floor(size / 997));
      for (let i = 0; i < size && i < 1000 * step; i += step) {
        assert.equal(perm.at(BigInt(i)), BigInt(perm.atNumber(i)), `size ${size} index ${i}`);
      }
      assert.equal(perm.at(BigInt(size - 1)), BigInt(perm.atNumber(size - 1)));
    }
  }
});

Deno.test("large Number sizes stay in range and are injective on a sample", () => {
  for (const size of [2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 53]) {
    const perm = createPermutation(BigInt(size), { seed: 5n });
    const seen = new Set<number>();
    for (let i = 0; i < 20000; i++) {
      const index = (i * 2654435761) % size;
      const value = perm.atNumber(index);
      assert.ok(Number.isSafeInteger(value) && value >= 0 && value < size, `${size}: ${value}`);
      seen.add(value);
    }
    assert.equal(seen.size, 20000);
  }
});

Deno.test("the bigint path handles huge sizes: in range, injective on a sample", () => {
  // An IPv6 /64 times 1000 ports, and a size just past a power of two.
  for (const size of [(1n << 64n) * 1000n, (1n << 100n) + 1n, 2n ** 53n + 1n]) {
    const perm = createPermutation(size, { seed: 0xfeedn });
    const seen = new Set<bigint>();
    const indices = [0n, 1n, size - 1n, size / 2n];
    for (let i = 0n; i < 5000n; i++) indices.push((i * 0x9e3779b97f4a7c15n) % size);
    for (const index of indices) {
      const value = perm.at(index);
      assert.ok(value >= 0n && value < size, `${size}: ${index} -> ${value}`);
      seen.add(value);
    }
    assert.equal(seen.size, new Set(indices).size);
    assert.equal(perm.at(12345n), createPermutation(size, { seed: 0xfeedn }).at(12345n));
    assert.throws(() => perm.atNumber(0), RangeError);
  }
});

Deno.test("shards with the same seed cover every index once between them", () => {
  const size = 100003;
  const shards = 7;
  const seed = randomSeed();
  const seen = new Uint8Array(size);
  let total = 0;
  for (let shard = 0; shard < shards; shard++) {
    const perm = createPermutation(BigInt(size), { seed });
    for (let i = shard; i < size; i += shards) {
      const value = perm.atNumber(i);
      assert.equal(seen[value], 0, `shard ${shard}: ${value} visited twice`);
      seen[value] = 1;
      total++;
    }
  }
  assert.equal(total, size);
  assert.ok(seen.every((v) => v === 1));
});

Deno.test("the order is not sequential", () => {
  const size = 65535;
  for (const seed of [0n, 1n, 2n, 0xabcdefn]) {
    const perm = createPermutation(BigInt(size), { seed });
    let fixed = 0;
    let consecutive = 0;
    let previous = perm.atNumber(0);
    if (previous === 0) fixed++;
    for (let i = 1; i < size; i++) {
      const value = perm.atNumber(i);
      if (value === i) fixed++;
      if (Math.abs(value - previous) === 1) consecutive++;
      previous = value;
    }
    assert.ok(fixed < size * 0.01, `seed ${seed}: ${fixed} fixed points`);
    assert.ok(consecutive < size * 0.05, `seed ${seed}: ${consecutive} consecutive pairs`);
  }
});

Deno.test("the first positions spread over the whole range", () => {
  // A sequential or weakly mixed order would keep the first 1% in a corner.
  const size = 1 << 20;
  const perm = createPermutation(BigInt(size), { seed: 77n });
  const buckets = new Uint32Array(16);
  const sample = size / 100;
  for (let i = 0; i < sample; i++) buckets[Math.floor(perm.atNumber(i) / (size / 16))]!++;
  for (const count of buckets) {
    assert.ok(Math.abs(count - sample / 16) < sample / 16 / 4, `${buckets}`);
  }
});

Deno.test("the same seed gives the same order, different seeds different orders", () => {
  const size = 1000n;
  const order = (seed: bigint): number[] => {
    const perm = createPermutation(size, { seed });
    return Array.from({ length: 1000 }, (_, i) => perm.atNumber(i));
  };
  assert.deepEqual(order(42n), order(42n));
  const orders = [0n, 1n, 2n, 42n, 1n << 40n].map((seed) => order(seed).join(","));
  assert.equal(new Set(orders).size, orders.length);
  // Small sizes too: with 6! orders, five seeds should not all agree.
  const small = [1n, 2n, 3n, 4n, 5n].map((seed) => {
    const perm = createPermutation(3n, { seed });
    return [0, 1, 2].map((i) => perm.atNumber(i)).join(",");
  });
  assert.ok(new Set(small).size > 1, small.join(" | "));
});

Deno.test("only the low 64 bits of the seed matter", () => {
  const a = createPermutation(5000n, { seed: 123n });
  const b = createPermutation(5000n, { seed: 123n + (1n << 64n) });
  for (let i = 0; i < 5000; i += 13) assert.equal(a.atNumber(i), b.atNumber(i));
});

Deno.test("out-of-range indices and sizes are rejected", () => {
  const perm = createPermutation(10n, { seed: 1n });
  for (const bad of [-1, 10, 1.5, NaN]) {
    assert.throws(() => perm.atNumber(bad), {
      name: "RangeError",
      message: `Cannot permute index ${bad}: value must be in [0, 10)`,
    });
  }
  assert.throws(() => perm.at(10n), { name: "RangeError" });
  assert.throws(() => perm.at(-1n), { name: "RangeError" });
  const empty = createPermutation(0n, { seed: 1n });
  assert.throws(() => empty.atNumber(0), RangeError);
  assert.throws(() => empty.at(0n), RangeError);
  assert.throws(() => createPermutation(-1n, { seed: 1n }), {
    name: "RangeError",
    message: "Cannot permute -1 items: size must be >= 0",
  });
});

Deno.test("randomSeed() gives distinct 64-bit values", () => {
  const seeds = Array.from({ length: 8 }, () => randomSeed());
  for (const seed of seeds) assert.ok(seed >= 0n && seed < 1n << 64n);
  assert.equal(new Set(seeds).size, seeds.length);
});
