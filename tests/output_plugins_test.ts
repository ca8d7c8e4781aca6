/**
 * User plugins through the real command: the example Markdown plugin loaded
 * by flag against a real listener on loopback, bad plugins refused before
 * anything is scanned, and a plugin that fails mid-scan costing only its own
 * file.
 */
import assert from "node:assert/strict";
import { freePort, portolan, ROOT, SCAN_PERMISSIONS, TEST_STATE_DIR } from "./helpers.ts";

function portOf(listener: Deno.TcpListener): number {
  return (listener.addr as Deno.NetAddr).port;
}

/** A listener that counts the connections it accepts. */
function countingListener(): { port: number; accepted: () => number; close: () => Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let accepted = 0;
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        conn.close();
      }
    } catch { /* closed */ }
  })();
  return {
    port: portOf(listener),
    accepted: () => accepted,
    close: async () => {
      listener.close();
      await loop;
    },
  };
}

Deno.test("--plugin examples/output_markdown.ts --output markdown:FILE writes the scan as Markdown", async () => {
  const target = countingListener();
  const closed = freePort();
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/scan.md`;
    const result = await portolan([
      "-Pn",
      "-p",
      `${target.port},${closed}`,
      "--plugin",
      "examples/output_markdown.ts",
      "--output",
      `markdown:${file}`,
      "127.0.0.1",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    const text = await Deno.readTextFile(file);
    assert.ok(text.startsWith("# portolan scan report\n"), text);
    assert.match(
      text,
      /^- Command: `portolan -Pn -p \d+,\d+ --plugin examples\/output_markdown\.ts/m,
    );
    // With the name the hosts file gives it ("127.0.0.1 (localhost)"), as nmap names it.
    assert.match(text, /^## 127\.0\.0\.1( \(\S+\))?$/m);
    assert.match(text, /^\| Port \| State \| Service \| Version \| Reason \|$/m);
    assert.match(text, new RegExp(`^\\| ${target.port}/tcp \\| open \\| .*\\| syn-ack \\|$`, "m"));
    assert.match(
      text,
      new RegExp(`^\\| ${closed}/tcp \\| closed \\| .*\\| (conn-refused|reset) \\|$`, "m"),
    );
    assert.match(text, /\n1 open ports\.\n$/);
  } finally {
    await target.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--output markdown:FILE?title=…&openOnly=true gives the example plugin its options through the sandbox", async () => {
  const target = countingListener();
  const closed = freePort();
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/scan.md`;
    const result = await portolan([
      "-Pn",
      "-p",
      `${target.port},${closed}`,
      "--plugin",
      "examples/output_markdown.ts",
      "--output",
      `markdown:${file}?title=Lab+scan+%231&openOnly=true`,
      "127.0.0.1",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    const text = await Deno.readTextFile(file);
    // The title as given (URL-decoded, then escaped as Markdown text), the boolean as a boolean.
    assert.ok(text.startsWith("# Lab scan #1\n"), text);
    assert.match(text, new RegExp(`^\\| ${target.port}/tcp \\| open \\| `, "m"));
    assert.doesNotMatch(text, new RegExp(`${closed}/tcp`));
    assert.match(text, /^Not listed: 1 not open\.$/m);
  } finally {
    await target.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--output options a plugin does not take, or cannot parse, exit 2 before scanning", async () => {
  const target = countingListener();
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [query, message] of [
        [
          "colour=red",
          'portolan: Cannot use option "colour" of output "markdown": it takes openOnly, title',
        ],
        [
          "openOnly=yes",
          'portolan: Cannot parse option "openOnly" of output "markdown": expected true or false, got "yes"',
        ],
      ]
    ) {
      const result = await portolan([
        "-Pn",
        "-p",
        `${target.port}`,
        "--plugin",
        "examples/output_markdown.ts",
        "--output",
        `markdown:${dir}/scan.md?${query}`,
        "127.0.0.1",
      ]);
      assert.equal(result.code, 2, result.stderr);
      assert.deepEqual(result.stderr.trimEnd().split("\n"), [
        message,
        "Try 'portolan --help' for usage.",
      ]);
    }
    // A built-in without options refuses any.
    const csv = await portolan([
      "-Pn",
      "-p",
      `${target.port}`,
      "--output",
      `csv:${dir}/x.csv?a=1`,
      "127.0.0.1",
    ]);
    assert.equal(csv.code, 2);
    assert.match(
      csv.stderr,
      /^portolan: Cannot use option "a" of output "csv": it takes no options\n/,
    );
    assert.equal(target.accepted(), 0, "nothing was scanned");
  } finally {
    await target.close();
    await Deno.remove(dir, { recursive: true });
  }
});

const BAD_PLUGINS: [string, string, RegExp][] = [
  ["missing.ts", "", /file not found$/],
  [
    "none.ts",
    `export const answer = 42;`,
    /it has no default export: add "export default \[myPlugin\]" listing its plugins$/,
  ],
  [
    "shape.ts",
    `export function p() { return { name: "p", description: "d" }; }\nexport default [p];`,
    /`write` is not a function$/,
  ],
  [
    "throws.ts",
    `export function p() { throw new Error("no config"); }\nexport default [p];`,
    /default\[0\] \(p\) threw: no config$/,
  ],
  ["syntax.ts", `export function p( {`, /import failed: /],
  [
    "imports.ts",
    `import "./nowhere.ts";\nexport default [{ name: "p", description: "d", write() {} }];`,
    /: module ".*\/nowhere\.ts" not found$/,
  ],
  [
    "json.ts",
    `export default [() => ({ name: "json", description: "d", write() {} })];`,
    /"json" is already taken \(built in\)$/,
  ],
];

for (const [name, source, pattern] of BAD_PLUGINS) {
  Deno.test(`a bad plugin (${name}) exits 2 with one line naming the file, before scanning`, async () => {
    const target = countingListener();
    const dir = await Deno.makeTempDir();
    try {
      const path = `${dir}/${name}`;
      if (source !== "") await Deno.writeTextFile(path, source);
      const result = await portolan([
        "-Pn",
        "-p",
        String(target.port),
        "--plugin",
        path,
        "-oJ",
        `${dir}/scan.json`,
        "127.0.0.1",
      ]);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, "");
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 2, result.stderr);
      assert.ok(lines[0]!.startsWith(`portolan: Cannot load plugin "${path}": `), lines[0]);
      assert.match(lines[0]!, pattern);
      assert.equal(lines[1], "Try 'portolan --help' for usage.");
      assert.equal(target.accepted(), 0, "nothing was scanned");
    } finally {
      await target.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("--output with an unknown plugin name or no file exits 2", async () => {
  for (
    const [value, pattern] of [
      [
        "yaml:/tmp/x.yaml",
        /no output plugin named "yaml" \(available: csv, grepable, html, json, jsonl, normal, xml\)/,
      ],
      ["csv", /expected NAME:FILE/],
      ["csv:", /the file name is empty/],
    ] as const
  ) {
    const result = await portolan(["--output", value, "127.0.0.1"]);
    assert.equal(result.code, 2, value);
    assert.match(result.stderr.split("\n")[0]!, pattern);
  }
});

Deno.test("a plugin that throws mid-scan costs only its own output: exit 1, one line", async () => {
  const target = countingListener();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/broken.ts`,
      `export function brokenOutput() {
  return {
    name: "broken",
    description: "fails at the first port",
    async write(events: AsyncIterable<{ type: string }>) {
      for await (const event of events) {
        if (event.type === "port") throw new Error("boom\\n  with a second line \\x1b[31m");
      }
    },
  };
}
export default [brokenOutput];
`,
    );
    const result = await portolan([
      "-Pn",
      "-p",
      `${target.port},${freePort()}`,
      "--plugin",
      `${dir}/broken.ts`,
      "--plugin",
      `${ROOT}examples/output_markdown.ts`,
      "--output",
      `broken:${dir}/broken.out`,
      "--output",
      `markdown:${dir}/scan.md`,
      "-oJ",
      `${dir}/scan.json`,
      "127.0.0.1",
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(
      result.stderr,
      `portolan: Output "broken" failed: boom with a second line \\x1b[31m\n`,
    );
    // The scan ran to the end and the other outputs are whole.
    const json = JSON.parse(await Deno.readTextFile(`${dir}/scan.json`));
    const open = json.hosts[0].ports.filter((p: { state: string }) => p.state === "open");
    assert.deepEqual(open.map((p: { port: number }) => p.port), [target.port]);
    assert.match(await Deno.readTextFile(`${dir}/scan.md`), /\| open \|/);
    assert.match(result.stdout, /portolan done: 1 IP address \(1 host up\)/);
    assert.equal(await Deno.readTextFile(`${dir}/broken.out`), "");
  } finally {
    await target.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--plugin examples/probe_gopher.ts -sV names a Gopher server found on loopback", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serve = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        // A scanner's probe that resets before accept() is not the end of the listener.
        if (error instanceof Deno.errors.BadResource) return;
        continue;
      }
      {
        (async () => {
          try {
            const buffer = new Uint8Array(1024);
            // Gopher waits for the selector line; the empty one asks for the root menu.
            const n = await conn.read(buffer);
            if (n !== null && new TextDecoder().decode(buffer.subarray(0, n)) === "\r\n") {
              await conn.write(
                new TextEncoder().encode(
                  "iGophernicus/3.1.1 on Debian/12 x86_64\tfake\t(NULL)\t0\r\n" +
                    "1Documents\t/docs\tgopher.example\t70\r\n" +
                    "0About\t/about.txt\tgopher.example\t70\r\n.\r\n",
                ),
              );
            }
          } catch { /* the prober went away */ }
          try {
            conn.close();
          } catch { /* closed */ }
        })();
      }
    }
  })();
  try {
    const port = portOf(listener);
    const result = await portolan([
      "-sT",
      "-Pn",
      "-sV",
      "--version-intensity",
      "9",
      "--plugin",
      "examples/probe_gopher.ts",
      "-p",
      String(port),
      "--no-db",
      "-oJ",
      "-",
      "127.0.0.1",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const service = JSON.parse(result.stdout).hosts[0].ports[0].service;
    assert.equal(service?.name, "gopher");
    assert.equal(service?.product, "Gophernicus");
    assert.equal(service?.version, "3.1.1");
  } finally {
    listener.close();
    await serve;
  }
});

/** Hostile output plugins through the real command: the scan and every other output survive. */
const HOSTILE: [string, string][] = [
  ["Deno.exit()", `await out.write("x"); Deno.exit(3);`],
  ["self.close()", `self.close(); await new Promise(() => {});`],
  ["a promise that never settles", `for await (const e of events) {} await new Promise(() => {});`],
  ["while (true) {}", `for await (const e of events) { if (e.type === "end") while (true) {} }`],
  ["endless output", `const big = "z".repeat(10_000_000); for (;;) await out.write(big);`],
  ["unawaited writes until out of heap", `for (let i = 0; ; i++) out.write("y".repeat(1e6) + i);`],
];

for (const [what, body] of HOSTILE) {
  Deno.test(`a plugin doing ${what}: the scan ends, -oJ is whole, one line names it, exit 1`, async () => {
    const target = countingListener();
    const dir = await Deno.makeTempDir({ prefix: "ptlh-hostile-" });
    try {
      await Deno.writeTextFile(
        `${dir}/hostile.js`,
        `export default [() => ({ name: "hostile", description: "d", async write(events, out) { ${body} } })];`,
      );
      const result = await portolan([
        "-Pn",
        "-p",
        `${target.port}`,
        "--plugin",
        `${dir}/hostile.js`,
        "--output",
        `hostile:${dir}/hostile.out`,
        "-oJ",
        `${dir}/scan.json`,
        "127.0.0.1",
      ], { timeoutMs: 60_000 });
      assert.equal(result.code, 1, result.stderr);
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, result.stderr);
      assert.match(
        lines[0]!,
        /^portolan: Output "hostile" failed: Plugin ".*hostile\.js" stopped: /,
      );
      const json = JSON.parse(await Deno.readTextFile(`${dir}/scan.json`));
      assert.deepEqual(json.hosts[0].ports.map((p: { port: number }) => p.port), [target.port]);
      assert.match(result.stdout, /portolan done: 1 IP address \(1 host up\)/);
    } finally {
      await target.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

/** Plugins that misbehave while loading: the scan goes on without them. */
const HOSTILE_AT_LOAD: [string, string][] = [
  ["exits", `Deno.exit(3);`],
  ["never finishes loading", `await new Promise(() => {});`],
];

for (const [what, top] of HOSTILE_AT_LOAD) {
  Deno.test(`a plugin that ${what} at load time: one line names it, the scan goes on, exit 1`, async () => {
    const target = countingListener();
    const dir = await Deno.makeTempDir({ prefix: "ptlh-hostile-" });
    try {
      await Deno.writeTextFile(
        `${dir}/loading.js`,
        `${top}\nexport default [{ name: "loading", description: "d", async write() {} }];`,
      );
      const result = await portolan([
        "-Pn",
        "-p",
        `${target.port}`,
        "--plugin",
        `${dir}/loading.js`,
        "--output",
        `loading:${dir}/loading.out`,
        "-oJ",
        `${dir}/scan.json`,
        "127.0.0.1",
      ], { timeoutMs: 60_000 });
      assert.equal(result.code, 1, result.stderr);
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, result.stderr);
      assert.match(
        lines[0]!,
        new RegExp(`^portolan: Cannot load plugin "${dir}/loading\\.js": .*; going on without it$`),
      );
      const json = JSON.parse(await Deno.readTextFile(`${dir}/scan.json`));
      assert.deepEqual(json.hosts[0].ports.map((p: { port: number }) => p.port), [target.port]);
      await assert.rejects(() => Deno.stat(`${dir}/loading.out`), Deno.errors.NotFound);
    } finally {
      await target.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("a plugin writing to Deno.stdout cannot corrupt -oJ -", async () => {
  const target = countingListener();
  const dir = await Deno.makeTempDir({ prefix: "ptlh-hostile-" });
  try {
    await Deno.writeTextFile(
      `${dir}/noisy.js`,
      `export function noisy() { return { name: "noisy", description: "d", async write(events, out) {
        await Deno.stdout.write(new TextEncoder().encode("RAW\\n")); console.log("LOG");
        for await (const e of events) await out.write(e.type + "\\n"); } }; }
export default [noisy];`,
    );
    const result = await portolan([
      "-Pn",
      "-p",
      `${target.port}`,
      "--plugin",
      `${dir}/noisy.js`,
      "--output",
      `noisy:${dir}/noisy.out`,
      "-oJ",
      "-",
      "127.0.0.1",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.equal(JSON.parse(result.stdout).hosts[0].ports[0].port, target.port);
    assert.match(await Deno.readTextFile(`${dir}/noisy.out`), /^start\n(host\n)?port\nend\n$/);
  } finally {
    await target.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGINT with a spinning plugin: one interrupt ends the run, -oJ whole and marked interrupted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-hostile-" });
  try {
    await Deno.writeTextFile(
      `${dir}/spin.js`,
      `export default [{ name: "spin", description: "d", async write() { while (true) {} } }];`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        ...SCAN_PERMISSIONS,
        `${ROOT}main.ts`,
        "-Pn",
        "-p-",
        "--max-rate",
        "2000",
        "--no-db",
        "--resume-file",
        `${dir}/state.json`,
        "--plugin",
        `${dir}/spin.js`,
        "--output",
        `spin:${dir}/spin.out`,
        "-oJ",
        `${dir}/scan.json`,
        "127.0.0.1",
      ],
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1", XDG_DATA_HOME: `${TEST_STATE_DIR}/data` },
    }).spawn();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.kill("SIGINT");
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    const output = await child.output();
    clearTimeout(guard);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 130, stderr);
    assert.match(
      stderr,
      /Output "spin" failed: Plugin ".*spin\.js" stopped: output "spin" did not finish/,
    );
    const json = JSON.parse(await Deno.readTextFile(`${dir}/scan.json`));
    assert.equal(json.interrupted, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
