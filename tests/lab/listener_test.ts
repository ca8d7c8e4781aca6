import assert from "node:assert/strict";
import { parseListenerArgs } from "./listener.ts";

Deno.test("listener: parses ports and host", () => {
  assert.deepEqual(parseListenerArgs(["--ports", "22,80,65535"]), {
    ports: [22, 80, 65535],
    host: "::",
  });
  assert.deepEqual(parseListenerArgs(["--host", "127.0.0.1", "--ports", "1"]), {
    ports: [1],
    host: "127.0.0.1",
  });
});

Deno.test("listener: rejects bad arguments", () => {
  assert.throws(() => parseListenerArgs([]), SyntaxError);
  assert.throws(() => parseListenerArgs(["--ports"]), /value missing/);
  assert.throws(() => parseListenerArgs(["--ports", "0"]), /Cannot parse port "0"/);
  assert.throws(() => parseListenerArgs(["--ports", "70000"]), RangeError);
  assert.throws(() => parseListenerArgs(["--ports", "22,x"]), /"x"/);
  assert.throws(() => parseListenerArgs(["--bogus", "1"]), /unknown option/);
});

function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}

Deno.test("listener: accepts on loopback and closes without writing", async () => {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-lock",
      "--allow-net",
      new URL("./listener.ts", import.meta.url).pathname,
      "--host",
      "127.0.0.1",
      "--ports",
      String(port),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const reader = child.stdout.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), "ready\n");
    reader.releaseLock();
    for (let i = 0; i < 3; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const buffer = new Uint8Array(16);
      // EOF: the listener closed the connection and wrote nothing.
      assert.equal(await conn.read(buffer), null);
      conn.close();
    }
  } finally {
    child.kill("SIGKILL");
    await child.status;
    await child.stdout.cancel();
    await child.stderr.cancel();
  }
});
