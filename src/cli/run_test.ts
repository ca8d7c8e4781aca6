/**
 * runCli in-process, on an injected CliIo (no subprocess): exit codes, the
 * one line a user sees on error, and a real connect scan of loopback.
 */
import assert from "node:assert/strict";
import type { CliIo } from "./io.ts";
import { runCli } from "./run.ts";
import { VERSION } from "../version.ts";
import { builtinPlugins } from "../../plugins/mod.ts";
import { defineOutput, withOptions } from "../plugin/mod.ts";

interface Captured {
  io: CliIo;
  stdout(): string;
  stderr(): string;
}

// One scratch home for the file's tests (history and state paths), removed at the end.
const home = Deno.makeTempDirSync({ prefix: "ptl-runcli-" });
globalThis.addEventListener("unload", () => Deno.removeSync(home, { recursive: true }));

function capture(env: Record<string, string> = {}): Captured {
  const out: Uint8Array[] = [];
  let err = "";
  const vars: Record<string, string> = {
    NO_COLOR: "1",
    XDG_DATA_HOME: `${home}/data`,
    XDG_STATE_HOME: `${home}/state`,
    ...env,
  };
  return {
    io: {
      stdout: (bytes) => {
        out.push(bytes.slice());
        return Promise.resolve();
      },
      stderr: (text) => {
        err += text;
      },
      stdoutIsTerminal: false,
      stderrIsTerminal: false,
      env: (name) => vars[name],
      cwd: () => home,
    },
    stdout: () => new TextDecoder().decode(new Uint8Array(out.flatMap((chunk) => [...chunk]))),
    stderr: () => err,
  };
}

Deno.test("runCli --version prints the version and exits 0", async () => {
  const run = capture();
  assert.equal(await runCli(["--version"], run.io), 0);
  assert.match(run.stdout(), new RegExp(`portolan ${VERSION.replaceAll(".", "\\.")}`));
});

Deno.test("runCli: a bad command line is one line on stderr and exit 2", async () => {
  for (
    const [args, message] of [
      [
        ["-p", "70000", "127.0.0.1"],
        /^portolan: Cannot parse port range "70000": value must be <= 65535\n/,
      ],
      [["--frobnicate", "127.0.0.1"], /^portolan: .*frobnicate/],
      [["-sT", "-oJ", "-", "-oX", "-", "127.0.0.1"], /^portolan: .*stdout|standard output|-/],
    ] as const
  ) {
    const run = capture();
    assert.equal(await runCli(args, run.io), 2, args.join(" "));
    assert.match(run.stderr(), message, args.join(" "));
    assert.doesNotMatch(run.stderr(), /\n\s+at /, "no stack trace");
    assert.equal(run.stdout(), "");
  }
});

Deno.test("runCli scans loopback in-process: the table on stdout, the JSON in the user's folder", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = (listener.addr as Deno.NetAddr).port;
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const here = await Deno.makeTempDir({ prefix: "ptl-runcli-here-" });
  try {
    const run = capture({ INIT_CWD: here });
    const code = await runCli(
      ["-sT", "-Pn", "-n", "--no-db", "-p", `${open},${closed}`, "-oJ", "scan.json", "127.0.0.1"],
      run.io,
      { builtins: builtinPlugins },
    );
    assert.equal(code, 0, run.stderr());
    assert.match(run.stdout(), new RegExp(`^${open}/tcp +open`, "m"));
    const report = JSON.parse(await Deno.readTextFile(`${here}/scan.json`));
    const ports = new Map(
      report.hosts[0].ports.map((p: { port: number; state: string }) => [p.port, p.state]),
    );
    assert.equal(ports.get(open), "open");
    assert.equal(ports.get(closed), "closed");
  } finally {
    listener.close();
    await Deno.remove(here, { recursive: true });
  }
});

/** An output whose options are typed by its defaults: it writes the options it was made with. */
const optionsOutput = withOptions({ title: "T", rows: 2, dark: false }, (options) =>
  defineOutput({
    name: "opts",
    events: ["end"],
    async write(events, out): Promise<void> {
      for await (const event of events) {
        if (event.type === "end") await out.write(JSON.stringify(options));
      }
    },
  }));

Deno.test("runCli: --output NAME:FILE?key=value makes the output with typed options, or exits 2", async () => {
  const builtins = { outputs: { opts: optionsOutput }, probes: [], scripts: [] };
  const here = await Deno.makeTempDir({ prefix: "ptl-runcli-here-" });
  try {
    const run = capture({ INIT_CWD: here });
    // A port nothing listens on: a quick, real connect scan of loopback.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closed = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const scan = ["-sT", "-Pn", "-n", "--no-db", "-p", `${closed}`];
    const args = [...scan, "--output", "opts:o.json?rows=12&dark&title=x%26y"];
    assert.equal(await runCli([...args, "127.0.0.1"], run.io, { builtins }), 0, run.stderr());
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${here}/o.json`)), {
      title: "x&y",
      rows: 12,
      dark: true,
    });
    for (
      const [query, message] of [
        ["rows=many", 'Cannot parse option "rows" of output "opts": expected a number, got "many"'],
        ["dark=2", 'Cannot parse option "dark" of output "opts": expected true or false, got "2"'],
        ["color=red", 'Cannot use option "color" of output "opts": it takes dark, rows, title'],
      ]
    ) {
      const bad = capture({ INIT_CWD: here });
      const code = await runCli(
        [...scan, "--output", `opts:bad.json?${query}`, "127.0.0.1"],
        bad.io,
        { builtins },
      );
      assert.equal(code, 2, query);
      assert.equal(bad.stderr().split("\n")[0], `portolan: ${message}`);
    }
  } finally {
    await Deno.remove(here, { recursive: true });
  }
});

Deno.test("runCli -oJ - writes the JSON to the injected io's stdout, for a scan and a merge", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = (listener.addr as Deno.NetAddr).port;
  const here = await Deno.makeTempDir({ prefix: "ptl-runcli-here-" });
  try {
    const run = capture({ INIT_CWD: here });
    const code = await runCli(
      ["-sT", "-Pn", "-n", "--no-db", "-p", `${open}`, "-oJ", "-", "127.0.0.1"],
      run.io,
      { builtins: builtinPlugins },
    );
    assert.equal(code, 0, run.stderr());
    // stdout carries the JSON only: no table, no commentary around it.
    const report = JSON.parse(run.stdout());
    assert.equal(report.hosts[0].address, "127.0.0.1");
    assert.deepEqual(
      report.hosts[0].ports.map((p: { port: number; state: string }) => [p.port, p.state]),
      [[open, "open"]],
    );
    // `merge` writes its "-" output through the io too.
    await Deno.writeTextFile(`${here}/shard.json`, run.stdout());
    const merged = capture({ INIT_CWD: here });
    assert.equal(
      await runCli(["merge", "shard.json", "-oJ", "-"], merged.io, { builtins: builtinPlugins }),
      0,
      merged.stderr(),
    );
    assert.deepEqual(JSON.parse(merged.stdout()).hosts, report.hosts);
  } finally {
    listener.close();
    await Deno.remove(here, { recursive: true });
  }
});
