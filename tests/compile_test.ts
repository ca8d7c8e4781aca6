/**
 * `deno task compile` builds one binary that scans. Building needs the Deno
 * runtime for the target (denort), downloaded unless DENORT_BIN points at
 * it; where neither works the test is reported as skipped, with the reason.
 */
import assert from "node:assert/strict";
import { ROOT } from "./helpers.ts";
import { compileFailure } from "../scripts/compile.ts";

const decoder = new TextDecoder();
const dir = await Deno.makeTempDir({ prefix: "portolan-compile-" });
const binary = `${dir}/dist/portolan`;

async function compile(): Promise<{ ok: true } | { ok: false; why: string }> {
  // What `deno task compile` runs, with the output in a temporary directory.
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-npm",
      "--allow-run=deno",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      `${ROOT}scripts/compile.ts`,
      "--output",
      binary,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (output.code === 0) return { ok: true };
  const stderr = decoder.decode(output.stderr);
  // One line, never Deno's backtrace.
  assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
  // And no empty output folder left behind.
  await assert.rejects(() => Deno.stat(`${dir}/dist`), Deno.errors.NotFound);
  if (/DENORT_BIN=\/path\/to\/denort/.test(stderr) && Deno.env.get("DENORT_BIN") === undefined) {
    return {
      ok: false,
      why: "the denort runtime cannot be downloaded here and DENORT_BIN is not set",
    };
  }
  throw new Error(`deno task compile failed:\n${stderr}`);
}

const built = await compile();

if (!built.ok) {
  await Deno.remove(dir, { recursive: true });
  Deno.test({
    name: `compile: single binary (SKIPPED, not built: ${built.why})`,
    ignore: true,
    fn(): void {},
  });
} else {
  Deno.test("compile: the single binary reports its version and scans loopback", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    try {
      const version = await new Deno.Command(binary, { args: ["--version"], stdout: "piped" })
        .output();
      assert.match(decoder.decode(version.stdout), /^portolan \d+\.\d+\.\d+\n$/);
      const scan = await new Deno.Command(binary, {
        args: ["-Pn", "-p", String(port), "-oJ", "-", "127.0.0.1"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(scan.code, 0, decoder.decode(scan.stderr));
      const report = JSON.parse(decoder.decode(scan.stdout));
      assert.equal(report.hosts[0].ports[0].state, "open");
    } finally {
      listener.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("compile: a runtime that cannot be had is one line naming DENORT_BIN", () => {
  const download =
    "error: Writing deno compile executable to temporary file 'dist/portolan.tmp'\n" +
    "Caused by:\n    0: Setting up base binary.\n    1: error sending request for url " +
    "(https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): dns error\n" +
    "Stack backtrace:\n   0: <unknown>\n";
  const line = compileFailure(download, undefined);
  assert.match(line, /DENORT_BIN=\/path\/to\/denort/);
  assert.doesNotMatch(line, /\n|backtrace/);
  assert.match(compileFailure(download, "/opt/denort"), /DENORT_BIN=\/opt\/denort/);
});

Deno.test("compile: DENORT_BIN naming no file is one line, before anything is made", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portolan-compile-" });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-run=deno",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        `${ROOT}scripts/compile.ts`,
        "--output",
        `${dir}/dist/portolan`,
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", DENORT_BIN: `${dir}/no-such-denort` },
    }).output();
    assert.equal(output.code, 1);
    assert.equal(
      decoder.decode(output.stderr),
      `portolan: cannot build the binary: DENORT_BIN=${dir}/no-such-denort does not exist\n`,
    );
    await assert.rejects(() => Deno.stat(`${dir}/dist`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every worker module the scanner starts is embedded by the compile task", async () => {
  const { WORKER_MODULES } = await import("../scripts/compile.ts");
  const started: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
        const text = await Deno.readTextFile(path);
        for (
          const match of text.matchAll(/new Worker\(\s*new URL\("([^"]+)", import\.meta\.url\)/g)
        ) {
          started.push(new URL(match[1]!, `file://${path}`).pathname);
        }
      }
    }
  };
  await walk(`${ROOT}src`);
  assert.ok(started.length >= 3, `found ${started.length} workers`);
  for (const path of started) assert.ok(WORKER_MODULES.includes(path), `${path} not embedded`);
  for (const path of WORKER_MODULES) await Deno.stat(path);
});

Deno.test("the binary runs with the scan task's V8 flags", async () => {
  const { BINARY_V8_FLAGS } = await import("../scripts/compile.ts");
  const { taskV8Flags } = await import("./permissions.ts");
  assert.deepEqual(taskV8Flags("scan"), [BINARY_V8_FLAGS]);
  assert.deepEqual(taskV8Flags("scan:noffi"), [BINARY_V8_FLAGS]);
});
