import assert from "node:assert/strict";
import {
  macVendor,
  NMAP_SERVICES_PATH,
  parseMacVendors,
  parseServiceNames,
  readMacVendors,
  readServiceNames,
} from "./names.ts";

Deno.test("parseServiceNames reads nmap-services lines, the first name of a port wins", () => {
  const names = parseServiceNames(
    "# comment\ntcpmux\t1/tcp\t0.001995\t# TCP Port Service Multiplexer\n" +
      "ssh\t22/tcp\t0.182286\t# Secure Shell Login\nssh\t22/udp\t0.003905\n" +
      "other\t22/tcp\t0.1\nbroken line\n\nsctp-thing\t9/sctp\t0.0\n",
  );
  assert.deepEqual([...names], [
    ["1/tcp", "tcpmux"],
    ["22/tcp", "ssh"],
    ["22/udp", "ssh"],
    ["9/sctp", "sctp-thing"],
  ]);
});

Deno.test("readServiceNames gives an empty table when the file is missing", async () => {
  assert.equal((await readServiceNames("/nonexistent/nmap-services")).get("22/tcp"), undefined);
});

Deno.test("MAC vendors: nmap-mac-prefixes lines, looked up by the first three bytes", async () => {
  const vendors = parseMacVendors("# comment\n0050F2 Microsoft\n525400 QEMU virtual NIC\nbad\n");
  assert.deepEqual([...vendors], [["0050F2", "Microsoft"], ["525400", "QEMU virtual NIC"]]);
  assert.equal(macVendor("00:50:f2:aa:bb:cc", vendors), "Microsoft");
  assert.equal(macVendor("52:54:00:12:34:56", vendors), "QEMU virtual NIC");
  assert.equal(macVendor("32:28:85:3D:F7:A7", vendors), undefined);
  assert.equal(macVendor("00:50", vendors), undefined);
  assert.equal(
    macVendor("52:54:00:00:00:01", await readMacVendors("/nonexistent/nmap-mac-prefixes")),
    undefined,
  );
});

Deno.test("the tables read from files answer as their parsed forms do", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const services = "# c\t22/tcp\tx\nssh\t22/tcp\t0.18\t# Secure Shell\nother\t22/tcp\t0.1\n" +
      "ssh\t22/udp\t0.003\nx\t122/tcp\t0.1\r\nlast\t9/sctp";
    await Deno.writeTextFile(`${dir}/services`, services);
    const table = await readServiceNames(`${dir}/services`);
    const parsed = parseServiceNames(services);
    for (const key of ["22/tcp", "22/udp", "122/tcp", "2/tcp", "9/sctp", "12/tcp", "bogus"]) {
      assert.equal(table.get(key), parsed.get(key), key);
    }
    assert.equal(table.get("22/tcp"), "ssh");
    await Deno.writeTextFile(`${dir}/mac`, "0050F2 Microsoft\n525400\tQEMU virtual NIC\n");
    const vendors = await readMacVendors(`${dir}/mac`);
    assert.equal(macVendor("00:50:f2:01:02:03", vendors), "Microsoft");
    assert.equal(macVendor("52:54:00:01:02:03", vendors), "QEMU virtual NIC");
    assert.equal(macVendor("52:54:01:01:02:03", vendors), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // Debian's tables, when nmap is installed.
  if ((await readServiceNames(NMAP_SERVICES_PATH)).get("22/tcp") !== undefined) {
    assert.equal((await readServiceNames()).get("443/tcp"), "https");
    // Searched one by one, then (past 200 keys) parsed whole: the same answers either way.
    const table = await readServiceNames();
    const parsed = parseServiceNames(await Deno.readTextFile(NMAP_SERVICES_PATH));
    for (let port = 1; port <= 600; port++) {
      for (const key of [`${port}/tcp`, `${port}/udp`]) {
        assert.equal(table.get(key), parsed.get(key));
      }
    }
    assert.equal(macVendor("52:54:00:00:00:01", await readMacVendors()), "QEMU virtual NIC");
  }
});
