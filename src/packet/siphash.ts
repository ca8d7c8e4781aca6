/**
 * SipHash-2-4 (Aumasson and Bernstein, 2012) with a 128-bit key, computed in
 * 32-bit halves so that hashing a probe tuple allocates nothing and needs no
 * bigint.
 *
 * @module
 */

const out = new Uint32Array(2);

function readLe32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>>
    0;
}

/**
 * SipHash-2-4 of `message` under the 16-byte `key`, as [hi, lo] 32-bit
 * halves in a shared array that the next call overwrites.
 */
export function sipHash24Halves(key: Uint8Array, message: Uint8Array): Uint32Array {
  if (key.length !== 16) {
    throw new RangeError(`Cannot hash with SipHash: key length ${key.length} is not 16`);
  }
  const k0l = readLe32(key, 0);
  const k0h = readLe32(key, 4);
  const k1l = readLe32(key, 8);
  const k1h = readLe32(key, 12);
  // The four 64-bit state words as (high, low) pairs of 32-bit locals.
  let v0h = (k0h ^ 0x736f6d65) >>> 0;
  let v0l = (k0l ^ 0x70736575) >>> 0;
  let v1h = (k1h ^ 0x646f7261) >>> 0;
  let v1l = (k1l ^ 0x6e646f6d) >>> 0;
  let v2h = (k0h ^ 0x6c796765) >>> 0;
  let v2l = (k0l ^ 0x6e657261) >>> 0;
  let v3h = (k1h ^ 0x74656462) >>> 0;
  let v3l = (k1l ^ 0x79746573) >>> 0;
  const length = message.length;
  const whole = length & ~7;
  // Blocks are the whole 8-byte words, then the tail word carrying the length.
  for (let at = 0, final = 0; final === 0; at += 8) {
    let mh: number;
    let ml: number;
    if (at < whole) {
      ml = readLe32(message, at);
      mh = readLe32(message, at + 4);
    } else {
      ml = 0;
      mh = (length & 0xff) << 24;
      for (let i = 0; i < (length & 7); i++) {
        const byte = message[whole + i]!;
        if (i < 4) ml |= byte << (8 * i);
        else mh |= byte << (8 * (i - 4));
      }
      ml >>>= 0;
      mh >>>= 0;
      final = 1;
    }
    v3h = (v3h ^ mh) >>> 0;
    v3l = (v3l ^ ml) >>> 0;
    // Two compression rounds, then four finalisation rounds after the last block.
    const rounds = final ? 6 : 2;
    for (let r = 0; r < rounds; r++) {
      if (final && r === 2) {
        v0h = (v0h ^ mh) >>> 0;
        v0l = (v0l ^ ml) >>> 0;
        v2l = (v2l ^ 0xff) >>> 0;
      }
      let lo: number;
      let t: number;
      // v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32
      lo = v0l + v1l;
      v0h = (v0h + v1h + (lo > 0xffffffff ? 1 : 0)) >>> 0;
      v0l = lo >>> 0;
      t = v1h;
      v1h = ((v1h << 13) | (v1l >>> 19)) >>> 0;
      v1l = ((v1l << 13) | (t >>> 19)) >>> 0;
      v1h = (v1h ^ v0h) >>> 0;
      v1l = (v1l ^ v0l) >>> 0;
      t = v0h;
      v0h = v0l;
      v0l = t;
      // v2 += v3; v3 <<<= 16; v3 ^= v2
      lo = v2l + v3l;
      v2h = (v2h + v3h + (lo > 0xffffffff ? 1 : 0)) >>> 0;
      v2l = lo >>> 0;
      t = v3h;
      v3h = ((v3h << 16) | (v3l >>> 16)) >>> 0;
      v3l = ((v3l << 16) | (t >>> 16)) >>> 0;
      v3h = (v3h ^ v2h) >>> 0;
      v3l = (v3l ^ v2l) >>> 0;
      // v0 += v3; v3 <<<= 21; v3 ^= v0
      lo = v0l + v3l;
      v0h = (v0h + v3h + (lo > 0xffffffff ? 1 : 0)) >>> 0;
      v0l = lo >>> 0;
      t = v3h;
      v3h = ((v3h << 21) | (v3l >>> 11)) >>> 0;
      v3l = ((v3l << 21) | (t >>> 11)) >>> 0;
      v3h = (v3h ^ v0h) >>> 0;
      v3l = (v3l ^ v0l) >>> 0;
      // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32
      lo = v2l + v1l;
      v2h = (v2h + v1h + (lo > 0xffffffff ? 1 : 0)) >>> 0;
      v2l = lo >>> 0;
      t = v1h;
      v1h = ((v1h << 17) | (v1l >>> 15)) >>> 0;
      v1l = ((v1l << 17) | (t >>> 15)) >>> 0;
      v1h = (v1h ^ v2h) >>> 0;
      v1l = (v1l ^ v2l) >>> 0;
      t = v2h;
      v2h = v2l;
      v2l = t;
    }
    if (!final) {
      v0h = (v0h ^ mh) >>> 0;
      v0l = (v0l ^ ml) >>> 0;
    }
  }
  out[0] = v0h ^ v1h ^ v2h ^ v3h;
  out[1] = v0l ^ v1l ^ v2l ^ v3l;
  return out;
}

/** SipHash-2-4 of `message` under the 16-byte `key`, as a 64-bit bigint. */
export function sipHash24(key: Uint8Array, message: Uint8Array): bigint {
  const halves = sipHash24Halves(key, message);
  return (BigInt(halves[0]!) << 32n) | BigInt(halves[1]!);
}
