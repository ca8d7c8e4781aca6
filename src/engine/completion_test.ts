import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: not in deno.json, so the scanner never fetches it
import fc from "npm:fast-check@4.11.0";
import { Completion } from "./completion.ts";
import type { ResumePoint } from "./types.ts";
import { fuzzBudget } from "../testing/fuzz.ts";

Deno.test("Completion advances over finished positions and lists those above", () => {
  const completion = new Completion();
  for (const index of [1, 2, 5]) completion.complete(index);
  assert.deepEqual(completion.point(), { next: 0, done: [1, 2, 5] });
  completion.complete(0);
  assert.deepEqual(completion.point(), { next: 3, done: [5] });
  completion.complete(2); // finished already
  completion.complete(3);
  completion.complete(4);
  assert.deepEqual(completion.point(), { next: 6, done: [] });
  const resumed = new Completion({ next: 10, done: [11, 20_000] });
  resumed.complete(10);
  assert.deepEqual(resumed.point(), { next: 12, done: [20_000] });
});

/** The plain model: a set of finished positions and the first one missing. */
function modelPoint(finished: ReadonlySet<number>): ResumePoint {
  let next = 0;
  while (finished.has(next)) next++;
  return { next, done: [...finished].filter((i) => i > next).sort((a, b) => a - b) };
}

Deno.test("property: Completion keeps the resume points of the plain set model", () => {
  fc.assert(
    fc.property(
      // Positions finishing nearly in order, with some far ahead (a window that must grow).
      fc.array(fc.oneof(fc.nat(300), fc.nat(40_000)), { maxLength: 400 }),
      fc.nat(50),
      (indexes, start) => {
        const resume = { next: start, done: [start + 3, start + 70] };
        const finished = new Set([...Array(start).keys(), ...resume.done]);
        const completion = new Completion(resume);
        for (const index of indexes) {
          finished.add(index);
          completion.complete(index);
          assert.equal(completion.next, modelPoint(finished).next);
        }
        assert.deepEqual(completion.point(), modelPoint(finished));
      },
    ),
    fuzzBudget(300, 20261203),
  );
});
