import assert from "node:assert/strict";
import {
  macVendor,
  NMAP_MAC_PREFIXES_PATH,
  parseMacVendors,
  parseServiceNames,
  readMacVendors,
  readServiceNames,
} from "./service_names.ts";

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
  assert.equal((await readServiceNames("/nonexistent/nmap-services")).size, 0);
});

Deno.test("MAC vendors: nmap-mac-prefixes lines, looked up by the first three bytes", async () => {
  const vendors = parseMacVendors("# comment\n0050F2 Microsoft\n525400 QEMU virtual NIC\nbad\n");
  assert.deepEqual([...vendors], [["0050F2", "Microsoft"], ["525400", "QEMU virtual NIC"]]);
  assert.equal(macVendor("00:50:f2:aa:bb:cc", vendors), "Microsoft");
  assert.equal(macVendor("52:54:00:12:34:56", vendors), "QEMU virtual NIC");
  assert.equal(macVendor("32:28:85:3D:F7:A7", vendors), undefined);
  assert.equal(macVendor("00:50", vendors), undefined);
  assert.equal((await readMacVendors("/nonexistent/nmap-mac-prefixes")).size, 0);
  // Debian's table, when nmap is installed, knows a famous prefix.
  const installed = await readMacVendors(NMAP_MAC_PREFIXES_PATH);
  if (installed.size > 0) {
    assert.equal(macVendor("52:54:00:00:00:01", installed), "QEMU virtual NIC");
  }
});
