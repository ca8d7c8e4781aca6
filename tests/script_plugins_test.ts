/**
 * Script plugins through the real command, against real listeners on
 * loopback: the example user script in the sandbox, a user script that
 * spins, throws or floods costing only its own output, and the usage errors.
 */
import assert from "node:assert/strict";
import { portolan } from "./helpers.ts";

/** A web server on loopback whose robots.txt disallows two paths. */
function webServer(): { port: number; close(): Promise<void> } {
  const controller = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    onListen: () => {},
  }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/robots.txt") {
      return new Response("User-agent: *\nDisallow: /admin\nDisallow: /private\n");
    }
    return new Response("<html><title>Loopback home</title></html>", {
      headers: { "content-type": "text/html" },
    });
  });
  return {
    port: server.addr.port,
    close: async (): Promise<void> => {
      controller.abort();
      await server.finished;
    },
  };
}

Deno.test("--plugin examples/script_http_robots.ts --script: the user script runs in the sandbox", async () => {
  const web = webServer();
  const dir = await Deno.makeTempDir({ prefix: "portolan-script-" });
  try {
    const result = await portolan([
      "-Pn",
      "-sV",
      "-p",
      String(web.port),
      "--plugin",
      "examples/script_http_robots.ts",
      "--script",
      "http-robots.txt,http-title",
      "--no-db",
      "-oJ",
      `${dir}/scan.json`,
      "-oN",
      `${dir}/scan.nmap`,
      "127.0.0.1",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split("\n");
    const row = lines.findIndex((line) => line.startsWith(`${web.port}/tcp `));
    assert.deepEqual(lines.slice(row + 1, row + 4), [
      "|_http-title: Loopback home",
      "| http-robots.txt: 2 disallowed entries",
      "|_/admin /private",
    ]);
    const json = JSON.parse(await Deno.readTextFile(`${dir}/scan.json`));
    assert.deepEqual(json.hosts[0].ports[0].scripts, [
      { id: "http-title", output: "Loopback home" },
      { id: "http-robots.txt", output: "2 disallowed entries\n/admin /private" },
    ]);
    assert.match(await Deno.readTextFile(`${dir}/scan.nmap`), /^\|_\/admin \/private$/m);
  } finally {
    await web.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("user scripts that spin, throw or flood: the scan and its outputs survive, each named", async () => {
  const web = webServer();
  const dir = await Deno.makeTempDir({ prefix: "portolan-script-" });
  // Two files, two sandboxes: a spinning script stops every other script of its own sandbox.
  const plugin = `${dir}/hostile.ts`;
  const spinner = `${dir}/spinner.ts`;
  const common = `categories: ["test"], ports: [], services: ["http"]`;
  await Deno.writeTextFile(
    plugin,
    [
      `export function throws() { return { name: "throws", description: "x", ${common},`,
      `  run() { throw new Error("boom"); } }; }`,
      `export function floods() { return { name: "floods", description: "x", ${common},`,
      `  async run() { return Array(100000).fill("y".repeat(1000)); } }; }`,
      `export default [throws, floods];`,
    ].join("\n"),
  );
  await Deno.writeTextFile(
    spinner,
    `export function spins() { return { name: "spins", description: "x", ${common}, run() { for (;;) {} } }; }
export default [spins];`,
  );
  try {
    const result = await portolan([
      "-Pn",
      "-sV",
      "-p",
      String(web.port),
      "--plugin",
      plugin,
      "--plugin",
      spinner,
      "--script",
      "throws,floods,spins,http-title",
      "--script-timeout",
      "2s",
      "--no-db",
      "-oJ",
      `${dir}/scan.json`,
      "127.0.0.1",
    ], { timeoutMs: 60_000 });
    // A script past its time is as a slow service: named, no output, the scan goes on.
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /script "throws" on 127\.0\.0\.1:\d+ failed: boom/);
    assert.match(result.stderr, /script "spins" on 127\.0\.0\.1:\d+ took over 2000 ms/);
    assert.match(result.stderr, /script "floods" on 127\.0\.0\.1:\d+ failed: /);
    const port = JSON.parse(await Deno.readTextFile(`${dir}/scan.json`)).hosts[0].ports[0];
    assert.equal(port.state, "open");
    assert.equal(port.service.name, "http");
    const ids = port.scripts.map((s: { id: string }) => s.id);
    assert.ok(ids.includes("http-title"), ids.join());
    assert.deepEqual(ids, ["http-title"]);
  } finally {
    await web.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--script with an unknown name, or an empty one: one line, exit 2", async () => {
  for (
    const [value, message] of [
      ["nope", /^portolan: Cannot use --script "nope": no script or category of that name/],
      ["banner,,x", /^portolan: Cannot parse --script "banner,,x": empty name$/],
    ] as const
  ) {
    const result = await portolan(["-Pn", "-p", "1", "--script", value, "127.0.0.1"]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr.split("\n")[0]!, message);
  }
});
