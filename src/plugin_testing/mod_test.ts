import assert from "node:assert/strict";
import { fakeConnection, runOutput, runScript, sampleScan } from "./mod.ts";
import { defineOutput, defineScript, latin1 } from "../plugin/mod.ts";

const TLS = {
  subject: "CN=lab.example",
  issuer: "CN=lab.example",
  sans: ["DNS:lab.example"],
  notBefore: "2026-01-01T00:00:00Z",
  notAfter: "2027-01-01T00:00:00Z",
  sha256: "AB:CD",
  alpn: "",
  version: "TLSv1.3",
};

Deno.test("fakeConnection: one answer per write, read as the engine reads", async () => {
  const conn = fakeConnection({
    greeting: "hello\r\n",
    answers: ["first line\r\nsecond line\r\n", "x".repeat(10)],
    segmentBytes: 3,
    closes: true,
  });
  assert.equal(latin1(conn.greeting), "hello\r\n");
  assert.equal(await conn.readText(), "", "nothing before a write");
  await conn.write("ask\r\n");
  // `until` across segments; what came after it stays for the next read.
  assert.equal(await conn.readText({ until: "\r\n" }), "first line\r\n");
  assert.equal(
    await conn.readText({ until: (bytes) => latin1(bytes).endsWith("\n") }),
    "second line\r\n",
  );
  await conn.write(Uint8Array.of(1, 2));
  assert.equal(await conn.readText({ maxBytes: 4 }), "xxxx");
  assert.equal(conn.closed, false);
  assert.equal(await conn.readText(), "xxxxxx");
  assert.equal(conn.closed, true, "closed once its answers are out and read");
  await conn.write("late\r\n");
  assert.equal(await conn.readText(), "");
  assert.deepEqual(conn.written.map((bytes) => bytes.length), [5, 2, 6]);
  assert.equal(conn.writtenText(), "ask\r\n\x01\x02late\r\n");
});

Deno.test("fakeConnection: answers from a function of what was written", async () => {
  const conn = fakeConnection({ answers: (written) => `echo ${latin1(written)}` });
  await conn.write("a\n");
  assert.equal(await conn.readText(), "echo a\n");
});

Deno.test("fakeConnection: startTls succeeds only where the service has TLS details", async () => {
  await assert.rejects(() => fakeConnection().startTls(), /handshake failed/);
  const conn = fakeConnection({ tls: TLS });
  assert.equal(conn.tls, undefined);
  assert.deepEqual(await conn.startTls(), TLS);
  assert.deepEqual(conn.tls, TLS);
  await assert.rejects(() => conn.startTls(), /already runs TLS/);
  assert.deepEqual(fakeConnection({ tls: TLS, inTls: true }).tls, TLS);
});

Deno.test("fakeConnection: after an abort, reads return nothing and writes are not answered", async () => {
  const abort = new AbortController();
  const conn = fakeConnection({ answers: ["a", "b"] }, { signal: abort.signal });
  await conn.write("1");
  abort.abort();
  assert.equal(await conn.readText(), "");
  await conn.write("2");
  assert.equal(await conn.readText(), "");
});

Deno.test("runScript gives the sandbox's context: no second connection, no certificate", async () => {
  const script = defineScript({
    name: "peek",
    async run(conn, context): Promise<string[]> {
      const second = await context.connect();
      return [
        `${context.target.address}:${context.target.port} ${context.target.service.name ?? "?"}`,
        `second ${second === undefined ? "none" : "some"}`,
        `cert ${context.peerCertificate() === undefined ? "none" : "some"}`,
        await conn.readText({ until: "\n" }),
      ];
    },
  });
  const output = await runScript(script, { greeting: "", port: 80 }, {
    target: { service: { name: "http" } },
  });
  assert.deepEqual(output, ["198.51.100.7:80 http", "second none", "cert none", ""]);
});

Deno.test("runOutput takes a fixture or its events, and rejects with the plugin's error", async () => {
  const types = defineOutput({
    name: "types",
    async write(events, out): Promise<void> {
      for await (const event of events) await out.write(event.type[0]!);
    },
  });
  const scan = sampleScan();
  assert.equal(await runOutput(types, scan), await runOutput(types, scan.events));
  assert.match(await runOutput(types, scan), /^sh{3}p{104}e$/);
  const broken = defineOutput({ name: "broken", write: () => Promise.reject(new Error("boom")) });
  await assert.rejects(() => runOutput(broken, scan), /boom/);
});
