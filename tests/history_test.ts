/**
 * The scan history, end to end: scans recorded into one database, `history`
 * listing them, `diff` naming what changed.
 */
import assert from "node:assert/strict";
import { freePort, portolan } from "./helpers.ts";

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
    assert.equal(diff.code, 0, diff.stderr);
    const changes = JSON.parse(diff.stdout);
    const named = changes.hosts.flatMap((host: { ports: { port: number; change: string }[] }) =>
      host.ports.map((p) => `${p.port} ${p.change}`)
    );
    assert.deepEqual(named, [`${newPort} new`], "exactly the new listener, nothing else");

    const text = await portolan(["diff", "--db", db]);
    assert.equal(text.code, 0, text.stderr);
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
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, new RegExp(`- ${port}/tcp\\s+open`));
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
