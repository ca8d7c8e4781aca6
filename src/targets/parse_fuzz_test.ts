import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: not in deno.json, so the scanner never fetches it
import fc from "npm:fast-check@4.11.0";
import { parseTargetSpec } from "./parse.ts";
import { createTargetSet } from "./target_set.ts";
import { fuzzBudget } from "../testing/fuzz.ts";

const CASES = 100_000;

/** Strings made mostly of the characters target specs are made of. */
const specLike = fc.oneof(
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef.:/-,*[]% ".split("")), maxLength: 48 }),
  fc.string({ maxLength: 48 }),
  fc.tuple(fc.ipV4(), fc.integer({ min: -5, max: 40 })).map(([ip, prefix]) => `${ip}/${prefix}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: -5, max: 140 })).map(([ip, prefix]) => `${ip}/${prefix}`),
  fc.tuple(fc.ipV4(), fc.ipV4()).map(([a, b]) => `${a}-${b}`),
  fc.domain(),
);

Deno.test(`fuzz: the target parser only ever rejects with SyntaxError/RangeError (${CASES} cases)`, () => {
  let rejected = 0;
  let parsed = 0;
  fc.assert(
    fc.property(specLike, (spec) => {
      try {
        const result = parseTargetSpec(spec);
        parsed++;
        if (result.kind === "ranges") {
          // Whatever parses must build a set with a sane size and first host.
          const set = createTargetSet(result.ranges);
          if (set.size > 0n) set.at(0n);
          assert.ok(set.size >= 0n);
        }
      } catch (error) {
        rejected++;
        if (!(error instanceof SyntaxError || error instanceof RangeError)) throw error;
        assert.ok((error as Error).message.startsWith("Cannot "), (error as Error).message);
        assert.ok(!(error as Error).message.includes("\n"));
      }
    }),
    fuzzBudget(CASES, 20261126),
  );
  console.log(
    `fuzz: parseTargetSpec ${CASES} cases, 0 crashes (${parsed} parsed, ${rejected} rejected)`,
  );
});
