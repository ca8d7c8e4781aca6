/**
 * The fuzz budget of the property tests. Each property names its full
 * budget; a plain `deno task test` runs a small share of it with a fixed
 * seed, so the suite stays quick and repeatable. `FUZZ_RUNS=full` runs the
 * full budget (CI does, with a fresh seed it prints), `FUZZ_RUNS=N` runs N
 * cases a property, and `FUZZ_SEED=N` replays one seed everywhere.
 *
 * ```ts
 * import fc from "npm:fast-check@4.11.0";
 * import { fuzzBudget } from "./fuzz.ts";
 *
 * fc.assert(fc.property(fc.integer(), (n) => n === n), fuzzBudget(10_000, 7));
 * ```
 *
 * @module
 */

/** Share of a property's full budget run by default. */
const DEFAULT_SHARE = 1 / 50;
/** Fewest cases a property runs by default. */
const DEFAULT_FLOOR = 50;

/** fast-check's run options: how many cases, from which seed. */
export interface FuzzBudget {
  numRuns: number;
  seed: number;
}

function env(name: string): string | undefined {
  const granted = Deno.permissions.querySync({ name: "env", variable: name }).state === "granted";
  return granted ? Deno.env.get(name) : undefined;
}

/**
 * Cases and seed for a property whose full budget is `full` cases and whose
 * own fixed seed is `seed`.
 *
 * @throws {RangeError} when FUZZ_RUNS or FUZZ_SEED is not a number (or "full").
 */
export function fuzzBudget(full: number, seed: number): FuzzBudget {
  const runs = env("FUZZ_RUNS");
  const seedText = env("FUZZ_SEED");
  let numRuns = Math.min(full, Math.max(DEFAULT_FLOOR, Math.round(full * DEFAULT_SHARE)));
  if (runs === "full") numRuns = full;
  else if (runs !== undefined && runs !== "") {
    const value = Number(runs);
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(
        `Cannot use FUZZ_RUNS="${runs}": give a whole number of cases or "full"`,
      );
    }
    numRuns = value;
  }
  let chosen = seed;
  if (seedText !== undefined && seedText !== "") {
    const value = Number(seedText);
    if (!Number.isInteger(value)) {
      throw new RangeError(`Cannot use FUZZ_SEED="${seedText}": give a whole number`);
    }
    chosen = value;
  }
  return { numRuns, seed: chosen };
}
