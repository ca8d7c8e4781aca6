/**
 * `deno task compile` builds one binary that scans. Building needs the Deno
 * runtime for the target (denort), downloaded unless DENORT_BIN points at
 * it; where neither works the test is reported as skipped, with the reason.
 */
import assert from "node:assert/strict";
import { ROOT } from "./helpers.ts";

const decoder = new TextDecoder();
const dir = await Deno.makeTempDir({ prefix: "portolan-compile-" });
const binary = `${dir}/portolan`;

async function compile(): Promise<{ ok: true } | { ok: false; why: string }> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const task: string = config.tasks.compile;
  // The task's own flags, with the output redirected to a temporary directory.
  const args = task.split(/\s+/).slice(1).map((arg, i, all) =>
    all[i - 1] === "--output" ? binary : arg
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  if (output.code === 0) return { ok: true };
  const stderr = decoder.decode(output.stderr);
  const download = /error sending request|dns error|failed to lookup|Download/i.test(stderr);
  if (download && Deno.env.get("DENORT_BIN") === undefined) {
    return {
      ok: false,
      why: "the denort runtime cannot be downloaded here and DENORT_BIN is not set",
    };
  }
  throw new Error(`deno compile failed:\n${stderr}`);
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
