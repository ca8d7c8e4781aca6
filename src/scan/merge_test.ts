import assert from "node:assert/strict";
import { mergeReports } from "./merge.ts";

const START = {
  type: "start",
  scanner: "portolan",
  version: "test",
  args: ["portolan", "-sT", "-p", "22,80,443", "198.51.100.2"],
  start: "2030-01-01T00:00:00.000Z",
  scaninfo: [{ type: "connect", protocol: "tcp", numServices: 3, services: "22,80,443" }],
};

function shard(lines: readonly Record<string, unknown>[]): string {
  return [START, ...lines].map((line) => JSON.stringify(line)).join("\n") + "\n";
}

function port(number: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "port",
    address: "198.51.100.2",
    protocol: "tcp",
    port: number,
    state: "open",
    reason: "syn-ack",
    ...extra,
  };
}

Deno.test("mergeReports: JSONL port lines are narrowed to the model; a port that is none is skipped", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portolan_merge_" });
  try {
    const host = { type: "host", address: "198.51.100.2", hostnames: [], state: "up", reason: "" };
    await Deno.writeTextFile(
      `${dir}/a.jsonl`,
      shard([
        host,
        // A service field of the wrong type, an unknown field, a list of mixed items.
        port(22, {
          service: { name: "ssh", version: 9, x: { y: 1 }, cpe: ["cpe:/a:x", 3], tunnel: "tls" },
        }),
        // A service that is no object at all.
        port(80, { service: "http" }),
        // Not a port: a state nmap has no word for, and a port past 65535.
        port(443, { state: "ajar" }),
        port(70000),
        // Counters some writer left out: counted 0, not NaN.
        { type: "end", end: "2030-01-01T00:00:01.000Z", stats: { probes: 2 } },
      ]),
    );
    await Deno.writeTextFile(
      `${dir}/b.jsonl`,
      shard([
        host,
        port(443, { state: "closed", reason: "conn-refused", service: {} }),
        {
          type: "end",
          end: "2030-01-01T00:00:02.000Z",
          stats: { probes: 1, retries: 0, seconds: 1, hostsUp: 1, hostsDown: 0, hostsTotal: 1 },
        },
      ]),
    );
    const { report, errors } = await mergeReports([`${dir}/a.jsonl`, `${dir}/b.jsonl`], {
      outputs: [],
    });
    assert.deepEqual(errors, []);
    const ports = report.hosts[0]?.ports ?? [];
    assert.deepEqual(ports.map((p) => [p.port, p.state, p.service]), [
      [22, "open", { name: "ssh", cpe: ["cpe:/a:x"] }],
      [80, "open", undefined],
      // An empty service is none, as before.
      [443, "closed", undefined],
    ]);
    assert.ok(ports.slice(1).every((p) => !("service" in p)));
    assert.equal(report.stats.probes, 3);
    assert.equal(report.stats.retries, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
