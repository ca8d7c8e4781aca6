import assert from "node:assert/strict";
import { listTargets } from "./list.ts";
import { buildTargetSet, createTargetSet } from "./target_set.ts";
import type { Host, TargetSet } from "./types.ts";

async function collect(
  set: TargetSet,
  options: { chunkSize?: number; hostnames?: boolean } = {},
): Promise<{ text: string; lines: number; chunks: number[] }> {
  const parts: Uint8Array[] = [];
  const chunks: number[] = [];
  const lines = await listTargets(set, async (chunk) => {
    chunks.push(chunk.length);
    parts.push(chunk.slice());
    await Promise.resolve();
  }, options);
  const text = parts.map((part) => new TextDecoder().decode(part)).join("");
  return { text, lines, chunks };
}

Deno.test("listTargets writes one address a line, both families", async () => {
  const set = await buildTargetSet([
    "10.0.0.254-10.0.1.2",
    "2001:db8::ffff-2001:db8::1:1",
    "0.0.0.0",
  ]);
  const { text, lines } = await collect(set);
  assert.equal(lines, 9);
  assert.equal(
    text,
    "0.0.0.0\n10.0.0.254\n10.0.0.255\n10.0.1.0\n10.0.1.1\n10.0.1.2\n" +
      "2001:db8::ffff\n2001:db8::1:0\n2001:db8::1:1\n",
  );
});

Deno.test("listTargets matches hosts() across many chunks", async () => {
  const set = await buildTargetSet(["192.168.0.0/20", "2001:db8::/118"]);
  const { text, lines, chunks } = await collect(set, { chunkSize: 1000 });
  const expected = [...set.hosts()].map((host) => host.address + "\n").join("");
  assert.equal(text, expected);
  assert.equal(BigInt(lines), set.size);
  assert.ok(chunks.length > 10);
  assert.ok(chunks.every((length) => length <= 1000 + 64));
});

Deno.test("listTargets can append hostnames, even longer than a chunk", async () => {
  const name = "n".repeat(60) + "." + "m".repeat(60);
  const set = createTargetSet([{ family: 4, start: 1n, end: 3n }], {
    hostnames: [{ family: 4, value: 2n, hostname: name }],
  });
  assert.equal(
    (await collect(set, { hostnames: true, chunkSize: 1 })).text,
    `0.0.0.1\n0.0.0.2 ${name}\n0.0.0.3\n`,
  );
  assert.equal((await collect(set)).text, "0.0.0.1\n0.0.0.2\n0.0.0.3\n");
});

Deno.test("listTargets takes any TargetSet", async () => {
  const hosts: Host[] = [
    { family: 4, value: 1n, address: "0.0.0.1", hostname: "one" },
    { family: 6, value: 1n, address: "::1" },
  ];
  const set: TargetSet = { size: 2n, at: (i) => hosts[Number(i)]!, hosts: () => hosts };
  assert.equal((await collect(set, { hostnames: true })).text, "0.0.0.1 one\n::1\n");
});
