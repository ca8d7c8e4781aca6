import assert from "node:assert/strict";
import { defineOutput, defineProbe, defineScript, type ScanReport, withOptions } from "./mod.ts";
import { createEventBus, runOutputs } from "../output/bus.ts";

Deno.test("defineProbe fills in nmap's defaults for what a probe leaves out", async () => {
  const probe = defineProbe({
    name: "hello",
    probe: () => Promise.resolve({ name: "hello" }),
  });
  assert.equal(probe.description, "hello");
  assert.deepEqual(probe.protocols, ["tcp"]);
  assert.deepEqual(probe.ports, []);
  assert.equal(probe.rarity, 5);
  assert.equal(probe.passive, false);
  const given = defineProbe({ name: "x", rarity: 2, ports: [70], probe: probe.probe });
  assert.equal(given.rarity, 2);
  assert.deepEqual(given.ports, [70]);
  assert.deepEqual(await given.probe(undefined!, new AbortController().signal), { name: "hello" });
});

Deno.test("defineScript and defineOutput default their metadata", () => {
  const script = defineScript({ name: "nothing", run: () => Promise.resolve(undefined) });
  assert.deepEqual([script.categories, script.ports, script.services], [[], [], []]);
  const output = defineOutput({ name: "none", write: () => Promise.resolve() });
  assert.equal(output.description, "none");
  assert.equal(output.events, undefined);
});

Deno.test("withOptions merges the caller's options over the defaults, lume-style", () => {
  const make = withOptions({ title: "Scan", level: 1 }, (options) => options);
  assert.deepEqual(make(), { title: "Scan", level: 1 });
  assert.deepEqual(make({ title: "Lab" }), { title: "Lab", level: 1 });
  assert.deepEqual(make({ level: undefined }), { title: "Scan", level: 1 });
});

Deno.test("an output made with the SDK runs on the real event bus", async () => {
  const markdown = withOptions({ title: "Scan" }, (options) =>
    defineOutput({
      name: "markdown",
      events: ["end"],
      async write(events, out): Promise<void> {
        for await (const event of events) {
          if (event.type !== "end") continue;
          await out.write(`# ${options.title}\n`);
          for (const host of event.report.hosts) {
            for (const port of host.ports) await out.write(`${host.address} ${port.port}\n`);
          }
        }
      },
    }));
  const report: ScanReport = {
    scanner: "portolan",
    version: "0",
    args: [],
    start: "2026-12-03T00:00:00.000Z",
    end: "2026-12-03T00:00:01.000Z",
    scaninfo: [],
    hosts: [{
      address: "198.51.100.2",
      hostnames: [],
      state: "up",
      reason: "syn-ack",
      ports: [{
        address: "198.51.100.2",
        protocol: "tcp",
        port: 80,
        state: "open",
        reason: "syn-ack",
      }],
      extraports: [],
    }],
    stats: { probes: 1, retries: 0, seconds: 1, hostsUp: 1, hostsDown: 0, hostsTotal: 1 },
  };
  let text = "";
  const bus = createEventBus();
  const done = runOutputs([{
    plugin: markdown({ title: "Lab" }),
    writer: {
      color: false,
      write: (chunk) => {
        text += chunk;
        return Promise.resolve();
      },
    },
  }], bus);
  bus.emit({ type: "start", report: { ...report, hosts: [], end: "" } });
  bus.emit({ type: "end", report, interrupted: false });
  bus.close();
  assert.deepEqual(await done, []);
  assert.equal(text, "# Lab\n198.51.100.2 80\n");
});
