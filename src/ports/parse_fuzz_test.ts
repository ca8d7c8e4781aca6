import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: not in deno.json, so the scanner never fetches it
import fc from "npm:fast-check@4.11.0";
import { parsePorts } from "./parse.ts";
import { fuzzBudget } from "../testing/fuzz.ts";

const CASES = 100_000;

const portLike = fc.oneof(
  fc.string({ unit: fc.constantFrom(..."0123456789-,:TUSPtu ".split("")), maxLength: 40 }),
  fc.string({ maxLength: 40 }),
  fc.array(fc.integer({ min: -10, max: 70_000 }), { maxLength: 8 }).map((ports) => ports.join(",")),
  fc.tuple(fc.integer({ min: -10, max: 70_000 }), fc.integer({ min: -10, max: 70_000 })).map((
    [a, b],
  ) => `${a}-${b}`),
);

Deno.test(`fuzz: the port parser only ever rejects with SyntaxError/RangeError (${CASES} cases)`, () => {
  let rejected = 0;
  fc.assert(
    fc.property(portLike, (spec) => {
      try {
        const { tcp, udp } = parsePorts(spec);
        for (const list of [tcp, udp]) {
          if (list.length === 0) continue;
          const first = list[0]!;
          const last = list[list.length - 1]!;
          assert.ok(first >= 0 && last <= 65535 && list.length <= last - first + 1);
          // Ascending and unique, checked on a sample (a full check makes -p- cases slow).
          const step = Math.max(1, Math.floor(list.length / 64));
          for (let i = step; i < list.length; i += step) assert.ok(list[i]! > list[i - step]!);
        }
      } catch (error) {
        rejected++;
        if (!(error instanceof SyntaxError || error instanceof RangeError)) throw error;
        assert.ok(!(error as Error).message.includes("\n"));
      }
    }),
    fuzzBudget(CASES, 20261126),
  );
  console.log(`fuzz: parsePorts ${CASES} cases, 0 crashes (${rejected} rejected)`);
});
