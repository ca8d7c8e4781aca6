/**
 * Paths a user gives are the user's: `deno task scan` runs in the folder of
 * deno.json, yet relative outputs, -iL, --excludefile, --plugin, --db and
 * --resume-file are taken from where the user ran it (`INIT_CWD`).
 */
import assert from "node:assert/strict";
import { ROOT } from "./helpers.ts";

const decoder = new TextDecoder();

/** `deno task … scan ARGS` run from `cwd`, as a user's shell would (no INIT_CWD of ours). */
async function task(
  cwd: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const home = await Deno.makeTempDir({ prefix: "ptl-paths-home-" });
  try {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "--config", `${ROOT}deno.json`, "scan", ...args],
      cwd,
      clearEnv: true,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: home,
        XDG_DATA_HOME: `${home}/data`,
        XDG_STATE_HOME: `${home}/state`,
        NO_COLOR: "1",
        ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/** Close a listener the test may have closed already. */
function closeIfOpen(listener: Deno.Listener): void {
  try {
    listener.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("deno task scan from a subfolder: relative outputs, -iL, --excludefile and --db land there", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptl-paths-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const here = `${dir}/a/b`;
    await Deno.mkdir(`${here}/out`, { recursive: true });
    await Deno.writeTextFile(`${here}/targets.txt`, "127.0.0.1\n127.0.0.2\n");
    await Deno.writeTextFile(`${here}/skip.txt`, "127.0.0.2\n");
    const result = await task(here, [
      "-Pn",
      "-p",
      String(port),
      "-iL",
      "targets.txt",
      "--excludefile",
      "skip.txt",
      "-oN",
      "sub.txt",
      "-oJ",
      "out/rel.json",
      "-oA",
      "all",
      "--db",
      "history.db",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(await Deno.readTextFile(`${here}/out/rel.json`));
    assert.deepEqual(report.hosts.map((host: { address: string }) => host.address), [
      "127.0.0.1",
    ]);
    assert.equal(report.hosts[0].ports[0].state, "open");
    assert.match(await Deno.readTextFile(`${here}/sub.txt`), new RegExp(`${port}/tcp +open`));
    for (const file of ["all.nmap", "all.xml", "all.gnmap", "all.json", "history.db"]) {
      assert.ok(await exists(`${here}/${file}`), `${file} is where the user stood`);
    }
    for (const file of ["sub.txt", "out", "all.json", "history.db"]) {
      assert.equal(await exists(`${ROOT}${file}`), false, `${file} is not in the repository`);
    }
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task scan from examples/: --plugin output_markdown.ts is examples' file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptl-paths-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const result = await task(`${ROOT}examples`, [
      "-Pn",
      "-p",
      String(port),
      "127.0.0.1",
      "--no-db",
      "--plugin",
      "output_markdown.ts",
      "--output",
      `markdown:${dir}/scan.md`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(await Deno.readTextFile(`${dir}/scan.md`), /1 open ports/);
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a relative plugin that is not where the user stood names the user's path", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptl-paths-" });
  try {
    const result = await task(dir, ["-sL", "-n", "127.0.0.1", "--plugin", "missing.ts"]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`"${dir}/missing\\.ts"`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an interrupted run names the command the user ran; --resume from elsewhere writes where it began", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptl-paths-" });
  const permissions = [
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-env",
    "--allow-ffi",
  ];
  const run = (cwd: string, args: readonly string[]): Deno.ChildProcess =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", ...permissions, `${ROOT}main.ts`, ...args],
      cwd,
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: dir, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  try {
    // A rate-capped scan, still running when interrupted.
    const first = run(dir, [
      "-Pn",
      "-p",
      "1-20000",
      "--max-rate",
      "2000",
      "--no-db",
      "127.0.0.1",
      "-oJ",
      "out.json",
      "--resume-file",
      "state.json",
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    first.kill("SIGINT");
    const stopped = await first.output();
    const stderr = decoder.decode(stopped.stderr);
    assert.equal(stopped.code, 130, stderr);
    assert.match(stderr, new RegExp(`Resume with: deno task scan --resume ${dir}/state\\.json\\n`));
    const state = JSON.parse(await Deno.readTextFile(`${dir}/state.json`));
    assert.equal(state.cwd, dir);
    await Deno.remove(`${dir}/out.json`);
    const resumed = await run(ROOT, ["--resume", `${dir}/state.json`]).output();
    assert.equal(resumed.code, 0, decoder.decode(resumed.stderr));
    const report = JSON.parse(await Deno.readTextFile(`${dir}/out.json`));
    assert.equal(report.hosts.length, 1);
    assert.equal(await exists(`${ROOT}out.json`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task scan diff from a subfolder: relative report files are the user's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptl-paths-diff-" });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const scan = ["-Pn", "-n", "--no-db", "-p", String(port), "127.0.0.1"];
    assert.equal((await task(dir, [...scan, "-oJ", "before.json"])).code, 0);
    listener.close();
    assert.equal((await task(dir, [...scan, "-oJ", "after.json"])).code, 0);
    const result = await task(dir, ["diff", "--no-db", "before.json", "after.json"]);
    // A port that closed is a change: exit 1, and the files were read from where the user stood.
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, new RegExp(`${port}/tcp`));
    assert.match(result.stdout, /before\.json/);
  } finally {
    closeIfOpen(listener);
    await Deno.remove(dir, { recursive: true });
  }
});
