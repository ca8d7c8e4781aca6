import assert from "node:assert/strict";
// The oracle: what these helpers replace in the scanner.
import * as nodePath from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
// deno-lint-ignore no-import-prefix -- test-only: not in deno.json, so the scanner never fetches it
import fc from "npm:fast-check@4.11.0";
import { fuzzBudget } from "./testing/fuzz.ts";
import {
  basename,
  dirname,
  fromFileUrl,
  isAbsolute,
  join,
  normalize,
  resolve,
  toFileUrl,
} from "./path.ts";

// Paths built from the pieces that trip path code: dots, empty and repeated
// slashes, and names a URL would read as syntax.
const segment = fc.constantFrom("", ".", "..", "a", "b c", "%41", "#x", "?q", "é", "\\", "t\tn\n");
const path = fc.array(segment, { maxLength: 6 }).chain((parts) =>
  fc.boolean().map((rooted) => (rooted ? "/" : "") + parts.join("/"))
);

Deno.test("path: normalize, join, resolve, dirname and basename agree with node:path", () => {
  fc.assert(
    fc.property(path, path, (a, b) => {
      assert.equal(isAbsolute(a), nodePath.isAbsolute(a));
      assert.equal(normalize(a || "."), nodePath.normalize(a || ".").replace(/([^])\/$/, "$1"));
      assert.equal(join(a, b), nodePath.join(a, b).replace(/([^])\/$/, "$1"));
      assert.equal(resolve(a, b), nodePath.resolve(a, b));
      assert.equal(resolve("/base", a), nodePath.resolve("/base", a));
      // node:path keeps repeated slashes ("a//b" → "a/"); the same directory either way.
      assert.equal(dirname(a), normalize(nodePath.dirname(a)));
      assert.equal(basename(a), nodePath.basename(a));
    }),
    fuzzBudget(20_000, 23),
  );
});

Deno.test("path: file URLs round-trip every name and match node:url's", () => {
  fc.assert(
    fc.property(path, (a) => {
      const absolute = resolve("/", a);
      const url = toFileUrl(absolute);
      assert.equal(url.href, pathToFileURL(absolute).href);
      assert.equal(fromFileUrl(url), absolute);
      assert.equal(fromFileUrl(url.href), fileURLToPath(url));
    }),
    fuzzBudget(20_000, 29),
  );
});

Deno.test("path: a relative path or a non-file URL is refused", () => {
  assert.throws(() => toFileUrl("a/b"), TypeError);
  assert.throws(() => fromFileUrl("https://example.com/"), TypeError);
});
