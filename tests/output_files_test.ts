/**
 * Output files through the real command: a run that fails before its scan
 * leaves existing outputs as they were, a SIGKILL at any moment leaves each
 * output whole (the old one) or absent, never empty or cut, and outputs that
 * would overwrite each other or the history are refused before anything.
 */
import assert from "node:assert/strict";
import { rawUnsafe } from "../src/plugin/format.ts";
import { portolan, ROOT, SCAN_PERMISSIONS, TEST_STATE_DIR } from "./helpers.ts";

const OLD = '{"previous":"run"}\n';

Deno.test("a bad --db fails the run and leaves the earlier -oJ/-oX files as they were", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-out-" });
  try {
    await Deno.writeTextFile(`${dir}/scan.json`, OLD);
    await Deno.writeTextFile(`${dir}/scan.xml`, OLD);
    await Deno.writeTextFile(`${dir}/not.db`, "this is not a database\n".repeat(100));
    for (const db of [`${dir}/not.db`, dir]) {
      const result = await portolan([
        "-Pn",
        "-p",
        "1",
        "--db",
        db,
        "-oJ",
        `${dir}/scan.json`,
        "-oX",
        `${dir}/scan.xml`,
        "127.0.0.1",
      ]);
      assert.notEqual(result.code, 0, result.stderr);
      assert.equal(await Deno.readTextFile(`${dir}/scan.json`), OLD);
      assert.equal(await Deno.readTextFile(`${dir}/scan.xml`), OLD);
    }
    const left = [];
    for await (const entry of Deno.readDir(dir)) left.push(entry.name);
    assert.deepEqual(left.sort(), ["not.db", "scan.json", "scan.xml"], "no temporary file left");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("outputs onto one file, onto stdout twice, or onto the database: exit 2, nothing touched", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-out-" });
  try {
    await Deno.writeTextFile(`${dir}/x`, OLD);
    const cases: [string[], RegExp][] = [
      [["-oJ", `${dir}/x`, "-oX", `${dir}/x`], /outputs "json" and "xml" both to/],
      [["-oJ", "-", "-oX", "-"], /outputs "json" and "xml" both to stdout/],
      [["-oX", "-", "-oJ", "-"], /outputs "xml" and "json" both to stdout/],
      [["-oJ", "-", "--output", "jsonl:-"], /outputs "json" and "jsonl" both to stdout/],
      [
        ["--db", `${dir}/x`, "-oJ", `${dir}/x`],
        /output "json" to ".*x": it is the history database/,
      ],
    ];
    for (const [args, pattern] of cases) {
      const result = await portolan(["-Pn", "-p", "1", ...args, "127.0.0.1"]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr.split("\n")[0]!, pattern);
      assert.equal(result.stdout, "");
      assert.equal(await Deno.readTextFile(`${dir}/x`), OLD);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGKILL at any moment: each output is the old file or absent, never empty or cut", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-out-" });
  try {
    // Early (start-up), mid-scan, and around the end of a short scan.
    for (const afterMs of [50, 300, 700, 1200, 2000]) {
      await Deno.writeTextFile(`${dir}/old.json`, OLD);
      await Deno.remove(`${dir}/new.xml`).catch(() => {});
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          ...SCAN_PERMISSIONS,
          `${ROOT}main.ts`,
          "-Pn",
          "-p",
          "1-3000",
          "--max-rate",
          "3000",
          "--no-db",
          "--resume-file",
          `${dir}/state.json`,
          "-oJ",
          `${dir}/old.json`,
          "-oX",
          `${dir}/new.xml`,
          "--output",
          `jsonl:${dir}/new.jsonl`,
          "127.0.0.1",
        ],
        stdout: "null",
        stderr: "null",
        env: { NO_COLOR: "1", XDG_DATA_HOME: `${TEST_STATE_DIR}/data` },
      }).spawn();
      await new Promise((resolve) => setTimeout(resolve, afterMs));
      try {
        child.kill("SIGKILL");
      } catch { /* it had finished */ }
      const status = await child.status;
      const json = await Deno.readTextFile(`${dir}/old.json`);
      if (json !== OLD) {
        // Replaced only whole: renamed into place once its last byte is written, so a kill
        // after that (while other outputs close) leaves the complete report.
        const report = JSON.parse(json);
        assert.ok(report.end !== "", `a whole report (${afterMs} ms, exit ${status.code})`);
        assert.equal(report.hosts[0]?.address, "127.0.0.1");
      }
      const xml = await Deno.readTextFile(`${dir}/new.xml`).catch(() => undefined);
      if (xml !== undefined) assert.match(xml.trimEnd(), /<\/nmaprun>$/, `${afterMs} ms`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("portolan diff of two hostile -oJ reports prints no raw ESC, BEL, C1 or bidi", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-out-" });
  try {
    const nasty = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\x7f\x85\x9b2J\u202eevil";
    const report = (open: number[]): string =>
      JSON.stringify({
        scanner: "portolan",
        version: "0.1.0",
        args: ["portolan", nasty],
        start: "2030-01-01T00:00:00.000Z",
        end: "2030-01-01T00:00:01.000Z",
        scaninfo: [{ type: "connect", protocol: "tcp", numServices: 10, services: "20-29" }],
        hosts: [{
          address: "198.51.100.2",
          hostnames: [nasty],
          state: "up",
          reason: nasty,
          ports: open.map((port) => ({
            protocol: "tcp",
            port,
            state: "open",
            reason: "syn-ack",
            service: { name: nasty, product: nasty, version: nasty, banner: nasty },
          })),
          extraports: [],
        }],
        stats: {},
      });
    await Deno.writeTextFile(`${dir}/a.json`, report([22]));
    await Deno.writeTextFile(`${dir}/b.json`, report([23]));
    for (const extra of [[], ["--json"]]) {
      const result = await portolan([
        "diff",
        "--no-db",
        ...extra,
        `${dir}/a.json`,
        `${dir}/b.json`,
      ]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stdout, /23/);
      assert.deepEqual(rawUnsafe(result.stdout), []);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
