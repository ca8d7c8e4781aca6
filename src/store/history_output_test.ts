import assert from "node:assert/strict";
import type { PortResult } from "../model/mod.ts";
import { createEventBus, runOutputs } from "../output/bus.ts";
import { createReportBuilder } from "../output/report_builder.ts";
import type { OutputWriter } from "../plugin/types.ts";
import { loadComparison } from "./compare.ts";
import { openHistory } from "./db.ts";
import { diffReports, formatDiff } from "./diff.ts";
import { lastTwoScans, listScans, loadScan } from "./history.ts";
import { historyOutput } from "./history_output.ts";

const NULL_WRITER: OutputWriter = { write: () => Promise.resolve(), color: false };

/** A connect probe of 127.0.0.1, one attempt per port. */
async function probe(port: number): Promise<PortResult> {
  const base = { address: "127.0.0.1", protocol: "tcp" as const, port };
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return { ...base, state: "open", reason: "syn-ack" };
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) {
      return { ...base, state: "closed", reason: "conn-refused" };
    }
    throw error;
  }
}

/** A complete scan of `ports` on 127.0.0.1, recorded through the history output. */
async function scanInto(
  path: string,
  ports: number[],
  batchSize: number,
): Promise<number | undefined> {
  const db = openHistory(path);
  try {
    const builder = createReportBuilder({
      version: "0.1.0",
      args: ["portolan", "-sT", "-p", ports.join(","), "127.0.0.1"],
      scaninfo: [{
        type: "connect",
        protocol: "tcp",
        numServices: ports.length,
        services: ports.join(","),
      }],
      start: new Date(),
    });
    const output = historyOutput(db, { targets: "127.0.0.1", batchSize });
    const bus = createEventBus();
    const done = runOutputs([{ plugin: output, writer: NULL_WRITER }], bus);
    bus.emit({ type: "start", report: builder.snapshot() });
    for (const port of ports) {
      const result = await probe(port);
      builder.addPort(result);
      bus.emit({ type: "port", result });
    }
    bus.emit({
      type: "end",
      report: builder.finish({ probes: ports.length, retries: 0 }, new Date()),
      interrupted: false,
    });
    bus.close();
    assert.deepEqual(await done, []);
    return output.scanId;
  } finally {
    db.close();
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("history: two loopback scans with a listener opened between them; the diff names exactly it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portolan_store_" });
  const listeners = [
    Deno.listen({ hostname: "127.0.0.1", port: 0 }),
    Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  ];
  try {
    const path = `${dir}/history.db`;
    const open = listeners.map((l) => (l.addr as Deno.NetAddr).port);
    const closed = [freePort(), freePort()];
    const added = closed[0] as number;
    const ports = [...open, ...closed].sort((a, b) => a - b);

    const first = await scanInto(path, ports, 1);
    listeners.push(Deno.listen({ hostname: "127.0.0.1", port: added }));
    const second = await scanInto(path, ports, 3);
    assert.equal(first, 1);
    assert.equal(second, 2);

    const db = openHistory(path);
    try {
      assert.deepEqual(lastTwoScans(db).map((s) => s.id), [1, 2]);
      const rows = listScans(db);
      assert.deepEqual(rows.map((r) => [r.id, r.openPorts, r.hostsUp, r.finished, r.interrupted]), [
        [2, 3, 1, true, false],
        [1, 2, 1, true, false],
      ]);
      const a = loadScan(db, 1);
      assert.deepEqual(a.hosts[0]?.ports.map((p) => p.port), open.sort((x, y) => x - y));
      assert.deepEqual(a.hosts[0]?.extraports, [{
        state: "closed",
        count: 2,
        reasons: [{ reason: "conn-refused", count: 2 }],
      }]);

      const { a: older, b: newer, labels } = await loadComparison(db, []);
      const diff = diffReports(older, newer, { labels });
      assert.deepEqual(diff.summary, {
        newHosts: 0,
        goneHosts: 0,
        newPorts: 1,
        gonePorts: 0,
        changedPorts: 0,
        unscannedPorts: 0,
      });
      assert.deepEqual(diff.hosts.map((h) => [h.address, h.ports.map((p) => [p.port, p.change])]), [
        ["127.0.0.1", [[added, "new"]]],
      ]);
      const text = formatDiff(diff);
      assert.match(text, /^--- scan 1 /);
      assert.match(text, new RegExp(`\\n  \\+ ${added}/tcp +open +\\(new\\)\\n`));
      assert.equal(text.split("\n").filter((line) => /^ {2}[-+~] /.test(line)).length, 1);
    } finally {
      db.close();
    }
  } finally {
    for (const l of listeners) l.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("historyOutput: a partial batch is written after the flush interval, and kept if the scan never ends", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portolan_store_" });
  try {
    const path = `${dir}/history.db`;
    const db = openHistory(path);
    const reader = openHistory(path);
    const output = historyOutput(db, {
      targets: "198.51.100.2",
      batchSize: 1000,
      flushInterval: 5,
    });
    const bus = createEventBus();
    const done = runOutputs([{ plugin: output, writer: NULL_WRITER }], bus);
    const builder = createReportBuilder({
      version: "0.1.0",
      args: ["portolan"],
      scaninfo: [],
      start: new Date(),
    });
    bus.emit({ type: "start", report: builder.snapshot() });
    bus.emit({
      type: "host",
      host: { address: "198.51.100.2", hostnames: ["a.example"], state: "up", reason: "syn-ack" },
    });
    bus.emit({
      type: "port",
      result: {
        address: "198.51.100.2",
        protocol: "tcp",
        port: 22,
        state: "open",
        reason: "syn-ack",
      },
    });
    // Another connection sees the batch once the timer wrote it (bounded wait, no timing claim).
    let seen = 0;
    for (let i = 0; i < 500 && seen === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      seen = Number(reader.prepare("SELECT count(*) AS n FROM ports").get()?.n);
    }
    assert.equal(seen, 1);
    bus.emit({
      type: "port",
      result: {
        address: "198.51.100.2",
        protocol: "tcp",
        port: 80,
        state: "open",
        reason: "syn-ack",
      },
    });
    bus.close(); // no "end": the bus went away, as when the process is stopping
    assert.deepEqual(await done, []);
    const scan = loadScan(reader, output.scanId ?? -1);
    assert.deepEqual(scan.hosts[0]?.ports.map((p) => p.port), [22, 80]);
    assert.deepEqual(scan.hosts[0]?.hostnames, ["a.example"]);
    assert.equal(scan.finished, false);
    assert.equal(scan.interrupted, true);
    db.close();
    reader.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
