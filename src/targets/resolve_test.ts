import assert from "node:assert/strict";
import { parseHostsFile, resolveHostname } from "./resolve.ts";

Deno.test("localhost resolves without any lookup", async () => {
  const hosts = await resolveHostname("localhost", { hostsFile: null, dns: false });
  assert.deepEqual(hosts.map((h) => h.address), ["127.0.0.1", "::1"]);
  assert.ok(hosts.every((h) => h.hostname === "localhost"));
  const v6 = await resolveHostname("LOCALHOST.", { family: 6, hostsFile: null, dns: false });
  assert.deepEqual(v6, [{ family: 6, value: 1n, address: "::1", hostname: "LOCALHOST." }]);
});

Deno.test("the hosts file is parsed and consulted", async () => {
  const table = parseHostsFile(
    "# c\n198.51.100.1 alpha a1 # x\n\n2001:db8::1 alpha\nfe80::1%lo0 zoned\nbogus beta\n198.51.100.1 ALPHA\n",
  );
  assert.deepEqual(table.get("alpha"), [
    { family: 4, value: 0xc6336401n },
    { family: 6, value: (0x20010db8n << 96n) | 1n },
  ]);
  assert.equal(table.get("zoned"), undefined);
  assert.equal(table.get("beta"), undefined);

  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "2001:db8::9 gamma\n198.51.100.9 gamma\n");
    const any = await resolveHostname("Gamma", { hostsFile: path, dns: false });
    assert.deepEqual(any.map((h) => h.address), ["198.51.100.9", "2001:db8::9"]);
    const four = await resolveHostname("gamma", { hostsFile: path, dns: false, family: 4 });
    assert.deepEqual(four.map((h) => h.address), ["198.51.100.9"]);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("failures are clear", async () => {
  await assert.rejects(
    () => resolveHostname("nosuch.invalid", { hostsFile: null, dns: false }),
    { name: "Error", message: 'Failed to resolve "nosuch.invalid"' },
  );
  await assert.rejects(
    () =>
      resolveHostname("gamma", {
        hosts: parseHostsFile("2001:db8::9 gamma"),
        family: 4,
        dns: false,
      }),
    { message: 'Failed to resolve "gamma"' },
  );
});

Deno.test("address literals come back as they are", async () => {
  assert.deepEqual(await resolveHostname("2001:DB8::1", { hostsFile: null, dns: false }), [
    { family: 6, value: (0x20010db8n << 96n) | 1n, address: "2001:db8::1" },
  ]);
  await assert.rejects(
    () => resolveHostname("10.0.0.1", { family: 6, hostsFile: null, dns: false }),
    { message: /Failed to resolve "10.0.0.1"/ },
  );
});
