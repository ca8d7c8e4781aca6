import assert from "node:assert/strict";
import { startFakeDns } from "../../tests/fake_dns.ts";
import { parseHostsReverse, ptrName, reverseNames } from "./reverse.ts";

Deno.test("the hosts file read backwards: the first name of the first line of an address", () => {
  const table = parseHostsReverse(
    "# comment\n127.0.0.1 localhost runsc\n127.0.0.1 vm\n::1 ip6-localhost ip6-loopback\n" +
      "0:0:0:0:0:0:0:2 two # canonical form\nbogus line\n198.51.100.7\tweb.lab.example web\n",
  );
  assert.equal(table.get("127.0.0.1"), "localhost");
  assert.equal(table.get("::1"), "ip6-localhost");
  assert.equal(table.get("::2"), "two");
  assert.equal(table.get("198.51.100.7"), "web.lab.example");
  assert.equal(table.size, 4);
});

Deno.test("PTR names of IPv4 and IPv6 addresses", () => {
  assert.equal(ptrName("198.51.100.2"), "2.100.51.198.in-addr.arpa");
  assert.equal(
    ptrName("2001:db8::1"),
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
  );
  assert.throws(() => ptrName("nonsense:x"), RangeError);
});

Deno.test("reverseNames answers from the hosts file without asking DNS", async () => {
  const dir = await Deno.makeTempDir();
  const dns = await startFakeDns("127.0.0.1", { names: { "198.51.100.9": "dns.lab.example" } });
  try {
    await Deno.writeTextFile(`${dir}/hosts`, "127.0.0.1 localhost\n198.51.100.2 target.lab\n");
    const names = await reverseNames(["127.0.0.1", "198.51.100.2"], {
      hostsFile: `${dir}/hosts`,
      nameServers: [{ ipAddr: "127.0.0.1", port: dns.port }],
    });
    assert.deepEqual([...names], [["127.0.0.1", "localhost"], ["198.51.100.2", "target.lab"]]);
    assert.equal(dns.queries(), 0, "every address was in the hosts file");
  } finally {
    await dns.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reverseNames asks the given DNS server for PTR records, the rest stay unnamed", async () => {
  const dns = await startFakeDns("127.0.0.1", {
    names: { "198.51.100.2": "target.lab.example", "2001:db8::2": "six.lab.example" },
  });
  try {
    const names = await reverseNames(["198.51.100.2", "198.51.100.3", "2001:db8::2"], {
      hostsFile: null,
      nameServers: [{ ipAddr: "127.0.0.1", port: dns.port }],
    });
    assert.equal(names.get("198.51.100.2"), "target.lab.example");
    assert.equal(names.get("2001:db8::2"), "six.lab.example");
    assert.equal(names.has("198.51.100.3"), false, "NXDOMAIN: no name");
    assert.ok(dns.queries() >= 3);
  } finally {
    await dns.close();
  }
});

Deno.test("a server that never answers ends at the deadline with no names, the next server is asked", async () => {
  const silent = await startFakeDns("127.0.0.1", { silent: true });
  const good = await startFakeDns("127.0.0.1", { names: { "198.51.100.2": "t.lab.example" } });
  try {
    const none = await reverseNames(["198.51.100.2", "198.51.100.3"], {
      hostsFile: null,
      nameServers: [{ ipAddr: "127.0.0.1", port: silent.port }],
      deadlineMs: 300,
    });
    assert.equal(none.size, 0);
    assert.ok(silent.queries() >= 1, "the silent server was asked");
    const second = await reverseNames(["198.51.100.2"], {
      hostsFile: null,
      nameServers: [
        { ipAddr: "127.0.0.1", port: silent.port },
        { ipAddr: "127.0.0.1", port: good.port },
      ],
      deadlineMs: 2000,
    });
    assert.equal(second.get("198.51.100.2"), "t.lab.example");
  } finally {
    await silent.close();
    await good.close();
  }
});

Deno.test("loopback addresses are named by the hosts file only, never asked of DNS", async () => {
  const dns = await startFakeDns("127.0.0.1", { names: { "127.0.0.2": "two.example" } });
  try {
    const names = await reverseNames(["127.0.0.2", "::1"], {
      hostsFile: null,
      nameServers: [{ ipAddr: "127.0.0.1", port: dns.port }],
    });
    assert.equal(names.size, 0);
    assert.equal(dns.queries(), 0);
  } finally {
    await dns.close();
  }
});

Deno.test("dns: false names only what the hosts file names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/hosts`, "127.0.0.1 localhost\n");
    const names = await reverseNames(["127.0.0.1", "127.0.0.2"], {
      hostsFile: `${dir}/hosts`,
      dns: false,
    });
    assert.deepEqual([...names], [["127.0.0.1", "localhost"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
