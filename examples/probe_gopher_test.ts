/**
 * The Gopher example, tested as a plugin author would: its parser alone,
 * then the whole probe on a scripted service (the SDK's fake connection).
 */
import assert from "node:assert/strict";
import { fakeConnection, runProbe } from "../src/plugin_testing/mod.ts";
import { gopherProbe, parseGopherMenu } from "./probe_gopher.ts";

const MENU = "iGophernicus/3.1.1 on Debian/12 x86_64\tfake\t(NULL)\t0\r\n" +
  "1Docs\t/docs\tlab.example\t70\r\n" +
  "0About\t/about.txt\tlab.example\t70\r\n.\r\n";

Deno.test("gopher: asks for the root menu and names the server from it", async () => {
  const conn = fakeConnection({ port: 70, answers: [MENU], closes: true });
  const match = await gopherProbe().probe(conn, new AbortController().signal);
  assert.equal(conn.writtenText(), "\r\n", "the empty selector");
  assert.deepEqual(match, {
    name: "gopher",
    product: "Gophernicus",
    version: "3.1.1",
    extraInfo: "Debian/12 x86_64",
  });
});

Deno.test("gopher: a menu that arrives in pieces is read to its end line", async () => {
  // Seven bytes a segment: the read goes on until the end line came.
  const conn = fakeConnection({ answers: [MENU], segmentBytes: 7 });
  const match = await gopherProbe().probe(conn, new AbortController().signal);
  assert.equal(match?.product, "Gophernicus");
  assert.equal((await conn.read()).length, 0, "the whole menu was read, nothing left over");
  assert.equal(parseGopherMenu(MENU.slice(0, 40)), undefined, "no complete line yet");
});

Deno.test("gopher: other services are not taken for Gopher", async () => {
  // A service that greets first is not Gopher: the probe does not even write.
  const greeter = fakeConnection({ greeting: "220 ftp ready\r\n", answers: ["500 ?\r\n"] });
  assert.equal(await gopherProbe().probe(greeter, new AbortController().signal), undefined);
  assert.deepEqual(greeter.written, []);
  assert.equal(
    await runProbe(gopherProbe(), { answers: ["HTTP/1.0 400 Bad Request\r\n\r\n"], closes: true }),
    undefined,
  );
  assert.equal(await runProbe(gopherProbe(), { closes: true }), undefined, "nothing at all");
});
