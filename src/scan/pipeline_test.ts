import assert from "node:assert/strict";
import type { PortResult } from "../model/mod.ts";
import type { OutputPlugin, ScanEvent } from "../plugin/types.ts";
import { openHistory } from "../store/db.ts";
import { listScans, loadScan } from "../store/history.ts";
import type { Host } from "../targets/types.ts";
import { openPipeline } from "./pipeline.ts";

const PORTS = [80, 81, 82];

/** An output that keeps the type of every event it reads. */
function collector(events?: ScanEvent["type"][]): OutputPlugin & { seen: ScanEvent[] } {
  const seen: ScanEvent[] = [];
  return {
    name: "collector",
    description: "keeps the events",
    ...(events !== undefined ? { events } : {}),
    seen,
    async write(stream): Promise<void> {
      for await (const event of stream) seen.push(event);
    },
  };
}

function host(last: number, hostname?: string): Host {
  return {
    family: 4,
    value: 0xc6336400n + BigInt(last),
    address: `198.51.100.${last}`,
    ...(hostname !== undefined ? { hostname } : {}),
  };
}

function verdict(
  last: number,
  port: number,
  state: PortResult["state"],
  reason: string,
): PortResult {
  return { address: `198.51.100.${last}`, protocol: "tcp", port, state, reason };
}

/** The /30 of the tests: .2 answers (80 open, 81-82 closed), .3 is dark. */
function feed(pipeline: Awaited<ReturnType<typeof openPipeline>>): void {
  for (const port of PORTS) {
    pipeline.port(
      port === 80 ? verdict(2, port, "open", "syn-ack") : verdict(2, port, "closed", "reset"),
      host(2, "two.example"),
    );
    // The engine may pass no host for silence: the router only counts it.
    pipeline.port(verdict(3, port, "filtered", "no-response"));
  }
}

function info(): Parameters<typeof openPipeline>[0]["info"] {
  return {
    version: "test",
    args: ["portolan", "-sS", "-Pn", "-p", "80-82", "198.51.100.2-3"],
    scaninfo: [{ type: "syn", protocol: "tcp", numServices: 3, services: "80-82" }],
    start: new Date("2030-01-01T00:00:00.000Z"),
  };
}

Deno.test("pipeline: every output and the history get what they take; silence and closed ports are counts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portolan_pipeline_" });
  try {
    const db = openHistory(`${dir}/h.db`);
    const streaming = collector();
    const document = collector(["start", "end"]);
    const pipeline = await openPipeline({
      info: info(),
      report: { scanned: { tcp: PORTS } },
      outputs: [
        { plugin: streaming, path: `${dir}/a` },
        { plugin: document, path: `${dir}/b` },
      ],
      history: { db, targets: "198.51.100.2-3" },
    });
    feed(pipeline);
    const { report, errors } = await pipeline.finish({ probes: 6, retries: 0 }, {
      interrupted: false,
    });
    assert.deepEqual(errors, []);

    assert.deepEqual(
      streaming.seen.map((e) =>
        e.type === "port" ? `${e.result.address}:${e.result.port}` : e.type
      ),
      [
        "start",
        "198.51.100.2:80",
        "198.51.100.3:80",
        "198.51.100.2:81",
        "198.51.100.3:81",
        "198.51.100.2:82",
        "198.51.100.3:82",
        "end",
      ],
    );
    assert.deepEqual(document.seen.map((e) => e.type), ["start", "end"]);
    assert.deepEqual(
      report.hosts.map((h) => [h.address, h.hostnames, h.ports.map((p) => p.port)]),
      [
        ["198.51.100.2", ["two.example"], [80, 81, 82]],
      ],
    );

    // The history: one row per finding, the closed ports as a count, the dark host not at all.
    const [summary] = listScans(db);
    assert.equal(summary?.openPorts, 1);
    const stored = loadScan(db, summary?.id ?? -1);
    assert.equal(stored.finished, true);
    assert.deepEqual(stored.hosts.map((h) => [h.address, h.hostnames, h.state, h.reason]), [
      ["198.51.100.2", ["two.example"], "up", "syn-ack"],
    ]);
    assert.deepEqual(stored.hosts[0]?.ports.map((p) => [p.port, p.state]), [[80, "open"]]);
    assert.deepEqual(stored.hosts[0]?.extraports, [
      { state: "closed", count: 2, reasons: [{ reason: "reset", count: 2 }] },
    ]);
    assert.equal(Number(db.prepare("SELECT count(*) AS n FROM ports").get()?.n), 1);
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pipeline: a history that fails costs only the history", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portolan_pipeline_" });
  try {
    const db = openHistory(`${dir}/h.db`);
    const streaming = collector();
    const pipeline = await openPipeline({
      info: info(),
      report: { scanned: { tcp: PORTS } },
      outputs: [{ plugin: streaming, path: `${dir}/a` }],
      history: { db, targets: "198.51.100.2-3" },
    });
    feed(pipeline);
    // The database goes away under the recorder: its next write fails.
    db.close();
    const { report, errors } = await pipeline.finish({ probes: 6, retries: 0 }, {
      interrupted: false,
    });
    assert.deepEqual(errors.map((e) => e.message.split(":")[0]), ['Output "history" failed']);
    assert.equal(streaming.seen.at(-1)?.type, "end");
    assert.equal(streaming.seen.filter((e) => e.type === "port").length, 6);
    assert.equal(report.hosts.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
