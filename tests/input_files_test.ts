/**
 * Input files through the real command: a million-line -iL lists every
 * address, a binary or endless input file ends with one line and exit 2,
 * SIGINT ends a read that blocks, and error messages show no raw control.
 */
import assert from "node:assert/strict";
import { rawUnsafe } from "../src/plugin/format.ts";
import { portolan, ROOT, SCAN_PERMISSIONS, TEST_STATE_DIR } from "./helpers.ts";

Deno.test("-sL -n -iL with 1,000,000 lines lists every address", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-input-" });
  try {
    const lines: string[] = [];
    for (let i = 0; i < 1_000_000; i++) {
      lines.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    }
    await Deno.writeTextFile(`${dir}/list.txt`, lines.join("\n") + "\n");
    const result = await portolan(["-sL", "-n", "-iL", `${dir}/list.txt`]);
    assert.equal(result.code, 0, result.stderr.slice(0, 500));
    const listed = result.stdout.split("\n").filter((line) => /^10\./.test(line));
    assert.equal(listed.length, 1_000_000);
    assert.equal(listed.at(-1), "10.15.66.63");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-sL -n: 2,000,000 -iL lines less 1,000,000 --excludefile lines list in a 32 MiB heap", async () => {
  // Memory does not grow with the lists: both stream into merged ranges (a heap that held
  // a string or a number per line ran out of memory here).
  const dir = await Deno.makeTempDir({ prefix: "ptlh-input-" });
  try {
    const quad = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    for (const [name, count] of [["list.txt", 2_000_000], ["skip.txt", 1_000_000]] as const) {
      const file = await Deno.open(`${dir}/${name}`, { write: true, create: true });
      const encoder = new TextEncoder();
      for (let from = 0; from < count; from += 100_000) {
        const lines: string[] = [];
        // Backwards within each block: the list is not already in order.
        for (let i = from + 99_999; i >= from; i--) lines.push(quad(i));
        await file.write(encoder.encode(lines.join("\n") + "\n"));
      }
      file.close();
    }
    const result = await portolan(
      ["-sL", "-n", "-iL", `${dir}/list.txt`, "--excludefile", `${dir}/skip.txt`],
      { permissions: [...SCAN_PERMISSIONS, "--v8-flags=--max-old-space-size=32"] },
    );
    assert.equal(result.code, 0, result.stderr.slice(0, 500));
    const listed = result.stdout.split("\n").filter((line) => /^10\./.test(line));
    assert.equal(listed.length, 1_000_000);
    assert.equal(listed[0], quad(1_000_000));
    assert.equal(listed.at(-1), quad(1_999_999));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("/dev/zero as -iL or --excludefile: one line, exit 2", async () => {
  for (const args of [["-iL", "/dev/zero"], ["--excludefile", "/dev/zero", "127.0.0.1"]]) {
    const result = await portolan(["-sL", "-n", ...args], { timeoutMs: 20_000 });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(
      result.stderr.split("\n")[0],
      'portolan: Cannot read target file "/dev/zero": it holds a NUL byte at line 1 (not a text file)',
    );
  }
});

Deno.test("endless lines on stdin end with one line and exit 2", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...SCAN_PERMISSIONS, `${ROOT}main.ts`, "-sL", "-n", "-iL", "-"],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", XDG_DATA_HOME: `${TEST_STATE_DIR}/data` },
  }).spawn();
  const writer = child.stdin.getWriter();
  const chunk = new TextEncoder().encode("10.0.0.1\n".repeat(100_000));
  const feeding = (async () => {
    try {
      for (;;) await writer.write(chunk);
    } catch { /* the reader left */ }
  })();
  const output = await child.output();
  await feeding;
  assert.equal(output.code, 2);
  assert.match(
    new TextDecoder().decode(output.stderr).split("\n")[0]!,
    /^portolan: Cannot read target file "-": it holds over \d+ entries$/,
  );
});

Deno.test("SIGINT ends -iL on a FIFO no one writes to: exit 130", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-input-" });
  try {
    assert.ok((await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output()).success);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        ...SCAN_PERMISSIONS,
        `${ROOT}main.ts`,
        "-sL",
        "-n",
        "-iL",
        `${dir}/fifo`,
      ],
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1", XDG_DATA_HOME: `${TEST_STATE_DIR}/data` },
    }).spawn();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    child.kill("SIGINT");
    const guard = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const output = await child.output();
    clearTimeout(guard);
    assert.equal(output.code, 130, new TextDecoder().decode(output.stderr));
    assert.match(new TextDecoder().decode(output.stderr), /interrupted/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an error message shows a list line's ESC, BEL and C1 bytes escaped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-input-" });
  try {
    await Deno.writeTextFile(`${dir}/list.txt`, "\x1b]52;c;ZXZpbA==\x07\x1b[2J\u009b\u202e\n");
    const result = await portolan(["-sL", "-n", "-iL", `${dir}/list.txt`]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /\\x1b\]52;c;ZXZpbA==\\x07\\x1b\[2J\\x9b\\u\{202e\}/);
    assert.deepEqual(rawUnsafe(result.stderr), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
