/**
 * Probe plugins in the sandbox: loaded from a file, run by the detection
 * engine against real listeners on 127.0.0.1, with the connection proxied
 * into the Worker.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { PortResult } from "../model/mod.ts";
import { connectProbe, type EngineConn } from "../service/conn.ts";
import { createServiceDetector } from "../service/detect.ts";
import { loadSandboxedOutputPlugins, loadSandboxedPlugins, type Sandbox } from "./sandbox.ts";

const GOPHER_EXAMPLE = fileURLToPath(new URL("../../examples/probe_gopher.ts", import.meta.url));
/** Short waits: the listeners answer at once, and the silent ones should cost little. */
const FAST = { greetingMs: 300, probeWaitMs: 1000, portMs: 3000 };
/** Liveness only: a detection that is bounded ends long before this. */
const WATCHDOG_MS = 30_000;

function open(port: number): PortResult {
  return { address: "127.0.0.1", protocol: "tcp", port, state: "open", reason: "syn-ack" };
}

async function withinWatchdog<T>(work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("did not end")), WATCHDOG_MS);
  });
  try {
    return await Promise.race([work, watchdog]);
  } finally {
    clearTimeout(timer);
  }
}

interface Server {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/** A listener on 127.0.0.1 running `handle` on each connection. */
function serve(handle: (conn: Deno.TcpConn) => Promise<void>): Server {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.TcpConn>();
  const handlers = new Set<Promise<void>>();
  let accepted = 0;
  const loop = (async () => {
    try {
      for await (const conn of listener) {
        accepted++;
        conns.add(conn);
        const done: Promise<void> = handle(conn).catch(() => {}).finally(() => {
          conns.delete(conn);
          handlers.delete(done);
          try {
            conn.close();
          } catch { /* closed by the handler or the peer */ }
        });
        handlers.add(done);
      }
    } catch { /* listener closed */ }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    accepted: () => accepted,
    async close(): Promise<void> {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
      await loop;
      await Promise.all(handlers);
    },
  };
}

const encoder = new TextEncoder();

/** Read one line (bounded), Latin-1, or "" at the end of the stream. */
async function readLine(conn: Deno.TcpConn): Promise<string> {
  let text = "";
  const buffer = new Uint8Array(1);
  while (text.length < 1024 && !text.endsWith("\n")) {
    const n = await conn.read(buffer);
    if (n === null) break;
    text += String.fromCharCode(buffer[0] as number);
  }
  return text;
}

async function write(conn: Deno.TcpConn, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A Gopher server as Gophernicus answers: the root menu for the empty
 * selector (in two pieces, so a read has to wait for the end line), an
 * error item for any other; the connection stays open after the answer.
 */
function gopherServer(): Server {
  return serve(async (conn) => {
    const selector = (await readLine(conn)).replace(/\r?\n$/, "");
    if (selector === "") {
      await write(conn, "iGophernicus/3.1.1 on Debian/12 x86_64\tfake\t(NULL)\t0\r\n");
      await sleep(50);
      await write(
        conn,
        "1Documents\t/docs\tlab.example\t70\r\n0About\t/about.txt\tlab.example\t70\r\n",
      );
      await sleep(50);
      await write(conn, ".\r\n");
    } else {
      await write(conn, `3'${selector}' does not exist\terror.host\t1\r\n.\r\n`);
    }
    await readLine(conn);
  });
}

async function withFile<T>(text: string, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/plugin.js`;
    await Deno.writeTextFile(path, text);
    return await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function withSandbox<T>(
  path: string,
  fn: (sandbox: Sandbox) => Promise<T>,
  options: Parameters<typeof loadSandboxedPlugins>[1] = {},
): Promise<T> {
  const sandbox = await loadSandboxedPlugins(path, options);
  try {
    return await fn(sandbox);
  } finally {
    await sandbox.close();
  }
}

/** A probe plugin module (plain JavaScript): a factory `NAMEProbe` each, all in `export default`. */
function probeModule(plugins: Record<string, string>): string {
  const factory = (name: string): string => `${name.replaceAll("-", "_")}Probe`;
  return Object.entries(plugins).map(([name, probe]) => `
export function ${factory(name)}() {
  return {
    name: "${name}", description: "test plugin ${name}", protocols: ["tcp"], ports: [],
    rarity: 0, passive: false,
    async probe(conn, signal) { ${probe} },
  };
}`).join("\n") + `\nexport default [${Object.keys(plugins).map(factory).join(", ")}];\n`;
}

Deno.test("the example Gopher plugin, sandboxed, identifies a Gopher server through -sV", async () => {
  const server = gopherServer();
  try {
    await withSandbox(GOPHER_EXAMPLE, async (sandbox) => {
      assert.deepEqual(sandbox.outputs, []);
      assert.deepEqual(sandbox.probes.map((probe) => probe.name), ["gopher"]);
      const [gopher] = sandbox.probes;
      assert.deepEqual(gopher?.ports, [70]);
      assert.deepEqual(gopher?.protocols, ["tcp"]);
      assert.equal(gopher?.passive, false);
      const detector = createServiceDetector(sandbox.probes, { timings: FAST });
      const result = await withinWatchdog(detector.detect(open(server.port)));
      assert.deepEqual(result.service, {
        name: "gopher",
        product: "Gophernicus",
        version: "3.1.1",
        extraInfo: "Debian/12 x86_64",
        method: "probed",
      });
    });
  } finally {
    await server.close();
  }
});

Deno.test("the example Gopher plugin does not claim a service that is not Gopher", async () => {
  const ssh = serve(async (conn) => {
    await write(conn, "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u5\r\n");
    await readLine(conn);
  });
  const http = serve(async (conn) => {
    await readLine(conn);
    await write(conn, "HTTP/1.0 400 Bad Request\r\nServer: nginx\r\n\r\n");
  });
  try {
    await withSandbox(GOPHER_EXAMPLE, async (sandbox) => {
      const detector = createServiceDetector(sandbox.probes, { timings: FAST });
      const [sshResult, httpResult] = await withinWatchdog(
        Promise.all([detector.detect(open(ssh.port)), detector.detect(open(http.port))]),
      );
      assert.equal(sshResult?.service?.name, undefined);
      assert.match(String(sshResult?.service?.banner), /^SSH-2\.0-OpenSSH/);
      assert.equal(httpResult?.service, undefined);
      assert.equal(http.accepted() >= 2, true, "the probe did speak to the HTTP server");
    });
  } finally {
    await ssh.close();
    await http.close();
  }
});

/**
 * A server for the ProbeConn contract: greets "HELLO", then obeys commands:
 * SPLIT sends "abc", then "def\n" a moment later; BIG sends 100 000 bytes;
 * CLOSE closes.
 */
function commandServer(): Server {
  return serve(async (conn) => {
    await write(conn, "HELLO\r\n");
    for (;;) {
      const command = (await readLine(conn)).trim();
      if (command === "SPLIT") {
        await write(conn, "abc");
        await sleep(200);
        await write(conn, "def\n");
      } else if (command === "BIG") {
        await write(conn, "x".repeat(100_000));
      } else {
        return;
      }
    }
  });
}

const CONTRACT = probeModule({
  contract: `
    const text = (bytes) => String.fromCharCode(...bytes);
    const seen = { a: conn.address, p: conn.port, g: text(conn.greeting) };
    await conn.write("SPLIT\\n");
    // A test ends the read at the first piece, before "def\\n" is even sent.
    seen.u = await conn.readText({ until: (bytes) => text(bytes).includes("c"), timeoutMs: 10000 });
    seen.s = await conn.readText({ until: "\\n", timeoutMs: 10000 });
    await conn.write(new TextEncoder().encode("BIG\\n"));
    // Bytes capped at the engine's 65536, whatever a plugin asks for.
    seen.big = (await conn.read({ maxBytes: 1e9, until: () => false, timeoutMs: 10000 })).length;
    seen.rest = (await conn.read({ maxBytes: 1e9, idleMs: 300, timeoutMs: 10000 })).length;
    await conn.write("SPLIT\\n");
    // A test that throws ends the read; the read still does not throw.
    seen.t = await conn.readText({ until: () => { throw new Error("bad test"); }, timeoutMs: 10000 });
    seen.s2 = await conn.readText({ until: "\\n", timeoutMs: 10000 });
    seen.c0 = conn.closed;
    await conn.write("CLOSE\\n");
    seen.eof = (await conn.read({ until: () => true, timeoutMs: 10000 })).length;
    seen.c1 = conn.closed;
    try {
      await conn.startTls();
      seen.tls = "started";
    } catch (error) {
      seen.tls = error instanceof Error ? "refused" : "odd";
    }
    return { name: "contract", extraInfo: JSON.stringify(seen) };`,
});

async function probeConn(port: number, signal: AbortSignal): Promise<EngineConn> {
  const conn = await connectProbe("127.0.0.1", port, {
    timeoutMs: 3000,
    signal,
    deadline: Date.now() + 20_000,
    readTimeoutMs: 3000,
  });
  conn.setGreeting(await conn.read({ until: "\n" }));
  return conn;
}

Deno.test("the proxied ProbeConn keeps the engine's contract", async () => {
  const server = commandServer();
  try {
    await withFile(CONTRACT, (path) =>
      withSandbox(path, async (sandbox) => {
        const conn = await probeConn(server.port, new AbortController().signal);
        try {
          const match = await withinWatchdog(
            sandbox.probes[0]!.probe(conn, new AbortController().signal),
          );
          assert.equal(match?.name, "contract");
          assert.deepEqual(JSON.parse(match?.extraInfo ?? "{}"), {
            a: "127.0.0.1",
            p: server.port,
            g: "HELLO\r\n",
            u: "abc",
            s: "def\n",
            big: 65536,
            rest: 100_000 - 65536,
            t: "abc",
            s2: "def\n",
            c0: false,
            eof: 0,
            c1: true,
            tls: "refused",
          });
        } finally {
          conn.close();
        }
      }));
  } finally {
    await server.close();
  }
});

const ABORTS = `
let aborts = 0;
let afterAbort;
export function waiterProbe() {
  return {
    name: "waiter", description: "waits for the abort", protocols: ["tcp"], ports: [], rarity: 0,
    passive: false,
    async probe(conn, signal) {
      if (String.fromCharCode(...conn.greeting) === "stats\\n") {
        const after = await afterAbort;
        return { name: "stats", extraInfo: JSON.stringify({ aborts, ...after }) };
      }
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      aborts++;
      afterAbort = Promise.all([conn.read({ timeoutMs: 60000 }), conn.write("late\\n")])
        .then(([bytes, wrote]) => ({ afterRead: bytes.length, wrote: wrote === undefined }));
      return { name: "too-late" };
    },
  };
}
export default [waiterProbe];`;

Deno.test("the probe's abort signal aborts inside the Worker, and reads then return at once", async () => {
  const server = serve(async (conn) => {
    await write(conn, "stats\n");
    await readLine(conn);
  });
  try {
    await withFile(ABORTS, (path) =>
      withSandbox(path, async (sandbox) => {
        const [waiter] = sandbox.probes;
        const never = new AbortController().signal;
        const first = await probeConn(server.port, never);
        const second = await probeConn(server.port, never);
        try {
          first.setGreeting(new Uint8Array(0));
          const controller = new AbortController();
          const pending = waiter!.probe(first, controller.signal);
          controller.abort();
          assert.equal(await withinWatchdog(pending), undefined);
          const stats = await withinWatchdog(waiter!.probe(second, never));
          assert.equal(stats?.name, "stats");
          assert.deepEqual(JSON.parse(stats?.extraInfo ?? "{}"), {
            aborts: 1,
            afterRead: 0,
            wrote: true,
          });
        } finally {
          first.close();
          second.close();
        }
      }));
  } finally {
    await server.close();
  }
});

const MISBEHAVING = probeModule({
  thrower: `await conn.write("hello\\n"); throw new Error("boom");`,
  "sync-thrower": `null.boom;`,
  hanger: `return new Promise(() => {});`,
  "deaf-hanger": `for (;;) await conn.read({ timeoutMs: 50 });`,
  uncloneable: `return { name: "fn", product: () => "x" };`,
  "not-a-match": `return { product: "no name" };`,
  "stray-rejection": `Promise.reject(new Error("nobody listens")); return undefined;`,
  "stray-timer-error": `setTimeout(() => { throw new Error("late"); }, 0);
    await new Promise((resolve) => setTimeout(resolve, 50));`,
  // Matches only a connection that greets "alive": proof the Worker outlived the others.
  survivor:
    `return String.fromCharCode(...conn.greeting) === "alive\\n" ? { name: "alive" } : undefined;`,
});

Deno.test("a probe that throws, hangs, or returns no match costs only itself", async () => {
  const gopher = gopherServer();
  const dir = await Deno.makeTempDir();
  const path = `${dir}/misbehaving.js`;
  await Deno.writeTextFile(path, MISBEHAVING);
  const bad = await loadSandboxedPlugins(path);
  const good = await loadSandboxedPlugins(GOPHER_EXAMPLE);
  try {
    assert.equal(bad.probes.length, 9);
    // Each alone, all at once.
    await withinWatchdog(Promise.all(bad.probes.map(async (probe) => {
      const detector = createServiceDetector([probe], { timings: { ...FAST, portMs: 1500 } });
      const result = await detector.detect(open(gopher.port));
      assert.equal(result.service, undefined, probe.name);
    })));
    // All of them beside a plugin that works: it still finds the service.
    const detector = createServiceDetector([...bad.probes, ...good.probes], { timings: FAST });
    const result = await withinWatchdog(detector.detect(open(gopher.port)));
    assert.equal(result.service?.name, "gopher");
    assert.equal(result.service?.product, "Gophernicus");
    // And their Worker still answers.
    const never = new AbortController().signal;
    const conn = await probeConn(gopher.port, never);
    try {
      conn.setGreeting(new TextEncoder().encode("alive\n"));
      const survivor = bad.probes.find((probe) => probe.name === "survivor");
      assert.equal((await withinWatchdog(survivor!.probe(conn, never)))?.name, "alive");
    } finally {
      conn.close();
    }
  } finally {
    await bad.close();
    await good.close();
    await gopher.close();
    await Deno.remove(dir, { recursive: true });
  }
});

const MALFORMED = probeModule({
  malformed: `await conn.write("x\\n");
    return {
      name: "n".repeat(5000),
      product: 42,
      version: "v".repeat(100000),
      extraInfo: ["not", "text"],
      cpe: ["cpe:/a:x:y", 7, "c".repeat(1000), ...Array(20).fill("cpe:/a:more")],
      http: { status: "200", server: { evil: true }, title: "t".repeat(1000) },
      tls: { subject: "CN=forged", sha256: "00" },
      unknownField: "dropped",
    };`,
});

Deno.test("a malformed match is rebuilt: types checked, text capped, no forged TLS", async () => {
  const server = commandServer();
  try {
    await withFile(MALFORMED, (path) =>
      withSandbox(path, async (sandbox) => {
        const detector = createServiceDetector(sandbox.probes, { timings: FAST });
        const result = await withinWatchdog(detector.detect(open(server.port)));
        const service = result.service;
        assert.equal(service?.name, "n".repeat(64));
        assert.equal(service?.product, undefined);
        assert.equal(service?.version, "v".repeat(256));
        assert.equal(service?.extraInfo, undefined);
        assert.deepEqual(service?.cpe, [
          "cpe:/a:x:y",
          "c".repeat(128),
          ...Array(6).fill("cpe:/a:more"),
        ]);
        assert.deepEqual(service?.http, { status: 0, server: "", title: "t".repeat(256) });
        assert.equal(service?.tls, undefined);
        assert.equal(service?.tunnel, undefined);
        assert.equal("unknownField" in (service ?? {}), false);
      }));
  } finally {
    await server.close();
  }
});

Deno.test("a sandboxed probe plugin has no network: Deno.connect is denied, detection goes on", async () => {
  const canary = serve(() => Promise.resolve());
  const target = commandServer();
  const module = probeModule({
    nosy: `
      const tries = {
        connect: () => Deno.connect({ hostname: "127.0.0.1", port: ${canary.port} }),
        listen: async () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
        fetch: () => fetch("http://127.0.0.1:${canary.port}/"),
        resolve: () => Deno.resolveDns("localhost", "A"),
        read: () => Deno.readTextFile("/etc/hostname"),
      };
      const seen = [];
      for (const [what, attempt] of Object.entries(tries)) {
        try {
          await attempt();
          seen.push(what + "=allowed");
        } catch (error) {
          seen.push(what + "=" + (error?.name ?? "error"));
        }
      }
      return { name: "nosy", extraInfo: seen.join(" ") };`,
  });
  try {
    await withFile(module, (path) =>
      withSandbox(path, async (sandbox) => {
        const detector = createServiceDetector(sandbox.probes, { timings: FAST });
        const result = await withinWatchdog(detector.detect(open(target.port)));
        assert.equal(result.service?.name, "nosy");
        for (const what of ["connect", "listen", "fetch", "resolve", "read"]) {
          assert.match(result.service?.extraInfo ?? "", new RegExp(`\\b${what}=NotCapable\\b`));
        }
        assert.equal(canary.accepted(), 0, "the plugin reached no listener");
      }));
  } finally {
    await canary.close();
    await target.close();
  }
});

Deno.test("a sandbox stuck in an endless loop is killed; its probes are no match from then on", async () => {
  const server = commandServer();
  const module = probeModule({
    // Endless: the sandbox is a process the parent kills (a Worker could not be stopped).
    spin: `if (conn.greeting.length === 0) return { name: "alive" };
      while (true) { /* spin */ }`,
  });
  /** The plugin's answer on a connection with no greeting. */
  async function quiet(sandbox: Sandbox): Promise<string | undefined> {
    const never = new AbortController().signal;
    const conn = await probeConn(server.port, never);
    try {
      conn.setGreeting(new Uint8Array(0));
      return (await withinWatchdog(sandbox.probes[0]!.probe(conn, never)))?.name;
    } finally {
      conn.close();
    }
  }
  try {
    await withFile(module, async (path) => {
      const errors: string[] = [];
      await withSandbox(path, async (sandbox) => {
        assert.equal(await quiet(sandbox), "alive");
        const detector = createServiceDetector(sandbox.probes, {
          timings: { ...FAST, greetingMs: 100, portMs: 1000 },
        });
        // The greeting makes it spin; the port's time runs out, the abort goes unanswered.
        const result = await withinWatchdog(detector.detect(open(server.port)));
        assert.equal(result.service?.name, undefined);
        await withinWatchdog((async () => {
          while (errors.length === 0) await sleep(20);
        })());
        assert.match(
          errors[0] ?? "",
          /^Plugin ".*plugin\.js" stopped: its probe "spin" ignored an abort for 200 ms$/,
        );
        assert.equal(await quiet(sandbox), undefined);
      }, { unresponsiveMs: 200, onError: (message) => errors.push(message) });
      assert.equal(errors.length, 1);
    });
  } finally {
    await server.close();
  }
});

Deno.test("a file with both kinds loads both; a file without a default export is refused, naming it", async () => {
  const both = `
export function rows() { return { name: "rows", description: "d", async write() {} }; }
export function echo() {
  return { name: "echo", description: "d", protocols: ["tcp"], ports: [7], tlsPorts: [2007],
    rarity: 3, passive: false, async probe() { return undefined; } };
}
export default [rows, echo];`;
  await withFile(both, async (path) => {
    await withSandbox(path, (sandbox) => {
      assert.deepEqual(sandbox.outputs.map((plugin) => plugin.name), ["rows"]);
      assert.equal(sandbox.plugins, sandbox.outputs);
      const [echo] = sandbox.probes;
      assert.deepEqual(
        {
          name: echo?.name,
          ports: echo?.ports,
          tlsPorts: echo?.tlsPorts,
          rarity: echo?.rarity,
          protocols: echo?.protocols,
        },
        { name: "echo", ports: [7], tlsPorts: [2007], rarity: 3, protocols: ["tcp"] },
      );
      return Promise.resolve();
    });
  });
  await withFile(`export const answer = 42;`, async (path) => {
    await assert.rejects(
      () => loadSandboxedPlugins(path),
      (error: Error) => {
        assert.equal(
          error.message,
          `Cannot load plugin "${path}": it has no default export: add "export default [myPlugin]" listing its plugins`,
        );
        return true;
      },
    );
  });
  await withFile(probeModule({ lonely: "return undefined;" }), async (path) => {
    // The output-only loader the command line used before keeps its meaning.
    await assert.rejects(
      () => loadSandboxedOutputPlugins(path),
      new RegExp(
        `^Error: Cannot load plugin "${path}": its default export lists no output plugin$`,
      ),
    );
  });
  await withFile(
    `export function p() { return { name: "p", description: "d", protocols: ["tcp"], ports: [], rarity: 12, passive: false, probe() {} }; }
export default [p];`,
    async (path) => {
      await assert.rejects(
        () => loadSandboxedPlugins(path),
        /default\[0\] \(p\) makes no valid probe plugin: `rarity` is not an integer 0-9$/,
      );
    },
  );
});
