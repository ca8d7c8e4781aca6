import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: not in deno.json, so the scanner never fetches it
import fc from "npm:fast-check@4.11.0";
import { IndexTable } from "./index_table.ts";
import { fuzzBudget } from "../testing/fuzz.ts";

Deno.test("index table: get, set, overwrite and delete", () => {
  const table = new IndexTable(4);
  assert.equal(table.get(7), -1);
  table.set(7, 1);
  table.set(2 ** 40 + 7, 2);
  table.set(7, 3);
  assert.equal(table.size, 2);
  assert.equal(table.get(7), 3);
  assert.equal(table.get(2 ** 40 + 7), 2);
  assert.equal(table.delete(7), true);
  assert.equal(table.delete(7), false);
  assert.equal(table.get(7), -1);
  assert.equal(table.get(2 ** 40 + 7), 2);
  assert.equal(table.size, 1);
});

Deno.test("index table: keys up to 2^53 and growth past the expected size", () => {
  const table = new IndexTable(2);
  const keys = [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 123456789012345];
  keys.forEach((key, value) => table.set(key, value));
  keys.forEach((key, value) => assert.equal(table.get(key), value));
  assert.equal(table.size, keys.length);
});

// Random runs of adds and deletes over a small key space (most deletes hit) (long probe runs,
// deletions that must shift entries back across the table's end), checked
// against a Map after every step.
Deno.test("index table: behaves as a Map under any sequence of sets and deletes", () => {
  const op = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 }), fc.nat(1000));
  fc.assert(
    fc.property(fc.array(op, { maxLength: 600 }), fc.constantFrom(1, 8, 64), (ops, expected) => {
      const table = new IndexTable(expected);
      const model = new Map<number, number>();
      // Keys spread as a scan's are: a host index times the ports, plus a port.
      const keyOf = (k: number): number => (k % 37) * 65536 + Math.floor(k / 37);
      for (const [add, k, value] of ops) {
        const key = keyOf(k);
        if (add) {
          table.set(key, value);
          model.set(key, value);
        } else {
          assert.equal(table.delete(key), model.delete(key));
        }
        assert.equal(table.size, model.size);
        for (let k = 0; k <= 40; k++) assert.equal(table.get(keyOf(k)), model.get(keyOf(k)) ?? -1);
      }
    }),
    fuzzBudget(5000, 17),
  );
});
