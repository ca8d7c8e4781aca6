import assert from "node:assert/strict";
import { sipHash24, sipHash24Halves } from "./siphash.ts";

const KEY = Uint8Array.from({ length: 16 }, (_, i) => i);

/** The message 00 01 02 … of length `n`, as in the reference test vectors. */
function message(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => i);
}

Deno.test("sipHash24() matches the reference vectors (key 00..0f, message 00..n-1)", () => {
  // From the SipHash paper (appendix A) and the reference implementation's vectors.h.
  assert.equal(sipHash24(KEY, message(15)), 0xa129ca6149be45e5n);
  assert.equal(sipHash24(KEY, message(0)), 0x726fdb47dd0e0e31n);
  assert.equal(sipHash24(KEY, message(1)), 0x74f839c593dc67fdn);
  assert.equal(sipHash24(KEY, message(8)), 0x93f5f5799a932462n);
  assert.equal(sipHash24(KEY, message(63)), 0x958a324ceb064572n);
});

Deno.test("sipHash24Halves() agrees with sipHash24() and depends on every key byte", () => {
  const msg = message(40);
  const full = sipHash24(KEY, msg);
  const halves = sipHash24Halves(KEY, msg);
  assert.equal((BigInt(halves[0]!) << 32n) | BigInt(halves[1]!), full);
  for (let i = 0; i < 16; i++) {
    const key = KEY.slice();
    key[i] = key[i]! ^ 1;
    assert.notEqual(sipHash24(key, msg), full, `key byte ${i}`);
  }
  assert.throws(() => sipHash24(new Uint8Array(8), msg), /key length 8 is not 16/);
});
