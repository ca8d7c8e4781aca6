import assert from "node:assert/strict";
import type { Attempt } from "./connect_types.ts";
import { DeadlineHeap } from "./deadline_heap.ts";

function attempt(deadline: number): Attempt {
  return {
    seq: 0,
    index: 0,
    hostIndex: 0n,
    host: { family: 4, value: 0n, address: "0.0.0.0" },
    port: 1,
    tries: 1,
    previousSeq: -1,
    sentAt: 0,
    deadline,
    done: false,
    slot: -1,
  };
}

Deno.test("deadline heap pops in deadline order and skips finished attempts", () => {
  const heap = new DeadlineHeap();
  const deadlines = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1000);
  const attempts = deadlines.map(attempt);
  for (const a of attempts) heap.push(a);
  for (let i = 0; i < attempts.length; i += 3) attempts[i]!.done = true;
  const expected = attempts.filter((a) => !a.done).map((a) => a.deadline).sort((a, b) => a - b);
  const popped: number[] = [];
  for (let a = heap.pop(); a !== undefined; a = heap.pop()) popped.push(a.deadline);
  assert.deepEqual(popped, expected);
  assert.equal(heap.peek(), undefined);
});
