import assert from "node:assert/strict";
import fc from "fast-check";
import { CompletionTracker } from "./connect_scan.ts";
import { RawCompletion } from "./completion.ts";

Deno.test("RawCompletion advances over finished positions and lists those above", () => {
  const completion = new RawCompletion();
  for (const index of [1, 2, 5]) completion.complete(index);
  assert.deepEqual(completion.point(), { next: 0, done: [1, 2, 5] });
  completion.complete(0);
  assert.deepEqual(completion.point(), { next: 3, done: [5] });
  completion.complete(2); // finished already
  completion.complete(3);
  completion.complete(4);
  assert.deepEqual(completion.point(), { next: 6, done: [] });
  const resumed = new RawCompletion({ next: 10, done: [11, 20_000] });
  resumed.complete(10);
  assert.deepEqual(resumed.point(), { next: 12, done: [20_000] });
});

Deno.test("property: RawCompletion keeps the same resume points as CompletionTracker", () => {
  fc.assert(
    fc.property(
      // Positions finishing nearly in order, with some far ahead (a window that must grow).
      fc.array(fc.oneof(fc.nat(300), fc.nat(40_000)), { maxLength: 400 }),
      fc.nat(50),
      (indexes, start) => {
        const resume = { next: start, done: [start + 3, start + 70] };
        const tracker = new CompletionTracker(resume);
        const completion = new RawCompletion(resume);
        for (const index of indexes) {
          tracker.complete(index);
          completion.complete(index);
          assert.equal(completion.next, tracker.point().next);
        }
        assert.deepEqual(completion.point(), tracker.point());
      },
    ),
    { numRuns: 300 },
  );
});
