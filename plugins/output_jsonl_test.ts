import assert from "node:assert/strict";
import { rawUnsafe } from "../src/plugin/format.ts";
import { createEventBus, runOutputs } from "../src/output/bus.ts";
import { jsonlOutput } from "./output_jsonl.ts";
import { HOSTILE, rawControls, runOutput, sampleScan } from "../src/plugin_testing/mod.ts";

Deno.test("jsonl output writes one object per event: start, hosts, ports, summary", async () => {
  const { events } = sampleScan();
  const text = await runOutput(jsonlOutput(), events);
  const lines = text.trimEnd().split("\n").map((line) => JSON.parse(line));
  assert.equal(lines.length, events.length);
  assert.deepEqual(lines.map((line) => line.type), events.map((event) => event.type));
  assert.equal(lines[0].scanner, "portolan");
  assert.deepEqual(lines[0].scaninfo[0].services, "1-100");
  assert.deepEqual(lines[1], {
    type: "host",
    address: "198.51.100.2",
    hostnames: ["web.example"],
    state: "up",
    reason: "syn-ack",
  });
  const ssh = lines.find((line) => line.type === "port" && line.port === 22);
  assert.equal(ssh.address, "198.51.100.2");
  assert.equal(ssh.rtt, 0.25);
  assert.equal(ssh.reasonTtl, 64);
  assert.equal(ssh.service.product, "OpenSSH");
  // Every port, closed ones too: the stream loses nothing.
  assert.equal(lines.filter((line) => line.type === "port").length, 104);
  const end = lines.at(-1);
  assert.equal(end.type, "end");
  assert.equal(end.interrupted, false);
  assert.equal(end.stats.hostsTotal, 5);
  const web = end.hosts.find((host: { address: string }) => host.address === "198.51.100.2");
  assert.deepEqual(web.ports, { open: 4, filtered: 38, closed: 58 });
});

Deno.test("jsonl output writes each port as it arrives, before the scan ends", async () => {
  const chunks: string[] = [];
  const bus = createEventBus();
  const done = runOutputs([{
    plugin: jsonlOutput(),
    writer: { color: false, write: (text) => Promise.resolve(void chunks.push(text)) },
  }], bus);
  const { events } = sampleScan();
  const ports = events.filter((event) => event.type === "port");
  bus.emit(events[0]!);
  bus.emit(ports[0]!);
  // Let the plugin run: nothing else is emitted yet.
  for (let i = 0; i < 10; i++) await Promise.resolve();
  assert.equal(chunks.length, 2);
  assert.equal(JSON.parse(chunks[1]!).type, "port");
  bus.close();
  assert.deepEqual(await done, []);
});

Deno.test("jsonl output keeps hostile text on one valid line", async () => {
  const { events } = sampleScan({ hostile: true });
  const text = await runOutput(jsonlOutput(), events);
  assert.deepEqual(rawControls(text), []);
  assert.ok(!/[\u2028\u2029]/.test(text));
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, events.length);
  const ssh = lines.map((line) => JSON.parse(line)).find((line) => line.port === 22);
  assert.ok(ssh.service.banner.startsWith(HOSTILE));
});

Deno.test("jsonl output holds no raw DEL, C1 or bidi control, and parses back to the same text", async () => {
  const nasty = "a\x7fb\x80c\x9b2J\x1b]52;c;eA==\x07\u202eevil\u2066\u2029";
  const text = await runOutput(jsonlOutput(), [{
    type: "port",
    result: {
      address: "198.51.100.2",
      protocol: "tcp",
      port: 80,
      state: "open",
      reason: "syn-ack",
      service: { name: "http", banner: nasty, extraInfo: nasty },
    },
  }]);
  assert.deepEqual(rawUnsafe(text), []);
  assert.equal(JSON.parse(text).service.banner, nasty);
});
