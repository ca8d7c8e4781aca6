/**
 * Hostile output plugins, each a real file in a real sandbox: whatever one
 * does (crash the protocol, exit, close itself, never finish, spin, flood,
 * eat memory), its output fails with one reason naming the file, within the
 * limits given, and the caller goes on.
 */
import assert from "node:assert/strict";
import { loadSandboxedOutputPlugins, type SandboxOptions } from "./sandbox.ts";
import type { ScanEvent } from "../plugin/types.ts";

async function* events(): AsyncGenerator<ScanEvent> {
  yield {
    type: "host",
    host: { address: "198.51.100.2", hostnames: [], state: "up", reason: "syn-ack" },
  };
  yield {
    type: "port",
    result: {
      address: "198.51.100.2",
      protocol: "tcp",
      port: 22,
      state: "open",
      reason: "syn-ack",
    },
  };
}

/** An output plugin module whose `write` body is `body` (events in `events`, writer in `out`). */
function outputModule(body: string, top = ""): string {
  return `${top}
export function hostile() {
  return { name: "hostile", description: "d", async write(events, out) { ${body} } };
}
export default [hostile];`;
}

interface Outcome {
  /** The reason the output failed, or undefined when it finished. */
  error: string | undefined;
  text: string;
  /** What the sandbox told onError. */
  reported: string[];
}

async function runHostile(source: string, options: SandboxOptions = {}): Promise<Outcome> {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-plugin-" });
  const path = `${dir}/hostile.js`;
  await Deno.writeTextFile(path, source);
  const reported: string[] = [];
  try {
    const sandbox = await loadSandboxedOutputPlugins(path, {
      graceMs: 300,
      ...options,
      onError: (message) => reported.push(message),
    });
    let text = "";
    let error: string | undefined;
    try {
      await sandbox.outputs[0]!.factory().write(events(), {
        color: false,
        write(chunk: string): Promise<void> {
          // Keeps only the start: a flood must not fill the test's memory either.
          if (text.length < 1000) text += chunk.slice(0, 1000);
          return Promise.resolve();
        },
      });
    } catch (failure) {
      error = failure instanceof Error ? failure.message : String(failure);
    }
    assert.equal(sandbox.failure, error?.startsWith("Plugin") ? error : sandbox.failure);
    await sandbox.close();
    return { error, text, reported };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const NAMED = /^Plugin "\/tmp\/ptlh-plugin-[^"]+\/hostile\.js" stopped: /;

Deno.test("a well-behaved plugin still finishes in the process sandbox", async () => {
  const outcome = await runHostile(
    outputModule(`for await (const e of events) await out.write(e.type + "\\n");`),
  );
  assert.equal(outcome.error, undefined);
  assert.equal(outcome.text, "host\nport\n");
  assert.deepEqual(outcome.reported, []);
});

Deno.test("hostile plugin: Deno.exit() ends its output with the exit named", async () => {
  const outcome = await runHostile(outputModule(`await out.write("a\\n"); Deno.exit(3);`));
  assert.match(outcome.error ?? "", NAMED);
  assert.match(outcome.error ?? "", /its process exited \(code 3\)$/);
  assert.deepEqual(outcome.reported, [], "one report: through the output that failed");
});

Deno.test("hostile plugin: self.close() ends its output", async () => {
  const outcome = await runHostile(outputModule(`self.close(); await new Promise(() => {});`));
  assert.match(outcome.error ?? "", NAMED);
});

Deno.test("hostile plugin: a promise that never settles is ended after the grace", async () => {
  const outcome = await runHostile(
    outputModule(`for await (const e of events) {} await new Promise(() => {});`),
  );
  assert.match(outcome.error ?? "", NAMED);
  assert.match(outcome.error ?? "", /output "hostile" did not finish within 300 ms/);
});

Deno.test("hostile plugin: while (true) {} in write is killed after the grace", async () => {
  const outcome = await runHostile(outputModule(`while (true) {}`));
  assert.match(outcome.error ?? "", /did not finish within 300 ms of the scan's end$/);
});

Deno.test("hostile plugin: endless output is held back by the writer and ended after the grace", async () => {
  const outcome = await runHostile(
    outputModule(`const big = "x".repeat(10_000_000); for (;;) await out.write(big);`),
  );
  assert.match(outcome.error ?? "", /did not finish within 300 ms/);
  assert.ok(outcome.text.startsWith("xxxx"));
});

Deno.test("hostile plugin: writes not awaited run the sandbox out of heap, not the scanner", async () => {
  const outcome = await runHostile(
    outputModule(`for (let i = 0; ; i++) out.write("y".repeat(1_000_000) + i);`),
    { heapMb: 64, graceMs: 60_000 },
  );
  assert.match(outcome.error ?? "", NAMED);
  assert.match(outcome.error ?? "", /its process (crashed|was killed|used more than)/);
});

Deno.test("hostile plugin: memory outside the heap is capped by the resident-memory watch", async () => {
  const outcome = await runHostile(
    outputModule(
      `const keep = []; for (;;) { keep.push(new Uint8Array(16 << 20).fill(1)); await 0; }`,
    ),
    { rssMb: 256, graceMs: 60_000 },
  );
  assert.match(outcome.error ?? "", /its process used more than 256 MiB of memory$/);
});

Deno.test("hostile plugin: an endless top-level await fails the load within its time", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ptlh-plugin-" });
  try {
    await Deno.writeTextFile(`${dir}/stuck.js`, outputModule("", "await new Promise(() => {});"));
    await assert.rejects(
      () => loadSandboxedOutputPlugins(`${dir}/stuck.js`, { loadTimeoutMs: 1000 }),
      /^Error: Cannot load plugin ".*stuck\.js": it did not load within 1000 ms$/,
    );
    await Deno.writeTextFile(`${dir}/exits.js`, outputModule("", "Deno.exit(0);"));
    await assert.rejects(
      () => loadSandboxedOutputPlugins(`${dir}/exits.js`),
      /^Error: Cannot load plugin ".*exits\.js": its process exited \(code 0\)$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hostile plugin: its stdout and stderr go nowhere, and it has no Worker to escape the heap", async () => {
  const outcome = await runHostile(outputModule(`
    await Deno.stdout.write(new TextEncoder().encode("RAW STDOUT\\n"));
    console.log("console"); console.error("console error");
    await out.write(typeof Worker + " " + typeof Deno.dlopen);
    let ffi = "ffi allowed";
    try { Deno.dlopen("libc.so.6", {}); } catch (e) { ffi = e.name; }
    await out.write(" " + ffi);
    for (const probe of [() => Deno.cwd(), () => Deno.execPath(), () => Deno.env.get("HOME")]) {
      try { probe(); await out.write(" allowed"); } catch (e) { await out.write(" " + e.name); }
    }
    for await (const e of events) {}`));
  assert.equal(outcome.error, undefined);
  // dlopen fails on its own FFI permission, or first on the removed working directory.
  assert.match(
    outcome.text,
    /^undefined function (NotCapable|NotFound) NotCapable NotCapable NotCapable$/,
  );
});

Deno.test("hostile plugin in a Worker sandbox: null and malformed messages end it, not the caller", async () => {
  for (const post of ["null", `{ type: "write", id: 1, text: null }`, `{ type: 7 }`]) {
    const outcome = await runHostile(
      outputModule(`self.postMessage(${post}); for await (const e of events) {}`),
      { isolation: "worker" },
    );
    assert.match(outcome.error ?? "", NAMED, post);
    assert.match(outcome.error ?? "", /it sent a malformed message$/, post);
  }
});

Deno.test("a Worker sandbox also ends a plugin that exits, closes itself or never finishes", async () => {
  for (const body of [`Deno.exit(3);`, `self.close();`, `await new Promise(() => {});`]) {
    const outcome = await runHostile(outputModule(body), { isolation: "worker" });
    assert.match(outcome.error ?? "", NAMED, body);
  }
});
