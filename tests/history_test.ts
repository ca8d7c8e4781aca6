/**
 * The scan history, end to end: scans recorded into one database, `history`
 * listing them, `diff` naming what changed.
 */
import assert from "node:assert/strict";
import { freePort, portolan, ROOT, SCAN_PERMISSIONS, TEST_STATE_DIR } from "./helpers.ts";

Deno.test("two scans into one --db: diff names exactly the listener opened between them", async () => {
  const dir = await Deno.makeTempDir();
  const db = `${dir}/history.db`;
  const steady = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const steadyPort = (steady.addr as Deno.NetAddr).port;
  const newPort = freePort();
  let fresh: Deno.TcpListener | undefined;
  try {
    const ports = `${steadyPort},${newPort}`;
    const first = await portolan(["-Pn", "-p", ports, "--db", db, "127.0.0.1"]);
    assert.equal(first.code, 0, first.stderr);
    fresh = Deno.listen({ hostname: "127.0.0.1", port: newPort });
    const second = await portolan(["-Pn", "-p", ports, "--db", db, "127.0.0.1"]);
    assert.equal(second.code, 0, second.stderr);

    const history = await portolan(["history", "--db", db, "--json"]);
    assert.equal(history.code, 0, history.stderr);
    const scans = JSON.parse(history.stdout);
    assert.equal(scans.length, 2);
    assert.ok(scans.every((scan: { finished: boolean }) => scan.finished));

    const diff = await portolan(["diff", "--db", db, "--json"]);
    assert.equal(diff.code, 1, `changes: exit 1 as diff and ndiff ${diff.stderr}`);
    const changes = JSON.parse(diff.stdout);
    const named = changes.hosts.flatMap((host: { ports: { port: number; change: string }[] }) =>
      host.ports.map((p) => `${p.port} ${p.change}`)
    );
    assert.deepEqual(named, [`${newPort} new`], "exactly the new listener, nothing else");

    const text = await portolan(["diff", "--db", db]);
    assert.equal(text.code, 1, text.stderr);
    const changed = text.stdout.split("\n").filter((line) => /^\s+[+~-] /.test(line));
    assert.equal(changed.length, 1, text.stdout);
    assert.match(changed[0]!, new RegExp(`\\+ ${newPort}/tcp\\s+open`));
  } finally {
    steady.close();
    fresh?.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("diff reads two -oJ files without a database", async () => {
  const dir = await Deno.makeTempDir();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const before = await portolan([
      "-Pn",
      "-p",
      String(port),
      "--no-db",
      "-oJ",
      `${dir}/a.json`,
      "127.0.0.1",
    ]);
    assert.equal(before.code, 0, before.stderr);
    listener.close();
    const after = await portolan([
      "-Pn",
      "-p",
      String(port),
      "--no-db",
      "-oJ",
      `${dir}/b.json`,
      "127.0.0.1",
    ]);
    assert.equal(after.code, 0, after.stderr);
    const diff = await portolan(["diff", "--no-db", `${dir}/a.json`, `${dir}/b.json`]);
    assert.equal(diff.code, 1, diff.stderr);
    assert.match(diff.stdout, new RegExp(`- ${port}/tcp\\s+open`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("diff exits 0 for no change, 1 for changes, 2 for trouble; a port not scanned before is not new", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-diff-" });
  const inside = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const low = (inside.addr as Deno.NetAddr).port;
  // Open in both scans, but only the second one's range holds it.
  const outside = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const high = (outside.addr as Deno.NetAddr).port;
  try {
    const scan = async (name: string, ports: string, extra: string[] = []): Promise<void> => {
      const result = await portolan([
        "-Pn",
        "-p",
        ports,
        "-oJ",
        `${dir}/${name}`,
        ...extra,
        "127.0.0.1",
      ]);
      assert.equal(result.code, 0, result.stderr);
    };
    const db = ["--db", `${dir}/h.db`];
    await scan("narrow.json", String(low), db);
    await scan("wide.json", `${low},${high}`, db);
    await scan("again.json", `${low},${high}`, db);

    const same = await portolan(["diff", "--no-db", `${dir}/wide.json`, `${dir}/again.json`]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.match(same.stdout, /No changes\./);

    for (const operands of [[`${dir}/narrow.json`, `${dir}/wide.json`], ["1", "2"]]) {
      const widened = await portolan(["diff", ...db, ...operands]);
      assert.equal(widened.code, 0, `not a change: ${widened.stdout}${widened.stderr}`);
      assert.match(widened.stdout, new RegExp(`\\? ${high}/tcp +open +\\(not scanned before\\)`));
      assert.doesNotMatch(widened.stdout, /\(new\)/);
      const json = await portolan(["diff", ...db, "--json", ...operands]);
      assert.equal(JSON.parse(json.stdout).summary.unscannedPorts, 1);
      assert.equal(JSON.parse(json.stdout).summary.newPorts, 0);
    }

    inside.close();
    await scan("closed.json", `${low},${high}`);
    const changed = await portolan(["diff", "--no-db", `${dir}/again.json`, `${dir}/closed.json`]);
    assert.equal(changed.code, 1, changed.stderr);
    assert.match(changed.stdout, new RegExp(`- ${low}/tcp +open +\\(gone: now closed\\)`));

    const history = await portolan(["history", ...db]);
    assert.equal(history.code, 0, history.stderr);
    const [head, ...rows] = history.stdout.trimEnd().split("\n");
    assert.match(head!, /^ID +START +SECONDS +TYPE +PORTS +UP +OPEN +TARGETS +STATE$/);
    assert.equal(rows.length, 3);
    assert.match(
      rows[2]!,
      new RegExp(`^1 .* (syn|connect) +${low} \\(1\\) +1 +1 +127\\.0\\.0\\.1 +done$`),
    );
    // The scanned ports are listed ascending, whichever listener got the lower port.
    const both = [low, high].sort((a, b) => a - b).join(",");
    assert.match(rows[0]!, new RegExp(`^3 .* (syn|connect) +${both} \\(2\\) +1 +2 +`));

    for (
      const operands of [
        [`${dir}/missing.json`, `${dir}/wide.json`],
        [`${dir}/wide.json`],
        ["7", "8"],
      ]
    ) {
      const bad = await portolan(["diff", ...db, ...operands]);
      assert.equal(bad.code, 2, `${operands}: ${bad.stderr}`);
      assert.equal(bad.stderr.trimEnd().split("\n").length, 1, bad.stderr);
    }
  } finally {
    try {
      inside.close();
    } catch { /* closed by the test */ }
    outside.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("diff of /dev/zero: one line, exit 2; SIGINT ends a diff reading a FIFO", async () => {
  const zero = await portolan(["diff", "--no-db", "/dev/zero", "x.json"], { timeoutMs: 20_000 });
  assert.equal(zero.code, 2);
  assert.equal(
    zero.stderr,
    'portolan: Cannot read report "/dev/zero": it holds a NUL byte (not a text file)\n',
  );
  const dir = await Deno.makeTempDir({ prefix: "ptlh-diff-" });
  try {
    assert.ok((await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output()).success);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        ...SCAN_PERMISSIONS,
        `${ROOT}main.ts`,
        "diff",
        "--no-db",
        `${dir}/fifo`,
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
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 130, stderr);
    assert.match(stderr, /^portolan: Cannot read report ".*fifo": interrupted\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a scan of more than 2^20 hosts is refused without a terminal unless --yes", async () => {
  // Refused before anything is sent: nothing here reaches the network.
  const result = await portolan(["-p", "80", "10.0.0.0/8"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /Refusing to scan 16777216 hosts .* add --yes/);
});

Deno.test("reserved ranges are left out by default, and can be let in", async () => {
  const permissions = ["--allow-read", "--allow-env"];
  const off = await portolan(["-sL", "-n", "224.0.0.0/30", "198.51.100.1"], { permissions });
  assert.equal(off.code, 0, off.stderr);
  assert.equal(off.stdout, "198.51.100.1\n");
  const on = await portolan(["-sL", "-n", "--no-default-exclude", "224.0.0.0/30"], { permissions });
  assert.equal(on.stdout, "224.0.0.0\n224.0.0.1\n224.0.0.2\n224.0.0.3\n");
  // Documentation and benchmark ranges stay scannable.
  const lab = await portolan(["-sL", "-n", "198.18.0.0/31", "2001:db8::/127"], { permissions });
  assert.equal(lab.stdout, "198.18.0.0\n198.18.0.1\n2001:db8::\n2001:db8::1\n");
});
