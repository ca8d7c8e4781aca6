/**
 * Child process of the kill -9 test: records one scan in batches, as fast as
 * it can, printing "batch N" after each committed batch, until it is killed
 * (or, bounded, after MAX_BATCHES).
 *
 * Usage: deno run --allow-all crash_writer.ts DB_PATH BATCH_SIZE
 *
 * @module
 */

import { addResults, openHistory, startScan } from "../mod.ts";
import type { PortResult } from "../../model/mod.ts";

const MAX_BATCHES = 4000;

const [path, sizeText] = Deno.args;
if (path === undefined || sizeText === undefined) {
  console.error("usage: crash_writer.ts DB_PATH BATCH_SIZE");
  Deno.exit(2);
}
const size = Number(sizeText);
const db = openHistory(path);
const scanId = startScan(db, {
  args: ["portolan", "-sT", "-p-", "198.18.0.0/15"],
  start: new Date(),
  targets: "198.18.0.0/15",
  scaninfo: [{ type: "connect", protocol: "tcp", numServices: size, services: `1-${size}` }],
});
console.log(`scan ${scanId}`);
for (let batch = 0; batch < MAX_BATCHES; batch++) {
  // One host per batch, so a whole batch is a host with exactly `size` ports.
  const address = `198.18.${batch >> 8}.${batch & 255}`;
  const results: PortResult[] = [];
  for (let port = 1; port <= size; port++) {
    results.push({
      address,
      protocol: "tcp",
      port,
      state: "open",
      reason: "syn-ack",
      service: { name: "x".repeat(64) },
    });
  }
  addResults(db, scanId, results);
  console.log(`batch ${batch}`);
}
db.close();
