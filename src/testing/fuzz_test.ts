import assert from "node:assert/strict";
import { fuzzBudget } from "./fuzz.ts";

function withEnv(values: Record<string, string | undefined>, fn: () => void): void {
  const saved = Object.fromEntries(Object.keys(values).map((name) => [name, Deno.env.get(name)]));
  try {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
    fn();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
}

Deno.test("fuzz budget: a small share by default, the full budget or N cases on demand, seeds replayable", () => {
  withEnv({ FUZZ_RUNS: undefined, FUZZ_SEED: undefined }, () => {
    assert.deepEqual(fuzzBudget(100_000, 7), { numRuns: 2000, seed: 7 });
    assert.deepEqual(fuzzBudget(300, 7), { numRuns: 50, seed: 7 });
    assert.deepEqual(fuzzBudget(20, 7), { numRuns: 20, seed: 7 });
  });
  withEnv({ FUZZ_RUNS: "full", FUZZ_SEED: "12345" }, () => {
    assert.deepEqual(fuzzBudget(100_000, 7), { numRuns: 100_000, seed: 12345 });
  });
  withEnv({ FUZZ_RUNS: "10", FUZZ_SEED: "" }, () => {
    assert.deepEqual(fuzzBudget(100_000, 7), { numRuns: 10, seed: 7 });
  });
  withEnv({ FUZZ_RUNS: "lots", FUZZ_SEED: undefined }, () => {
    assert.throws(() => fuzzBudget(10, 1), /Cannot use FUZZ_RUNS="lots"/);
  });
  withEnv({ FUZZ_RUNS: undefined, FUZZ_SEED: "x" }, () => {
    assert.throws(() => fuzzBudget(10, 1), /Cannot use FUZZ_SEED="x"/);
  });
});
