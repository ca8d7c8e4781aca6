/**
 * A scan split into 4 shards (`--shard I/4`), each its own process writing
 * its own format (-oJ, -oX, JSONL), merged with `portolan merge`: the same
 * hosts, ports, states and closed counts as the scan run whole.
 */
import assert from "node:assert/strict";
import { portolan } from "./helpers.ts";

interface JsonHost {
  address: string;
  state: string;
  ports: { port: number; state: string; reason: string }[];
  extraports: { state: string; count: number }[];
}

/** A host as the comparison sees it: its state, the ports it lists other than closed, counts per state. */
function normalize(report: { hosts: JsonHost[] }): Record<string, unknown> {
  const hosts: Record<string, unknown> = {};
  for (const host of report.hosts) {
    const counts: Record<string, number> = {};
    for (const port of host.ports) counts[port.state] = (counts[port.state] ?? 0) + 1;
    for (const extra of host.extraports) {
      counts[extra.state] = (counts[extra.state] ?? 0) + extra.count;
    }
    hosts[host.address] = {
      state: host.state,
      listed: host.ports.filter((p) => p.state !== "closed").map((p) => `${p.port}/${p.state}`),
      counts,
    };
  }
  return hosts;
}

Deno.test("4 shards as separate processes, merged: the same result as the whole scan", async () => {
  const listeners = [0, 1, 2].map(() => Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  const dir = await Deno.makeTempDir({ prefix: "portolan-shards-" });
  try {
    const open = listeners.map((l) => (l.addr as Deno.NetAddr).port);
    // 40 low ports (nothing of this test listens there) and the listeners: over
    // 25 closed ports a host, so closed ports are counted, not listed.
    const ports = [...Array.from({ length: 40 }, (_, i) => 1001 + i), ...open].join(",");
    const scan = ["-sT", "-Pn", "-n", "--no-db", "-p", ports, "--seed", "7"];
    const targets = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
    const outputs = [
      ["-oJ", `${dir}/s1.json`],
      ["-oX", `${dir}/s2.xml`],
      ["--output", `jsonl:${dir}/s3.jsonl`],
      ["-oJ", `${dir}/s4.json`],
    ];
    const shards = await Promise.all(
      outputs.map((output, i) =>
        portolan([...scan, "--shard", `${i + 1}/4`, ...output, ...targets])
      ),
    );
    for (const shard of shards) assert.equal(shard.code, 0, shard.stderr);
    const whole = await portolan([...scan, "-oJ", `${dir}/whole.json`, ...targets]);
    assert.equal(whole.code, 0, whole.stderr);

    const merged = await portolan([
      "merge",
      `${dir}/s1.json`,
      `${dir}/s2.xml`,
      `${dir}/s3.jsonl`,
      `${dir}/s4.json`,
      "-oJ",
      `${dir}/merged.json`,
      "-oX",
      `${dir}/merged.xml`,
    ]);
    assert.equal(merged.code, 0, merged.stderr);
    assert.match(merged.stdout, /portolan scan report for 127\.0\.0\.1/);

    const wholeReport = JSON.parse(await Deno.readTextFile(`${dir}/whole.json`));
    const mergedReport = JSON.parse(await Deno.readTextFile(`${dir}/merged.json`));
    assert.deepEqual(normalize(mergedReport), normalize(wholeReport));
    // The listeners are found, and each shard alone saw only part of the scan.
    const local = normalize(mergedReport)["127.0.0.1"] as { listed: string[] };
    for (const port of open) assert.ok(local.listed.includes(`${port}/open`), `port ${port}`);
    const first = JSON.parse(await Deno.readTextFile(`${dir}/s1.json`));
    assert.ok(first.stats.probes < mergedReport.stats.probes);
    // Counters add up (nmap XML carries no probe count: the -oX shard adds none).
    assert.ok(mergedReport.stats.probes > first.stats.probes);
    assert.ok(mergedReport.stats.probes <= wholeReport.stats.probes);
    assert.equal(mergedReport.stats.hostsTotal, 3);
    assert.match(await Deno.readTextFile(`${dir}/merged.xml`), /<nmaprun /);
  } finally {
    for (const listener of listeners) listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("merge refuses files of different scans, and a missing file, in one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portolan-shards-" });
  try {
    const a = await portolan([
      "-sT",
      "-Pn",
      "--no-db",
      "-p",
      "1001",
      "-oJ",
      `${dir}/a.json`,
      "127.0.0.1",
    ]);
    const b = await portolan([
      "-sT",
      "-Pn",
      "--no-db",
      "-p",
      "1002",
      "-oJ",
      `${dir}/b.json`,
      "127.0.0.1",
    ]);
    assert.equal(a.code + b.code, 0);
    const mixed = await portolan(["merge", `${dir}/a.json`, `${dir}/b.json`]);
    assert.equal(mixed.code, 1);
    assert.match(mixed.stderr, /^portolan: Cannot merge .*different ports or types\n$/);
    const missing = await portolan(["merge", `${dir}/none.json`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Cannot read report ".*none\.json": no such file/);
    const usage = await portolan(["merge", "-p", "80", `${dir}/a.json`]);
    assert.equal(usage.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shards share one history: each recorded as its own scan, and merge --db records the whole", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dir = await Deno.makeTempDir({ prefix: "portolan-shards-" });
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const db = `${dir}/history.db`;
    const scan = ["-sT", "-Pn", "-n", "-p", `1001-1030,${port}`, "--seed", "3", "--db", db];
    // At once, into one file: SQLite's lock makes them take turns.
    const shards = await Promise.all(
      [1, 2, 3].map((i) =>
        portolan([...scan, "--shard", `${i}/3`, "-oJ", `${dir}/s${i}.json`, "127.0.0.1"])
      ),
    );
    for (const shard of shards) assert.equal(shard.code, 0, shard.stderr);
    const merged = await portolan([
      "merge",
      `${dir}/s1.json`,
      `${dir}/s2.json`,
      `${dir}/s3.json`,
      "--db",
      db,
      "-oJ",
      "-",
    ]);
    assert.equal(merged.code, 0, merged.stderr);
    const history = await portolan(["history", "--db", db, "--json"]);
    assert.equal(history.code, 0, history.stderr);
    const scans = JSON.parse(history.stdout) as { openPorts: number }[];
    assert.equal(scans.length, 4);
    // The one open port: in one shard's scan, and in the merged one.
    assert.equal(scans.filter((s) => s.openPorts === 1).length, 2);
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
