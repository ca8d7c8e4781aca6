/**
 * A seeded bijection over [0, size): the probe order across the (host, port)
 * space. Position `i` of the scan probes item `at(i)`; a shard `I/N` takes the
 * positions with `i % N === I`, so shards with the same seed partition the
 * space.
 *
 * The bijection is a keyed balanced Feistel network over the smallest
 * even-width power-of-two domain that holds `size`, with cycle-walking to
 * stay below `size` (at most 4× the domain, so under 4 steps on average).
 * Nothing is stored per item, so it scales to IPv6 prefixes × ports.
 *
 * @module
 */

/** A seeded bijection over [0, size). */
export interface Permutation {
  /** Number of items permuted. */
  readonly size: bigint;
  /**
   * The item at position `index` (0 ≤ index < size).
   *
   * @throws {RangeError} when `index` is out of range.
   */
  at(index: bigint): bigint;
  /**
   * {@link Permutation.at} on Numbers, without bigint arithmetic, for the hot
   * loop of an engine. Gives the same answers as `at`.
   *
   * @throws {RangeError} when `size` exceeds 2^53 or `index` is out of range.
   */
  atNumber(index: number): number;
}

/** Options of {@link createPermutation}. */
export interface PermutationOptions {
  /** Seed of the order; only its low 64 bits are used. */
  seed: bigint;
}

/** Feistel rounds; four suffice for a pseudo-random permutation, six add margin for tiny halves. */
const ROUNDS = 6;

/** Largest size the Number path handles (halves of ≤ 27 bits, values exact in a double). */
const MAX_NUMBER_SIZE = 2n ** 53n;

const MASK_64 = (1n << 64n) - 1n;

/**
 * Creates the permutation of [0, size) for `options.seed`. The same seed and
 * size always give the same order.
 *
 * @example
 * ```ts
 * import { createPermutation } from "./permutation.ts";
 * const perm = createPermutation(10n, { seed: 42n });
 * const order = Array.from({ length: 10 }, (_, i) => perm.atNumber(i));
 * // order holds 0..9 once each, shuffled
 * ```
 *
 * @throws {RangeError} when `size` is negative.
 */
export function createPermutation(size: bigint, options: PermutationOptions): Permutation {
  if (size < 0n) throw new RangeError(`Cannot permute ${size} items: size must be >= 0`);
  const keys = roundKeys(options.seed);
  const bits = size <= 1n ? 0 : (size - 1n).toString(2).length;
  const halfBits = Math.max(1, Math.ceil(bits / 2));
  const number = size <= MAX_NUMBER_SIZE ? numberFeistel(Number(size), halfBits, keys) : undefined;
  const big = bigFeistel(size, halfBits, keys);
  const sizeNumber = Number(size);
  return {
    size,
    at(index: bigint): bigint {
      if (index < 0n || index >= size) {
        throw new RangeError(`Cannot permute index ${index}: value must be in [0, ${size})`);
      }
      return size === 1n ? 0n : big(index);
    },
    atNumber(index: number): number {
      if (number === undefined) {
        throw new RangeError(`Cannot permute ${size} items by Number: size must be <= 2^53`);
      }
      if (!(Number.isInteger(index) && index >= 0 && index < sizeNumber)) {
        throw new RangeError(`Cannot permute index ${index}: value must be in [0, ${size})`);
      }
      return size === 1n ? 0 : number(index);
    },
  };
}

/** A 64-bit seed from the system's cryptographic random source. */
export function randomSeed(): bigint {
  const words = crypto.getRandomValues(new Uint32Array(2));
  return (BigInt(words[0]!) << 32n) | BigInt(words[1]!);
}

/** Round keys (32-bit) from the seed by splitmix64. */
function roundKeys(seed: bigint): Int32Array {
  const keys = new Int32Array(ROUNDS);
  let state = BigInt.asUintN(64, seed);
  for (let i = 0; i < ROUNDS; i++) {
    state = (state + 0x9e3779b97f4a7c15n) & MASK_64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK_64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK_64;
    z ^= z >> 31n;
    keys[i] = Number(BigInt.asIntN(32, z ^ (z >> 32n)));
  }
  return keys;
}

/** A 32-bit bijective integer mix (xor-shift-multiply, good avalanche). */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x;
}

/** Feistel with cycle-walking on Numbers; both halves are < 2^27. */
function numberFeistel(
  size: number,
  halfBits: number,
  keys: Int32Array,
): (index: number) => number {
  const base = 2 ** halfBits;
  const mask = base - 1;
  // x < size ⇔ (high, low) < (sizeHigh, sizeLow): compared by halves so that
  // no value above 2^53 is ever formed.
  const sizeHigh = Math.floor(size / base);
  const sizeLow = size - sizeHigh * base;
  return (index: number): number => {
    let left = Math.floor(index / base);
    let right = index - left * base;
    do {
      for (let i = 0; i < ROUNDS; i++) {
        const next = left ^ (mix32(right ^ keys[i]!) & mask);
        left = right;
        right = next;
      }
    } while (left > sizeHigh || (left === sizeHigh && right >= sizeLow));
    return left * base + right;
  };
}

/** Feistel with cycle-walking on bigints, for any size; equals the Number path where both apply. */
function bigFeistel(size: bigint, halfBits: number, keys: Int32Array): (index: bigint) => bigint {
  const shift = BigInt(halfBits);
  const mask = (1n << shift) - 1n;
  const limbs = Math.ceil(halfBits / 32);
  const round = (key: number, half: bigint): bigint => {
    if (limbs === 1) return BigInt(mix32(Number(half) ^ key) >>> 0) & mask;
    let acc = key;
    for (let j = 0; j < limbs; j++) {
      acc = mix32(acc ^ Number(BigInt.asUintN(32, half >> BigInt(32 * j))));
    }
    let out = BigInt(acc >>> 0);
    for (let j = 1; j < limbs; j++) {
      out |= BigInt(mix32((acc + Math.imul(j, 0x9e3779b9)) | 0) >>> 0) << BigInt(32 * j);
    }
    return out & mask;
  };
  return (index: bigint): bigint => {
    let x = index;
    do {
      let left = x >> shift;
      let right = x & mask;
      for (let i = 0; i < ROUNDS; i++) {
        const next = left ^ round(keys[i]!, right);
        left = right;
        right = next;
      }
      x = (left << shift) | right;
    } while (x >= size);
    return x;
  };
}
