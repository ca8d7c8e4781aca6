/**
 * Damaged resume states through the real command: each refused with exit 2
 * and one line, before anything is touched (the state file, the earlier
 * run's outputs, the database).
 */
import assert from "node:assert/strict";
import { DAMAGED, validState } from "../src/cli/resume_fixtures.ts";
import { portolan } from "./helpers.ts";

const OLD = '{"partial":"outputs of the interrupted run"}\n';

Deno.test(`--resume with ${DAMAGED.length} damaged states: exit 2, one line, nothing touched`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-resume-" });
  try {
    // The same scan on loopback (127.0.0.2-3), writing -oJ where the interrupted run did.
    const base = JSON.parse(
      JSON.stringify(validState()).replaceAll("198.51.100.", "127.0.0."),
    );
    base.args = [...base.args, "--no-db", "-oJ", `${dir}/out.json`];
    const refused: string[] = [];
    for (const [what, damage] of DAMAGED) {
      const state = structuredClone(base);
      damage(state);
      // Mutations that name 198.51.100.x/203.0.113.x addresses: keep them off-target either way.
      const text = JSON.stringify(state);
      await Deno.writeTextFile(`${dir}/state.json`, text);
      await Deno.writeTextFile(`${dir}/out.json`, OLD);
      const result = await portolan(["--resume", `${dir}/state.json`], { timeoutMs: 30_000 });
      assert.equal(result.code, 2, `${what}: ${result.stderr}`);
      const lines = result.stderr.trimEnd().split("\n");
      assert.match(
        lines[0]!,
        /^portolan: Cannot resume from ".*state\.json": damaged \(.+\)$/,
        what,
      );
      assert.equal(result.stdout, "", what);
      assert.equal(await Deno.readTextFile(`${dir}/state.json`), text, `${what}: state kept`);
      assert.equal(await Deno.readTextFile(`${dir}/out.json`), OLD, `${what}: output kept`);
      refused.push(what);
    }
    assert.equal(refused.length, DAMAGED.length);
    const left: string[] = [];
    for await (const entry of Deno.readDir(dir)) left.push(entry.name);
    assert.deepEqual(left.sort(), ["out.json", "state.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--resume of a directory or /dev/zero: exit 2, one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-resume-" });
  try {
    for (const path of [dir, "/dev/zero"]) {
      const result = await portolan(["--resume", path]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^portolan: Cannot resume from /);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
