import assert from "node:assert/strict";
import { withOptions } from "../plugin/mod.ts";
import { checkedDefaults, makeOutput, optionDefaults, typedOptions } from "./output_options.ts";
import type { OutputPlugin } from "../plugin/types.ts";

const DEFAULTS = { title: "Scan", rows: 5000, ratio: 0.5, dark: false };

Deno.test("typedOptions converts each value to its default's type", () => {
  assert.deepEqual(
    typedOptions("html", { title: "42", rows: "100", ratio: "1e-1", dark: "true" }, DEFAULTS),
    { title: "42", rows: 100, ratio: 0.1, dark: true },
  );
  // A bare key turns a boolean on; "false" turns it off; an empty string stays a string.
  assert.deepEqual(typedOptions("html", { dark: "", title: "" }, DEFAULTS), {
    dark: true,
    title: "",
  });
  assert.deepEqual(typedOptions("html", { dark: "false" }, DEFAULTS), { dark: false });
  assert.deepEqual(typedOptions("html", {}, DEFAULTS), {});
});

Deno.test("typedOptions refuses a bad value, naming the option, the output and why", () => {
  for (
    const [given, message] of [
      [
        { rows: "many" },
        'Cannot parse option "rows" of output "html": expected a number, got "many"',
      ],
      [{ rows: "" }, 'Cannot parse option "rows" of output "html": expected a number, got ""'],
      [
        { rows: "Infinity" },
        'Cannot parse option "rows" of output "html": expected a number, got "Infinity"',
      ],
      [
        { dark: "yes" },
        'Cannot parse option "dark" of output "html": expected true or false, got "yes"',
      ],
    ] as const
  ) {
    assert.throws(() => typedOptions("html", given, DEFAULTS), new SyntaxError(message));
  }
});

Deno.test("typedOptions refuses an unknown key, naming the keys the output takes", () => {
  assert.throws(
    () => typedOptions("html", { colour: "red" }, DEFAULTS),
    new RangeError(
      'Cannot use option "colour" of output "html": it takes dark, ratio, rows, title',
    ),
  );
  assert.throws(
    () => typedOptions("csv", { x: "1" }, {}),
    new RangeError('Cannot use option "x" of output "csv": it takes no options'),
  );
  // Not even what every object has.
  assert.throws(() => typedOptions("csv", { toString: "1" }, {}), RangeError);
});

Deno.test("optionDefaults reads a withOptions factory's settable defaults; others take none", () => {
  const factory = withOptions({ ...DEFAULTS, tags: ["a"], when: undefined }, (o) => o);
  assert.deepEqual(optionDefaults(factory), DEFAULTS);
  assert.deepEqual(optionDefaults(() => ({})), {});
  assert.deepEqual(optionDefaults(Object.assign(() => ({}), { defaults: 3 })), {});
  assert.deepEqual(optionDefaults(undefined), {});
});

Deno.test("checkedDefaults takes only a record of strings, finite numbers and booleans", () => {
  assert.deepEqual(checkedDefaults({ a: "x", b: 1, c: true }), { a: "x", b: 1, c: true });
  for (const bad of [null, [], "x", { a: {} }, { a: NaN }, { a: null }]) {
    assert.equal(checkedDefaults(bad), undefined, JSON.stringify(bad));
  }
});

Deno.test("makeOutput calls a factory with the options, or with none", () => {
  const seen: unknown[] = [];
  const factory = (options?: unknown): OutputPlugin => {
    seen.push(options);
    return { name: "x", description: "d", write: () => Promise.resolve() };
  };
  makeOutput(factory);
  makeOutput(factory, { rows: 3 });
  assert.deepEqual(seen, [undefined, { rows: 3 }]);
});
