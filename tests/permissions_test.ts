import assert from "node:assert/strict";
import { SCAN_PERMISSIONS, taskPermissions } from "./permissions.ts";

Deno.test("the scan task grants narrow permissions, read from deno.json", () => {
  // Raw scans need FFI; nothing needs all permissions. The plugin sandbox is
  // a Deno child process: running Deno, and nothing else, is allowed.
  assert.ok(SCAN_PERMISSIONS.includes("--allow-ffi"));
  assert.ok(SCAN_PERMISSIONS.includes("--allow-net"));
  for (const flag of ["--allow-all", "-A", "--allow-run"]) {
    assert.ok(!SCAN_PERMISSIONS.includes(flag), flag);
  }
  const run = SCAN_PERMISSIONS.filter((flag) => flag.startsWith("--allow-run"));
  assert.deepEqual(run, ["--allow-run=deno"]);
  assert.throws(() => taskPermissions("no-such-task"), RangeError);
});
