import assert from "node:assert/strict";
import { createEventBus, runOutputs } from "../src/output/bus.ts";
import { createReportBuilder } from "../src/output/report_builder.ts";
import { formatDate, normalOutput } from "./output_normal.ts";

async function run(interrupted: boolean): Promise<string> {
  const start = new Date(2025, 0, 2, 3, 4, 5);
  const builder = createReportBuilder({
    version: "0.1.0",
    args: ["-p", "22,80", "--banner", "it's", "198.51.100.2"],
    scaninfo: [{ type: "connect", protocol: "tcp", numServices: 2, services: "22,80" }],
    start,
  });
  builder.addPort({
    address: "198.51.100.2",
    protocol: "tcp",
    port: 80,
    state: "closed",
    reason: "conn-refused",
  }, { hostnames: ["web\x1b[2J"] });
  builder.addPort({
    address: "198.51.100.2",
    protocol: "tcp",
    port: 22,
    state: "open",
    reason: "syn-ack",
    service: { name: "ssh" },
  });
  const chunks: string[] = [];
  const bus = createEventBus();
  const done = runOutputs([{
    plugin: normalOutput(),
    writer: { color: true, write: (text) => Promise.resolve(void chunks.push(text)) },
  }], bus);
  bus.emit({ type: "start", report: builder.snapshot() });
  bus.emit({
    type: "end",
    report: builder.finish({ probes: 2, retries: 0, hostsTotal: 4 }, new Date(2025, 0, 2, 3, 4, 7)),
    interrupted,
  });
  bus.close();
  assert.deepEqual(await done, []);
  return chunks.join("");
}

Deno.test("formatDate uses nmap's form in local time", () => {
  assert.equal(
    formatDate(new Date(2025, 10, 26, 16, 5, 9).toISOString()),
    "Wed Nov 26 16:05:09 2025",
  );
  assert.equal(formatDate("bogus\x1b"), "bogus\\x1b");
});

Deno.test("normal output writes header, table and footer without colour", async () => {
  const text = await run(false);
  assert.equal(
    text,
    [
      "# portolan 0.1.0 scan initiated Thu Jan 02 03:04:05 2025 as: " +
      "portolan -p 22,80 --banner 'it'\\''s' 198.51.100.2",
      "portolan scan report for web\\x1b[2J (198.51.100.2)",
      "Host is up, received conn-refused.",
      "PORT   STATE  SERVICE REASON",
      "22/tcp open   ssh     syn-ack",
      "80/tcp closed         conn-refused",
      "",
      "# portolan done at Thu Jan 02 03:04:07 2025 -- 4 IP addresses (1 host up) " +
      "scanned in 2.00 seconds",
      "",
    ].join("\n"),
  );
});

Deno.test("normal output notes an interrupted scan", async () => {
  const text = await run(true);
  assert.ok(text.includes("\n# Scan interrupted: results are partial.\n# portolan done at "));
});
