/**
 * Small command-line behaviours: an interrupted -sL exits 130, a closed
 * stdout ends the run quietly, -4/-6 hold for literal addresses and not
 * together, -oA wants a base name, a device output is named plainly.
 */
import assert from "node:assert/strict";
import { portolan, ROOT, SCAN_PERMISSIONS, TEST_STATE_DIR } from "./helpers.ts";

function spawn(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...SCAN_PERMISSIONS, `${ROOT}main.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", XDG_DATA_HOME: `${TEST_STATE_DIR}/data` },
  }).spawn();
}

Deno.test("-sL interrupted by SIGINT exits 130, quietly", async () => {
  const child = spawn(["-sL", "-n", "10.0.0.0/8"]);
  const reader = child.stdout.getReader();
  await reader.read();
  child.kill("SIGINT");
  // Drain what is left so the child is never blocked on a full pipe.
  while (!(await reader.read()).done) { /* drain */ }
  const status = await child.status;
  const stderr = new TextDecoder().decode(
    new Uint8Array(await new Response(child.stderr).arrayBuffer()),
  );
  assert.equal(status.code, 130, stderr);
  assert.doesNotMatch(stderr, /aborted/);
});

Deno.test("-sL whose reader goes away (| head -1) exits 141 without a message", async () => {
  const child = spawn(["-sL", "-n", "10.0.0.0/8"]);
  const reader = child.stdout.getReader();
  await reader.read();
  await reader.cancel();
  const status = await child.status;
  const stderr = new TextDecoder().decode(
    new Uint8Array(await new Response(child.stderr).arrayBuffer()),
  );
  assert.equal(stderr, "");
  assert.equal(status.code, 141);
});

Deno.test("-6 with an IPv4 literal, -4 with an IPv6 one, and -4 -6 together: exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["-6", "-sL", "-n", "127.0.0.1"],
      /^portolan: Cannot scan an IPv4 target with -6 \(the first is 127\.0\.0\.1\)$/,
    ],
    [
      ["-4", "-sL", "-n", "::1"],
      /^portolan: Cannot scan an IPv6 target with -4 \(the first is ::1\)$/,
    ],
    [["-4", "-6", "-sL", "-n", "::1"], /^portolan: Cannot use -4 and -6 together$/],
  ];
  for (const [args, pattern] of cases) {
    const result = await portolan(args);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr.split("\n")[0]!, pattern);
  }
  const six = await portolan(["-6", "-sL", "-n", "::1"]);
  assert.equal(six.code, 0, six.stderr);
});

Deno.test("-oA dir/ is a usage error, not hidden dir/.xml files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-small-" });
  try {
    const result = await portolan(["-oA", `${dir}/`, "-sL", "-n", "127.0.0.1"]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /Cannot use -oA ".*\/": it needs a file name base, not a directory/,
    );
    const left: string[] = [];
    for await (const entry of Deno.readDir(dir)) left.push(entry.name);
    assert.deepEqual(left, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-oJ /dev/full says what is wrong, not to use --allow-all", async () => {
  const result = await portolan(["-Pn", "-p", "1", "-oJ", "/dev/full", "--no-db", "127.0.0.1"]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(
    result.stderr.split("\n")[0]!,
    /^portolan: Cannot open output file "\/dev\/full": a device portolan may not write/,
  );
  assert.doesNotMatch(result.stderr, /allow-all/);
});
