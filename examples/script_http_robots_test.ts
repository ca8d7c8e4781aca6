/**
 * The robots.txt example, tested as a plugin author would: the script on a
 * scripted web server (the SDK's fake connection), as the sandbox runs it.
 */
import assert from "node:assert/strict";
import { fakeConnection, runScript } from "../src/plugin_testing/mod.ts";
import { httpRobotsScript } from "./script_http_robots.ts";

const ROBOTS = "User-agent: *\r\nDisallow: /admin/\r\nDisallow: /tmp/\r\nDisallow: /admin/\r\n";

function answer(status: string, body: string): string {
  return `HTTP/1.1 ${status}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

Deno.test("http-robots.txt: asks for /robots.txt and lists each disallowed entry once", async () => {
  const conn = fakeConnection({ port: 80, answers: [answer("200 OK", ROBOTS)], closes: true });
  const output = await httpRobotsScript().run(conn, {
    target: { address: conn.address, port: 80, protocol: "tcp", service: { name: "http" } },
    signal: new AbortController().signal,
    connect: () => Promise.resolve(undefined),
    peerCertificate: () => undefined,
  });
  assert.match(conn.writtenText(), /^GET \/robots\.txt HTTP\/1\.1\r\nHost: 198\.51\.100\.7\r\n/);
  assert.equal(output, "2 disallowed entries \n/admin/ /tmp/");
});

Deno.test("http-robots.txt: nothing to say without a robots.txt", async () => {
  const missing = [answer("404 Not Found", "no")];
  assert.equal(await runScript(httpRobotsScript(), { answers: missing, closes: true }), undefined);
  const empty = [answer("200 OK", "User-agent: *\r\n")];
  assert.equal(await runScript(httpRobotsScript(), { answers: empty, closes: true }), undefined);
});
