/**
 * Built-in probe plugins on a scripted service (the SDK's testing helpers):
 * the whole conversation of a probe, what it sends and what it makes of the
 * answers, without a socket.
 */
import assert from "node:assert/strict";
import { fakeConnection, runProbe } from "../src/plugin_testing/mod.ts";
import { ftpCommandsProbe, redisProbe, sshProbe } from "./mod.ts";

Deno.test("redis: PING, then INFO server, and the version from the answer", async () => {
  const info = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n";
  const conn = fakeConnection({
    port: 6379,
    answers: ["+PONG\r\n", `$${info.length}\r\n${info}\r\n`],
  });
  const match = await redisProbe().probe(conn, new AbortController().signal);
  assert.equal(conn.writtenText(), "PING\r\nINFO server\r\n");
  assert.equal(match?.name, "redis");
  assert.equal(match?.version, "7.0.15");
});

Deno.test("redis: a service that answers PING with something else is not taken for Redis", async () => {
  assert.equal(
    await runProbe(redisProbe(), { answers: ["HTTP/1.1 400 Bad Request\r\n\r\n"] }),
    undefined,
  );
  // Nothing at all (a silent service, closed at once).
  assert.equal(await runProbe(redisProbe(), { closes: true }), undefined);
});

Deno.test("ssh: a passive probe reads the greeting only, and never writes", async () => {
  const conn = fakeConnection({ greeting: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n" });
  const match = await sshProbe().probe(conn, new AbortController().signal);
  assert.deepEqual(conn.written, []);
  assert.equal(match?.product, "OpenSSH");
  assert.equal(match?.version, "9.2p1 Debian 2+deb12u3");
  assert.equal(await runProbe(sshProbe(), { greeting: "220 mail ESMTP\r\n" }), undefined);
});

Deno.test("ftp-commands: HELP and FEAT name a server whose greeting does not", async () => {
  const conn = fakeConnection({
    port: 21,
    greeting: "220 Welcome to the lab\r\n",
    answers: [
      // vsftpd before login: every command but a few refused, in its own words.
      "530 Please login with USER and PASS.\r\n",
      "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n211 End\r\n",
      "221 Goodbye.\r\n",
    ],
  });
  const match = await ftpCommandsProbe().probe(conn, new AbortController().signal);
  assert.equal(conn.writtenText(), "HELP\r\nFEAT\r\nQUIT\r\n");
  assert.equal(match?.product, "vsftpd");
  assert.equal(match?.version, "2.0.8 or later");
});
