import assert from "node:assert/strict";
import { check, DAMAGED, type Loose, validState } from "./resume_fixtures.ts";
import { readResumeState, writeResumeState } from "./resume.ts";

Deno.test("a valid state passes, and round-trips through its file", async () => {
  assert.deepEqual(check(structuredClone(validState())), validState());
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/nested/resume.json`;
    await writeResumeState(path, validState());
    assert.deepEqual(await readResumeState(path), validState());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(`${DAMAGED.length} damaged variants of a valid state: each refused with one "damaged (…)" line`, () => {
  assert.ok(DAMAGED.length >= 40);
  for (const [what, damage] of DAMAGED) {
    const state: Loose = structuredClone(validState());
    damage(state);
    assert.throws(() => check(state), (error: unknown) => {
      assert.ok(error instanceof SyntaxError, what);
      assert.match(error.message, /^Cannot resume from "r\.json": damaged \(.+\)$/, what);
      assert.ok(!/[\n\r]/.test(error.message), what);
      return true;
    }, what);
  }
});

Deno.test("a sound service of the wrong shape is narrowed to the model, not passed through", () => {
  const state: Loose = structuredClone(validState());
  // Each field is text or a number, so nothing is damaged; but `version`,
  // `method` and `extra` are not what a service holds.
  state.report.hosts[0].ports[0].service = {
    name: "ssh",
    version: 9,
    method: "guessed",
    extra: "x",
    cpe: ["cpe:/a:x"],
  };
  const read = check(state);
  assert.deepEqual(read.report.hosts[0]?.ports[0]?.service, { name: "ssh", cpe: ["cpe:/a:x"] });
  // Nothing that fits: no service.
  const bare: Loose = structuredClone(validState());
  bare.report.hosts[0].ports[0].service = { extra: "x" };
  assert.ok(!("service" in (check(bare).report.hosts[0]?.ports[0] ?? {})));
});

Deno.test("corrupt, foreign, newer and non-files are refused with one clear line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string, RegExp][] = [
      ["\u0000\u00ff garbage", /holds a NUL byte/],
      ["{ not json", /not valid JSON/],
      [JSON.stringify({ hello: "world" }), /not a portolan resume file/],
      [JSON.stringify({ ...validState(), version: 99 }), /version 99 is newer/],
    ];
    for (const [text, pattern] of cases) {
      const path = `${dir}/r.json`;
      await Deno.writeTextFile(path, text);
      await assert.rejects(() => readResumeState(path), (error: Error) => {
        assert.ok(error instanceof SyntaxError);
        assert.match(error.message, pattern);
        assert.match(error.message, /^Cannot resume from ".*r\.json": /);
        return true;
      });
    }
    await assert.rejects(() => readResumeState(`${dir}/missing.json`), /No such file/);
    await assert.rejects(() => readResumeState(dir), /^SyntaxError: Cannot resume from ".*": /);
    await assert.rejects(() => readResumeState("/dev/zero"), /NUL byte/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
