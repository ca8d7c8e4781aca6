/**
 * A tiny DNS server for tests: answers PTR queries for the addresses it is
 * given, NXDOMAIN for the rest, over UDP on a loopback port. A "silent"
 * server reads queries and answers none (a resolver that does not answer).
 *
 * ```sh
 * deno run --allow-net tests/fake_dns.ts 127.0.0.1 5353 198.51.100.2=target.lab.example
 * ```
 *
 * @module
 */

import dgram from "node:dgram";
import { ptrName } from "../src/targets/reverse.ts";

/** A running fake server. */
export interface FakeDns {
  port: number;
  /** Queries received. */
  queries(): number;
  close(): Promise<void>;
}

function encodeName(name: string): Uint8Array {
  const bytes: number[] = [];
  for (const label of name.replace(/\.$/, "").split(".")) {
    const text = new TextEncoder().encode(label);
    bytes.push(text.length, ...text);
  }
  bytes.push(0);
  return new Uint8Array(bytes);
}

/** The question's name and where the question ends, or undefined when it cannot be read. */
function question(query: Uint8Array): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let at = 12;
  while (at < query.length && query[at] !== 0) {
    const length = query[at]!;
    labels.push(new TextDecoder().decode(query.subarray(at + 1, at + 1 + length)));
    at += 1 + length;
  }
  if (at + 5 > query.length) return undefined;
  return { name: labels.join(".").toLowerCase(), end: at + 5 };
}

/** The answer to `query`: the PTR of a known name, else NXDOMAIN. */
export function answerQuery(query: Uint8Array, names: ReadonlyMap<string, string>): Uint8Array {
  const asked = question(query);
  if (asked === undefined) return new Uint8Array(0);
  const header = new Uint8Array(12);
  header.set(query.subarray(0, 2)); // the id
  const name = names.get(asked.name);
  header[2] = 0x81; // a response, recursion desired
  header[3] = name === undefined ? 0x83 : 0x80; // NXDOMAIN or no error
  header[5] = 1; // one question
  header[7] = name === undefined ? 0 : 1;
  const parts = [header, query.subarray(12, asked.end)];
  if (name !== undefined) {
    const rdata = encodeName(name);
    const record = new Uint8Array(12 + rdata.length);
    // A pointer to the question's name, PTR, IN, TTL 60, the length, the name.
    record.set([0xc0, 0x0c, 0, 12, 0, 1, 0, 0, 0, 60, rdata.length >> 8, rdata.length & 0xff]);
    record.set(rdata, 12);
    parts.push(record);
  }
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Start a server on `host` (port 0: any free one); `names` maps addresses to their names. */
export function startFakeDns(
  host: string,
  options: { port?: number; names?: Record<string, string>; silent?: boolean } = {},
): Promise<FakeDns> {
  const byPtr = new Map(
    Object.entries(options.names ?? {}).map(([address, name]) => [ptrName(address), name]),
  );
  const socket = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  let count = 0;
  socket.on("message", (message: Uint8Array, remote: { address: string; port: number }) => {
    count++;
    if (options.silent) return;
    const reply = answerQuery(new Uint8Array(message), byPtr);
    if (reply.length > 0) socket.send(reply, remote.port, remote.address);
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(options.port ?? 0, host, () => {
      resolve({
        port: socket.address().port,
        queries: () => count,
        close: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });
}

if (import.meta.main) {
  const [host = "127.0.0.1", port = "5353", ...pairs] = Deno.args;
  const names = Object.fromEntries(pairs.map((pair) => pair.split("=", 2) as [string, string]));
  const server = await startFakeDns(host, { port: Number(port), names });
  console.log(`listening ${host}:${server.port}`);
}
