/**
 * Interrupts on loopback: the first SIGINT stops the scan cleanly (outputs
 * whole, resume state written), a second one ends the process at once.
 */
import assert from "node:assert/strict";
import { ROOT, SCAN_PERMISSIONS, TEST_STATE_DIR } from "./helpers.ts";

function spawn(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...SCAN_PERMISSIONS, `${ROOT}main.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", XDG_DATA_HOME: `${TEST_STATE_DIR}/data` },
  }).spawn();
}

async function waitForOutput(child: Deno.ChildProcess): Promise<{ code: number; stderr: string }> {
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const output = await child.output();
  clearTimeout(timer);
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

/** A slow scan (rate-capped) that is still running when interrupted. */
const SLOW = ["-Pn", "-p-", "--max-rate", "2000", "--no-db", "127.0.0.1"];

Deno.test("SIGINT: outputs are closed whole and a resume state is written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const child = spawn([
      ...SLOW,
      "--resume-file",
      `${dir}/state.json`,
      "-oJ",
      `${dir}/out.json`,
      "-oX",
      `${dir}/out.xml`,
      "--output",
      `jsonl:${dir}/out.jsonl`,
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill("SIGINT");
    const result = await waitForOutput(child);
    assert.equal(result.code, 130, result.stderr);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/out.json`));
    assert.ok(json.end !== "", "the JSON report is closed");
    const xml = await Deno.readTextFile(`${dir}/out.xml`);
    assert.match(xml.trimEnd(), /<\/nmaprun>$/, "the XML is well-formed to its end");
    const lines = (await Deno.readTextFile(`${dir}/out.jsonl`)).trimEnd().split("\n");
    for (const line of lines) JSON.parse(line);
    assert.ok(lines.length > 1);
    const state = JSON.parse(await Deno.readTextFile(`${dir}/state.json`));
    assert.equal(state.format, "portolan-resume");
    assert.ok(state.point.next > 0 && state.point.next < 65535, `progress ${state.point.next}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
