import assert from "node:assert/strict";
import { GREETER_KINDS, parseGreeterArgs, startGreeters } from "./greeters.ts";

Deno.test("greeters: parses kind=port arguments", () => {
  assert.deepEqual(parseGreeterArgs(["--host", "127.0.0.1", "smtp=25", "tarpit=7000"]), {
    hostname: "127.0.0.1",
    wanted: { smtp: 25, tarpit: 7000 },
  });
  assert.equal(parseGreeterArgs([]).hostname, "::");
  assert.throws(
    () => parseGreeterArgs(["gopher=70"]),
    new SyntaxError('Cannot parse greeter "gopher=70": expected kind=port'),
  );
  assert.throws(() => parseGreeterArgs(["smtp=70000"]), SyntaxError);
  assert.throws(() => parseGreeterArgs(["--host"]), SyntaxError);
});

async function firstBytes(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const buffer = new Uint8Array(256);
    const n = await conn.read(buffer);
    return n === null ? "" : new TextDecoder().decode(buffer.subarray(0, n));
  } finally {
    conn.close();
  }
}

Deno.test("greeters: greet as their servers do; reset resets", async () => {
  const greeters = await startGreeters({ smtp: 0, pop3: 0, ssh: 0, vnc: 0, reset: 0 });
  try {
    assert.match(await firstBytes(greeters.ports.smtp as number), /^220 \S+ ESMTP Exim 4\.96 /);
    assert.equal(
      await firstBytes(greeters.ports.pop3 as number),
      "+OK Dovecot (Debian) ready.\r\n",
    );
    assert.equal(await firstBytes(greeters.ports.ssh as number), "SSH-2.0-dropbear_2022.83\r\n");
    assert.equal(await firstBytes(greeters.ports.vnc as number), "RFB 003.008\n");
    await assert.rejects(firstBytes(greeters.ports.reset as number), Deno.errors.ConnectionReset);
  } finally {
    await greeters.close();
  }
  assert.equal(GREETER_KINDS.length, 13);
});
