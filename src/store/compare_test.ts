import assert from "node:assert/strict";
import { toJson } from "../../plugins/output_json.ts";
import type { ScanReport } from "../model/mod.ts";
import { loadComparison } from "./compare.ts";
import { openHistory } from "./db.ts";
import { importReport } from "./record.ts";

function report(day: number, ports: number[], targets = "198.51.100.2"): ScanReport {
  return {
    scanner: "portolan",
    version: "0.1.0",
    args: ["portolan", targets],
    start: `2030-01-0${day}T00:00:00.000Z`,
    end: `2030-01-0${day}T00:00:01.000Z`,
    scaninfo: [],
    hosts: [{
      address: targets,
      hostnames: [],
      state: "up",
      reason: "syn-ack",
      ports: ports.map((port) => ({
        address: targets,
        protocol: "tcp",
        port,
        state: "open",
        reason: "syn-ack",
      })),
      extraports: [],
    }],
    stats: { probes: 0, retries: 0, seconds: 1, hostsUp: 1, hostsDown: 0, hostsTotal: 1 },
  };
}

const portsOf = (r: ScanReport): number[] => r.hosts.flatMap((h) => h.ports.map((p) => p.port));

Deno.test("loadComparison: no operand, one scan id, two ids or files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portolan_store_" });
  const db = openHistory(`${dir}/h.db`);
  try {
    importReport(db, report(1, [22]));
    importReport(db, report(2, [22, 80]));
    importReport(db, report(3, [53], "203.0.113.5"));
    importReport(db, report(4, [22, 80, 443]));

    const last = await loadComparison(db, []);
    assert.deepEqual([portsOf(last.a), portsOf(last.b)], [[22, 80], [22, 80, 443]]);
    assert.deepEqual(last.labels, ["scan 2", "scan 4"]);

    const one = await loadComparison(db, ["2"]);
    assert.deepEqual(one.labels, ["scan 1", "scan 2"]);

    await Deno.writeTextFile(`${dir}/x.json`, toJson(report(5, [8080])));
    const mixed = await loadComparison(db, ["#1", `${dir}/x.json`]);
    assert.deepEqual([portsOf(mixed.a), portsOf(mixed.b)], [[22], [8080]]);
    assert.deepEqual(mixed.labels, ["scan 1", `${dir}/x.json`]);

    const byTargets = await loadComparison(db, [], { targets: "203.0.113.5" }).catch((e) => e);
    assert.equal(
      byTargets.message,
      `Cannot diff: the history holds 1 finished scan of "203.0.113.5" (need 2)`,
    );
    await assert.rejects(
      () => loadComparison(db, ["1"]),
      /^RangeError: Cannot diff scan 1: no earlier scan of "198.51.100.2"$/,
    );
    await assert.rejects(
      () => loadComparison(db, ["9", "1"]),
      /Cannot load scan 9: not in the history/,
    );
    await assert.rejects(() => loadComparison(db, [`${dir}/x.json`]), /give a second scan or file/);
    await assert.rejects(
      () => loadComparison(undefined, []),
      /the history is turned off \(--no-db\)/,
    );
    await assert.rejects(() => loadComparison(db, ["1", "2", "3"]), /Cannot diff 3 scans/);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
