import assert from "node:assert/strict";
import { rawUnsafe } from "../src/plugin/format.ts";
import { createEventBus, runOutputs } from "../src/output/bus.ts";
import { createReportBuilder } from "../src/output/report_builder.ts";
import { openFileWriter } from "../src/output/writer.ts";
import type { ScanReport } from "../src/model/mod.ts";
import { jsonOutput, toJson } from "./output_json.ts";
import { outputPlugins } from "./mod.ts";

function sampleReport(): { start: ScanReport; end: ScanReport } {
  const start = new Date("2025-01-02T03:04:05.000Z");
  const builder = createReportBuilder({
    version: "0.1.0",
    args: ["-p", "20-30", "198.51.100.0/30"],
    scaninfo: [{ type: "connect", protocol: "tcp", numServices: 11, services: "20-30" }],
    start,
  }, { closedListLimit: 5 });
  const snapshot = builder.snapshot();
  for (let port = 20; port <= 30; port++) {
    builder.addPort({
      address: "198.51.100.2",
      protocol: "tcp",
      port,
      ...(port === 22
        ? { state: "open", reason: "syn-ack", rtt: 0.25, reasonTtl: 64, service: { name: "ssh" } }
        : { state: "closed", reason: "conn-refused" }),
    });
    builder.addPort({
      address: "198.51.100.1",
      protocol: "tcp",
      port,
      state: "filtered",
      reason: "no-response",
    });
  }
  const end = builder.finish(
    { probes: 22, retries: 11, hostsTotal: 4 },
    new Date(start.getTime() + 1500),
  );
  return { start: snapshot, end };
}

type Json = Record<string, unknown>;

function assertKeys(value: unknown, keys: string[], where: string): asserts value is Json {
  assert.equal(typeof value, "object", where);
  assert.ok(value !== null && !Array.isArray(value), where);
  assert.deepEqual(Object.keys(value as object), keys, where);
}

function assertTypes(value: Json, types: Record<string, string>, where: string): void {
  for (const [key, type] of Object.entries(types)) {
    const actual = Array.isArray(value[key]) ? "array" : typeof value[key];
    assert.equal(actual, type, `${where}.${key}`);
  }
}

Deno.test("json output writes the final report in the -oJ schema", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/scan.json`;
    const writer = await openFileWriter(path);
    const bus = createEventBus();
    const done = runOutputs([{ plugin: jsonOutput(), writer }], bus);
    const { start, end } = sampleReport();
    bus.emit({ type: "start", report: start });
    bus.emit({ type: "end", report: end, interrupted: false });
    bus.close();
    assert.deepEqual(await done, []);
    await writer.close();

    const text = await Deno.readTextFile(path);
    assert.ok(text.startsWith('{\n  "scanner": "portolan",\n  "version": "0.1.0",'));
    assert.ok(text.endsWith("}\n"));
    const json: unknown = JSON.parse(text);
    assertKeys(json, [
      "scanner",
      "version",
      "args",
      "start",
      "end",
      "scaninfo",
      "hosts",
      "stats",
    ], "report");
    assertTypes(json, {
      scanner: "string",
      version: "string",
      args: "array",
      start: "string",
      end: "string",
      scaninfo: "array",
      hosts: "array",
      stats: "object",
    }, "report");
    assert.equal(json.end, "2025-01-02T03:04:06.500Z");
    assert.deepEqual(json.stats, {
      probes: 22,
      retries: 11,
      seconds: 1.5,
      hostsUp: 1,
      hostsDown: 0,
      hostsTotal: 4,
    });
    const [info] = json.scaninfo as unknown[];
    assertKeys(info, ["type", "protocol", "numServices", "services"], "scaninfo");
    const hosts = json.hosts as unknown[];
    assert.equal(hosts.length, 2);
    for (const host of hosts) {
      assertKeys(host, ["address", "hostnames", "state", "reason", "ports", "extraports"], "host");
      assertTypes(host, {
        address: "string",
        hostnames: "array",
        state: "string",
        reason: "string",
        ports: "array",
        extraports: "array",
      }, "host");
    }
    const [unknown, up] = hosts as Json[];
    assert.equal(unknown?.address, "198.51.100.1");
    assert.equal(unknown?.state, "unknown");
    // Filtered ports are listed one by one, never summarised.
    assert.deepEqual(unknown?.extraports, []);
    assert.equal((unknown?.ports as Json[]).length, 11);
    assert.ok((unknown?.ports as Json[]).every((p) => p.state === "filtered"));
    assert.equal(up?.state, "up");
    assert.deepEqual(up?.ports, [{
      protocol: "tcp",
      port: 22,
      state: "open",
      reason: "syn-ack",
      rtt: 0.25,
      reasonTtl: 64,
      service: { name: "ssh" },
    }]);
    assert.deepEqual(up?.extraports, [
      { state: "closed", count: 10, reasons: [{ reason: "conn-refused", count: 10 }] },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("json output gives every port a service object", async () => {
  const { end } = sampleReport();
  const host = end.hosts[1]!;
  host.ports.push({
    address: host.address,
    protocol: "tcp",
    port: 99,
    state: "open",
    reason: "syn-ack",
  });
  const chunks: string[] = [];
  const bus = createEventBus();
  const done = runOutputs([{
    plugin: outputPlugins.json!(),
    writer: { color: false, write: (text) => Promise.resolve(void chunks.push(text)) },
  }], bus);
  bus.emit({ type: "end", report: end, interrupted: true });
  bus.close();
  assert.deepEqual(await done, []);
  const json = JSON.parse(chunks.join(""));
  const port = json.hosts[1].ports[1];
  assert.deepEqual(port, {
    protocol: "tcp",
    port: 99,
    state: "open",
    reason: "syn-ack",
    service: {},
  });
});

Deno.test("plugin registry lists the built-in outputs by name", () => {
  assert.deepEqual(Object.keys(outputPlugins).sort(), [
    "csv",
    "grepable",
    "html",
    "json",
    "jsonl",
    "normal",
    "xml",
  ]);
  for (const [name, factory] of Object.entries(outputPlugins)) {
    const plugin = factory();
    assert.equal(plugin.name, name);
    assert.ok(plugin.description.length > 0);
  }
});

Deno.test("-oJ holds no raw DEL, C1 or bidi control, and marks an interrupted scan", () => {
  const nasty = "x\x7f\x85\x9b2J\u202e\u2067\x1b[2J\x07";
  const { end } = sampleReport();
  const report = {
    ...end,
    args: [...end.args, nasty],
    hosts: end.hosts.map((host) => ({ ...host, hostnames: [nasty] })),
  };
  const whole = toJson(report);
  assert.deepEqual(rawUnsafe(whole), []);
  const parsed = JSON.parse(whole);
  assert.equal(parsed.hosts[0].hostnames[0], nasty);
  assert.equal(parsed.interrupted, undefined);
  const partial = JSON.parse(toJson(report, { interrupted: true }));
  assert.equal(partial.interrupted, true);
  assert.deepEqual(Object.keys(partial).slice(0, 6), [
    "scanner",
    "version",
    "args",
    "start",
    "end",
    "interrupted",
  ]);
});

Deno.test("json output written host by host is JSON.stringify's layout, with and without hosts", () => {
  const { start, end } = sampleReport();
  for (const report of [start, end]) {
    const text = toJson(report);
    assert.equal(text, JSON.stringify(JSON.parse(text), null, 2) + "\n");
  }
  assert.ok(end.hosts.length > 1);
});

Deno.test("json output of more hosts than one piece holds is the document JSON.stringify makes", () => {
  const builder = createReportBuilder({
    version: "0.1.0",
    args: ["-p", "80,443", "198.51.100.0/24"],
    scaninfo: [{ type: "syn", protocol: "tcp", numServices: 2, services: "80,443" }],
    start: new Date("2025-01-02T03:04:05.000Z"),
  });
  for (let i = 1; i <= 200; i++) {
    const address = `198.51.100.${i}`;
    builder.addPort({
      address,
      protocol: "tcp",
      port: 80,
      state: "open",
      reason: "syn-ack",
      rtt: i / 10,
    });
    builder.addPort({
      address,
      protocol: "tcp",
      port: 443,
      ...(i % 3 === 0
        ? { state: "closed", reason: "reset" }
        : { state: "filtered", reason: "no-response" }),
    });
  }
  const report = builder.finish({ probes: 400, retries: 0 }, new Date("2025-01-02T03:04:07.000Z"));
  const text = toJson(report);
  const parsed = JSON.parse(text) as { hosts: { address: string }[] };
  assert.deepEqual(
    parsed.hosts.map((host) => host.address),
    report.hosts.map((host) => host.address),
  );
  assert.equal(parsed.hosts.length, 200);
  // Written in pieces, the text is byte for byte the document written at once.
  assert.equal(text, `${JSON.stringify(parsed, null, 2)}\n`);
});
