import assert from "node:assert/strict";
import type { OutputPlugin, OutputWriter, ScanEvent } from "../plugin/types.ts";
import type { ScanReport } from "../model/mod.ts";
import { createEventBus, runOutputs } from "./bus.ts";

const REPORT: ScanReport = {
  scanner: "portolan",
  version: "0.1.0",
  args: [],
  start: "2025-01-02T03:04:05.000Z",
  end: "",
  scaninfo: [],
  hosts: [],
  stats: { probes: 0, retries: 0, seconds: 0, hostsUp: 0, hostsDown: 0, hostsTotal: 0 },
};

function portEvent(port: number): ScanEvent {
  return {
    type: "port",
    result: { address: "198.51.100.2", protocol: "tcp", port, state: "open", reason: "syn-ack" },
  };
}

function ports(events: ScanEvent[]): number[] {
  return events.flatMap((e) => e.type === "port" ? [e.result.port] : []);
}

async function collect(events: AsyncIterable<ScanEvent>): Promise<ScanEvent[]> {
  const seen: ScanEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

Deno.test("event bus: two subscribers see every event in order", async () => {
  const bus = createEventBus();
  const a = collect(bus.subscribe());
  const b = collect(bus.subscribe());
  bus.emit({ type: "start", report: REPORT });
  // Enough events to make the queue compact its front at least once.
  for (let p = 1; p <= 5000; p++) {
    bus.emit(portEvent(p));
    if (p % 777 === 0) await Promise.resolve();
  }
  bus.emit({ type: "end", report: REPORT, interrupted: false });
  bus.close();
  const expected = Array.from({ length: 5000 }, (_, i) => i + 1);
  for (const seen of await Promise.all([a, b])) {
    assert.equal(seen.length, 5002);
    assert.equal(seen[0]?.type, "start");
    assert.equal(seen.at(-1)?.type, "end");
    assert.deepEqual(ports(seen), expected);
  }
});

Deno.test("event bus: a late subscriber sees later events only; emit after close is ignored", async () => {
  const bus = createEventBus();
  bus.emit(portEvent(1));
  const late = bus.subscribe();
  bus.emit(portEvent(2));
  bus.close();
  bus.emit(portEvent(3));
  assert.deepEqual(ports(await collect(late)), [2]);
  assert.deepEqual(await collect(bus.subscribe()), []);
});

Deno.test("event bus: a waiting reader is woken by emit and by close", async () => {
  const bus = createEventBus();
  const events = bus.subscribe();
  const first = events.next();
  bus.emit(portEvent(7));
  const result = await first;
  assert.equal(result.done, false);
  const second = events.next();
  bus.close();
  assert.equal((await second).done, true);
});

const WRITER: OutputWriter = { color: false, write: () => Promise.resolve() };

Deno.test("runOutputs: a failing plugin does not stop the others", async () => {
  const bus = createEventBus();
  const seen: number[] = [];
  const good: OutputPlugin = {
    name: "good",
    description: "collects ports",
    async write(events): Promise<void> {
      seen.push(...ports(await collect(events)));
    },
  };
  const bad: OutputPlugin = {
    name: "bad",
    description: "fails on the second event",
    async write(events): Promise<void> {
      let n = 0;
      for await (const _ of events) {
        if (++n === 2) throw new Error("disk full");
      }
    },
  };
  const sync: OutputPlugin = {
    name: "sync",
    description: "throws before awaiting",
    write(): Promise<void> {
      throw new TypeError("boom");
    },
  };
  const done = runOutputs([
    { plugin: bad, writer: WRITER },
    { plugin: good, writer: WRITER },
    { plugin: sync, writer: WRITER },
  ], bus);
  for (let p = 1; p <= 5; p++) {
    bus.emit(portEvent(p));
    await Promise.resolve();
  }
  bus.close();
  const errors = await done;
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  assert.deepEqual(errors.map((e) => e.message), [
    'Output "bad" failed: disk full',
    'Output "sync" failed: boom',
  ]);
  assert.ok(errors[1]?.cause instanceof TypeError);
});

Deno.test("runOutputs: resolves with no errors when all plugins finish", async () => {
  const bus = createEventBus();
  const quitter: OutputPlugin = {
    name: "quitter",
    description: "returns without reading",
    write: () => Promise.resolve(),
  };
  const done = runOutputs([{ plugin: quitter, writer: WRITER }], bus);
  bus.emit(portEvent(1));
  bus.close();
  assert.deepEqual(await done, []);
});

Deno.test("event bus: wants says whether a subscriber takes a type, and stops when it returns", async () => {
  const bus = createEventBus();
  assert.equal(bus.wants("port"), false);
  const documents = bus.subscribe(["start", "end"]);
  assert.equal(bus.wants("port"), false);
  assert.equal(bus.wants("end"), true);
  const all = bus.subscribe();
  assert.equal(bus.wants("port"), true);
  await all.return();
  assert.equal(bus.wants("port"), false);
  // A type nobody takes is dropped by every queue: the start/end reader never sees it.
  bus.emit(portEvent(1));
  bus.emit({ type: "end", report: REPORT, interrupted: false });
  bus.close();
  assert.deepEqual((await collect(documents)).map((e) => e.type), ["end"]);
  assert.equal(bus.wants("end"), false);
});
