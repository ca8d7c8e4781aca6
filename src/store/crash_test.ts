import assert from "node:assert/strict";
import type { ScanReport } from "../model/mod.ts";
import { openHistory } from "./db.ts";
import { listScans, loadScan, type StoredScan } from "./history.ts";
import { importReport } from "./record.ts";

const WRITER = new URL("./testdata/crash_writer.ts", import.meta.url).pathname;
const BATCH = 400;

function finishedReport(port: number): ScanReport {
  return {
    scanner: "portolan",
    version: "0.1.0",
    args: ["portolan", "-sT", "127.0.0.1"],
    start: `2030-01-0${port % 9 + 1}T00:00:00.000Z`,
    end: `2030-01-0${port % 9 + 1}T00:00:05.000Z`,
    scaninfo: [{ type: "connect", protocol: "tcp", numServices: 1000, services: "1-1000" }],
    hosts: [{
      address: "127.0.0.1",
      hostnames: ["localhost"],
      state: "up",
      reason: "conn-refused",
      ports: [{ address: "127.0.0.1", protocol: "tcp", port, state: "open", reason: "syn-ack" }],
      extraports: [{
        state: "closed",
        count: 999,
        reasons: [{ reason: "conn-refused", count: 999 }],
      }],
    }],
    stats: { probes: 1000, retries: 0, seconds: 5, hostsUp: 1, hostsDown: 0, hostsTotal: 1 },
  };
}

/** Read the child's stdout until a line matches, with a bound on how much is read. */
async function waitForLine(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  pattern: RegExp,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  while (text.length < 10_000_000) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(`writer exited before printing ${pattern}; output: ${text.slice(-500)}`);
    }
    text += decoder.decode(value, { stream: true });
    const match = text.split("\n").slice(0, -1).find((line) => pattern.test(line));
    if (match !== undefined) return text;
  }
  throw new Error(`writer never printed ${pattern}`);
}

Deno.test("history survives kill -9 in the middle of a write", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portolan_store_" });
  try {
    const path = `${dir}/history.db`;
    const db = openHistory(path);
    const earlier = [importReport(db, finishedReport(22)), importReport(db, finishedReport(443))];
    const before: StoredScan[] = earlier.map((id) => loadScan(db, id));
    db.close();

    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", WRITER, path, String(BATCH)],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    let printed: string;
    try {
      printed = await waitForLine(reader, /^batch 5$/);
    } finally {
      child.kill("SIGKILL");
    }
    const status = await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    const stderr = await new Response(child.stderr).text();
    assert.equal(status.signal, "SIGKILL", stderr);
    const partialId = Number(/^scan (\d+)$/m.exec(printed)?.[1]);
    assert.equal(partialId, 3);

    const after = openHistory(path);
    try {
      assert.deepEqual(
        after.prepare("PRAGMA integrity_check").all().map((r) => r.integrity_check),
        ["ok"],
      );
      assert.deepEqual(after.prepare("PRAGMA foreign_key_check").all(), []);
      // The finished scans are exactly as they were.
      for (const [i, id] of earlier.entries()) assert.deepEqual(loadScan(after, id), before[i]);
      const partial = loadScan(after, partialId);
      assert.equal(partial.finished, false);
      assert.equal(partial.interrupted, true);
      // Every batch the writer reported committed is there, and each batch is whole.
      assert.ok(partial.hosts.length >= 6, `only ${partial.hosts.length} batches survived`);
      for (const host of partial.hosts) {
        assert.equal(host.ports.length, BATCH, `batch of ${host.address} is torn`);
        assert.deepEqual(
          host.ports.map((p) => p.port),
          Array.from({ length: BATCH }, (_, i) => i + 1),
        );
      }
      const count = Number(
        after.prepare("SELECT count(*) AS n FROM ports WHERE scan_id = ?").get(partialId)?.n,
      );
      assert.equal(count % BATCH, 0);
      const listed = listScans(after).map((s) => [s.id, s.finished]).sort((x, y) =>
        Number(x[0]) - Number(y[0])
      );
      assert.deepEqual(listed, [[1, true], [2, true], [3, false]]);
    } finally {
      after.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
