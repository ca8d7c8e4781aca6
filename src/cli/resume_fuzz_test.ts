import fc from "fast-check";
import { validateResumeState } from "./resume.ts";

const CASES = 100_000;

const valid = {
  format: "portolan-resume",
  version: 1,
  written: "2026-11-26T00:00:00.000Z",
  args: ["-p-", "198.51.100.2"],
  seed: "42",
  point: { next: 3, done: [5] },
  report: { hosts: [{ address: "198.51.100.2", ports: [], extraports: [] }], stats: {} },
};

/** Valid states with one field replaced by anything at all, and arbitrary JSON. */
const stateLike = fc.oneof(
  fc.jsonValue(),
  fc.tuple(fc.constantFrom(...Object.keys(valid)), fc.jsonValue()).map(([key, value]) => ({
    ...valid,
    [key]: value,
  })),
  fc.tuple(fc.jsonValue(), fc.jsonValue()).map(([next, done]) => ({
    ...valid,
    point: { next, done },
  })),
);

Deno.test(`fuzz: the resume reader rejects anything malformed with SyntaxError (${CASES} cases)`, () => {
  let accepted = 0;
  fc.assert(
    fc.property(stateLike, (value) => {
      try {
        validateResumeState(value, "fuzz.json");
        accepted++;
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
      }
    }),
    { numRuns: CASES, seed: 20261126 },
  );
  console.log(`fuzz: resume state ${CASES} cases, 0 crashes (${accepted} accepted)`);
});
