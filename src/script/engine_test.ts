import assert from "node:assert/strict";
import type { PortResult } from "../model/mod.ts";
import type { ScriptPlugin } from "../plugin/script_types.ts";
import { scriptTextLines } from "../plugin/script_format.ts";
import { createScriptRunner, scriptApplies, scriptOutput } from "./engine.ts";
import { parseScriptNames, selectScripts } from "./select.ts";
import { scriptPlugins } from "../../plugins/mod.ts";

/** A loopback server that sends `greeting` to each client and answers an HTTP request once. */
function serve(greeting: string, answer = ""): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  (async () => {
    for await (const conn of listener) {
      conns.add(conn);
      (async () => {
        try {
          if (greeting !== "") await conn.write(new TextEncoder().encode(greeting));
          if (answer !== "") {
            const buffer = new Uint8Array(4096);
            let text = "";
            while (!text.includes("\r\n\r\n")) {
              const n = await conn.read(buffer);
              if (n === null) break;
              text += new TextDecoder().decode(buffer.subarray(0, n));
            }
            await conn.write(new TextEncoder().encode(answer));
            conn.close();
            conns.delete(conn);
          }
        } catch { /* the client left */ }
      })();
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close(): void {
      listener.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
    },
  };
}

function open(port: number, service?: PortResult["service"]): PortResult {
  return {
    address: "127.0.0.1",
    protocol: "tcp",
    port,
    state: "open",
    reason: "syn-ack",
    ...(service === undefined ? {} : { service }),
  };
}

function script(name: string, run: ScriptPlugin["run"]): ScriptPlugin {
  return {
    name,
    description: name,
    categories: ["test"],
    ports: [],
    services: [],
    allPorts: true,
    run,
  };
}

Deno.test("scriptOutput: a line, lines in nmap's list form, text as written; controls visible", () => {
  assert.deepEqual(scriptOutput("a", ["one"]), { id: "a", output: "\n  one" });
  assert.deepEqual(scriptOutput("a", "one"), { id: "a", output: "one" });
  assert.deepEqual(scriptOutput("a", ["one", "two", ""]), { id: "a", output: "\n  one\n  two" });
  assert.deepEqual(scriptOutput("a", "Subject: x\nIssuer: y"), {
    id: "a",
    output: "Subject: x\nIssuer: y",
  });
  assert.deepEqual(scriptOutput("a", "\x1b[2J\u202e"), { id: "a", output: "\\x1b[2J\\u{202e}" });
  assert.equal(scriptOutput("a", []), undefined);
  assert.equal(scriptOutput("a", ""), undefined);
  assert.equal(scriptOutput("a", 42), undefined);
  assert.equal(scriptOutput("a", Array(1000).fill("x"))?.output.split("\n").length, 41);
});

Deno.test("scriptTextLines: each script's last line is |_, as nmap prints them", () => {
  assert.deepEqual(
    scriptTextLines([
      { id: "http-title", output: "Home" },
      { id: "ssh-hostkey", output: "\n  256 aa (ECDSA)\n  256 bb (ED25519)" },
    ]),
    [
      "|_http-title: Home",
      "| ssh-hostkey: ",
      "|   256 aa (ECDSA)",
      "|_  256 bb (ED25519)",
    ],
  );
});

Deno.test("selectScripts: -sC is the default category; --script names or categories; unknown is an error", () => {
  const all = scriptPlugins.map((make) => make());
  const names = (list: ScriptPlugin[]): string[] => list.map((s) => s.name);
  assert.deepEqual(names(selectScripts(all, { defaults: true, names: [] })), [
    "http-title",
    "ssh-hostkey",
    "ssl-cert",
  ]);
  assert.deepEqual(names(selectScripts(all, { defaults: false, names: ["banner"] })), ["banner"]);
  assert.deepEqual(
    names(selectScripts(all, { defaults: true, names: ["http-headers", "http-title"] })),
    ["http-headers", "http-title", "ssh-hostkey", "ssl-cert"],
  );
  assert.throws(
    () => selectScripts(all, { defaults: false, names: ["nope"] }),
    /^RangeError: Cannot use --script "nope": no script or category of that name \(scripts: banner, /,
  );
  assert.deepEqual(parseScriptNames("banner, http-title"), ["banner", "http-title"]);
  assert.throws(() => parseScriptNames("a,,b"), /empty name/);
});

Deno.test("scriptApplies: by port, by service name, by TLS; open TCP only", () => {
  const [, , , title, , cert] = scriptPlugins.map((make) => make());
  assert.equal(title!.name, "http-title");
  assert.equal(scriptApplies(title!, open(80)), true);
  assert.equal(scriptApplies(title!, open(8123)), false);
  assert.equal(scriptApplies(title!, open(8123, { name: "http" })), true);
  assert.equal(scriptApplies(title!, { ...open(80), state: "closed" }), false);
  assert.equal(scriptApplies(cert!, open(4433, { name: "imap", tunnel: "ssl" })), true);
});

Deno.test("the runner: banner and http-title from real loopback servers", async () => {
  const greeter = serve("220 mail.example ESMTP\r\n");
  const web = serve(
    "",
    "HTTP/1.1 200 OK\r\nServer: test/1.0\r\nContent-Type: text/html\r\n\r\n<title> Lab\n page </title>",
  );
  try {
    const all = scriptPlugins.map((make) => make());
    const runner = createScriptRunner(
      all.filter((s) => ["banner", "http-title", "http-server-header"].includes(s.name)),
    );
    const mail = await runner.run(open(greeter.port, { name: "smtp" }));
    assert.deepEqual(mail.scripts, [{ id: "banner", output: "220 mail.example ESMTP" }]);
    const page = await runner.run(open(web.port, { name: "http" }));
    const byId = new Map(page.scripts?.map((s) => [s.id, s.output]));
    assert.equal(byId.get("http-title"), "Lab page");
    assert.equal(byId.get("http-server-header"), "test/1.0");
    assert.equal(byId.has("banner"), false, "a service that waits says nothing");
  } finally {
    greeter.close();
    web.close();
  }
});

Deno.test("the runner: a script that hangs or throws costs only its own output, and is named", async () => {
  const server = serve("hello\r\n");
  const errors: string[] = [];
  try {
    const runner = createScriptRunner([
      script("hangs", () => new Promise(() => {})),
      script("throws", () => Promise.reject(new Error("boom\nsecond line"))),
      script("odd", () => Promise.resolve(42 as unknown as string[])),
      script("good", async (conn) => await conn.readText({ until: "\n", timeoutMs: 2000 })),
    ], { timeoutMs: 300, onError: (message) => errors.push(message) });
    const result = await runner.run(open(server.port));
    assert.deepEqual(result.scripts, [{ id: "good", output: "hello" }]);
    assert.equal(errors.length, 3);
    assert.ok(errors.some((e) => /^script "hangs" on 127\.0\.0\.1:\d+ took over 300 ms/.test(e)));
    assert.ok(errors.some((e) => /^script "throws" on .* failed: boom$/.test(e)));
    assert.ok(errors.some((e) => /^script "odd" .* returned neither lines nor text$/.test(e)));
  } finally {
    server.close();
  }
});

Deno.test("the runner: an aborted scan ends the scripts at once, quietly", async () => {
  const server = serve("");
  const controller = new AbortController();
  const errors: string[] = [];
  try {
    const runner = createScriptRunner([
      script("waits", async (conn) => [await conn.readText({ timeoutMs: 60_000 })]),
    ], { signal: controller.signal, onError: (message) => errors.push(message) });
    const running = runner.run(open(server.port));
    setTimeout(() => controller.abort(), 100);
    const result = await running;
    assert.equal(result.scripts, undefined);
    assert.deepEqual(errors, []);
  } finally {
    server.close();
  }
});
