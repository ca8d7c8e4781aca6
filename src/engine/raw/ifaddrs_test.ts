import assert from "node:assert/strict";
import type { IpAddress } from "../../packet/mod.ts";
import { formatMac, ipv6FromBigInt, parseMac } from "../../packet/mod.ts";
import { parseIpv4, parseIpv6 } from "../../targets/ip.ts";
import { type LinkAddress, listEthernetLinks, localLinkForFfi, localLinkVia } from "./ifaddrs.ts";
import { formatAddress } from "./net.ts";
import config from "../../../deno.json" with { type: "json" };

function v4(text: string): number {
  return parseIpv4(text);
}

function v6(text: string): Uint8Array {
  return ipv6FromBigInt(parseIpv6(text));
}

function link(
  name: string,
  index: number,
  address: IpAddress,
  prefixLength: number,
): LinkAddress {
  return {
    name,
    index,
    mac: parseMac(`02:00:00:00:00:${index.toString(16).padStart(2, "0")}`),
    family: typeof address === "number" ? 4 : 6,
    address,
    prefixLength,
  };
}

const LINKS: LinkAddress[] = [
  link("eth0", 2, v4("198.51.100.1"), 24),
  link("eth1", 3, v4("198.51.100.129"), 25),
  link("eth2", 4, v4("203.0.113.1"), 32),
  link("eth0", 2, v6("2001:db8:1::1"), 64),
  link("eth1", 3, v6("2001:db8:1::1:1"), 112),
  link("eth1", 3, v6("2001:db8:2::1"), 61),
  link("eth0", 2, v6("fe80::1"), 64),
  link("eth1", 3, v6("fe80::2"), 64),
];

Deno.test("localLinkVia picks the longest IPv4 prefix holding the target", () => {
  assert.equal(localLinkVia(v4("198.51.100.2"), LINKS)?.name, "eth0");
  assert.equal(localLinkVia(v4("198.51.100.200"), LINKS)?.name, "eth1");
  assert.equal(localLinkVia(v4("198.51.100.128"), LINKS)?.name, "eth1");
  assert.equal(localLinkVia(v4("198.51.100.127"), LINKS)?.name, "eth0");
  const found = localLinkVia(v4("203.0.113.1"), LINKS);
  assert.deepEqual(found, { name: "eth2", index: 4, mac: parseMac("02:00:00:00:00:04") });
  assert.equal(localLinkVia(v4("203.0.113.2"), LINKS), undefined); // a /32 holds one address
  assert.equal(localLinkVia(v4("192.0.2.1"), LINKS), undefined);
  assert.equal(localLinkVia(v4("198.51.101.1"), LINKS), undefined);
});

Deno.test("localLinkVia picks the longest IPv6 prefix, never across families", () => {
  assert.equal(localLinkVia(v6("2001:db8:1::2"), LINKS)?.name, "eth0");
  assert.equal(localLinkVia(v6("2001:db8:1::1:ffff"), LINKS)?.name, "eth1");
  assert.equal(localLinkVia(v6("2001:db8:1::2:1"), LINKS)?.name, "eth0");
  // /61 covers 2001:db8:0:0-7, so 2001:db8:2:7:: is inside, 2001:db8:2:8:: is not.
  assert.equal(localLinkVia(v6("2001:db8:2:7::1"), LINKS)?.index, 3);
  assert.equal(localLinkVia(v6("2001:db8:2:8::1"), LINKS), undefined);
  assert.equal(localLinkVia(v6("2001:db8:3::1"), LINKS), undefined);
  // An IPv4-mapped form of an on-link IPv4 address is not on an IPv4 subnet.
  assert.equal(localLinkVia(v6("::ffff:198.51.100.2"), LINKS), undefined);
  assert.equal(localLinkVia(v4("0.0.0.0"), [link("eth0", 2, v6("::"), 0)]), undefined);
});

Deno.test("localLinkVia refuses a tie between interfaces, not within one", () => {
  assert.equal(localLinkVia(v6("fe80::9"), LINKS), undefined); // link-local on two links
  const same = [link("eth0", 2, v4("198.51.100.1"), 24), link("eth0", 2, v4("198.51.100.2"), 24)];
  assert.equal(localLinkVia(v4("198.51.100.9"), same)?.name, "eth0");
  const longerWins = [...LINKS, link("eth3", 5, v6("fe80::9"), 128)];
  assert.equal(localLinkVia(v6("fe80::9"), longerWins)?.name, "eth3");
  assert.equal(localLinkVia(v4("198.51.100.2"), []), undefined);
});

Deno.test("localLinkVia returns a copy of the MAC address", () => {
  const found = localLinkVia(v4("198.51.100.2"), LINKS);
  assert.ok(found);
  found.mac[0] = 0xff;
  assert.equal(LINKS[0]!.mac[0], 0x02);
});

Deno.test({
  name: "without FFI, localLinkForFfi answers undefined and listEthernetLinks says why",
  permissions: { ffi: false },
  fn(): void {
    assert.equal(localLinkForFfi(v4("198.51.100.2")), undefined);
    assert.throws(() => listEthernetLinks(), /FFI is not allowed/);
  },
});

// The real test: a namespace with an addressed veth, an aliased label, a
// down veth and loopback, read by a child holding only the scan task's
// permissions, checked against what `ip -j` reports in the same namespace.

const CHILD = `
import { listEthernetLinks, localLinkForFfi } from ${
  JSON.stringify(new URL("./ifaddrs.ts", import.meta.url).href)
};
import { formatMac } from ${JSON.stringify(new URL("../../packet/mod.ts", import.meta.url).href)};
import { formatAddress } from ${JSON.stringify(new URL("./net.ts", import.meta.url).href)};
import { parseIpv6 } from ${JSON.stringify(new URL("../../targets/ip.ts", import.meta.url).href)};
import { ipv6FromBigInt } from ${
  JSON.stringify(new URL("../../packet/mod.ts", import.meta.url).href)
};
const show = (l) => l === undefined ? null : { name: l.name, index: l.index, mac: formatMac(l.mac) };
const links = listEthernetLinks().map((l) => ({
  name: l.name, index: l.index, mac: formatMac(l.mac), family: l.family,
  address: formatAddress(l.address), prefixLength: l.prefixLength,
}));
let procReadable = true;
try { Deno.readTextFileSync("/proc/net/route"); } catch { procReadable = false; }
console.log(JSON.stringify({
  procReadable,
  links,
  on4: show(localLinkForFfi(0xc6336402)),
  on6: show(localLinkForFfi(ipv6FromBigInt(parseIpv6("2001:db8:1::2")))),
  alias: show(localLinkForFfi(0xc6120505)),
  off: show(localLinkForFfi(0xcb007109)),
  loopback: show(localLinkForFfi(0x7f000002)),
}));
`;

/** The `--allow-*` flags of deno.json's scan task: the permissions a scan really has. */
const SCAN_PERMISSIONS = config.tasks.scan.split(/\s+/).filter((word) =>
  word.startsWith("--allow-")
);

const NS = `ptlif-${Deno.pid}`;
const isRoot = Deno.build.os === "linux" && Deno.uid() === 0;
const mustRun = Deno.env.get("CI") === "true";

async function run(args: string[]): Promise<string> {
  const output = await new Deno.Command(args[0]!, { args: args.slice(1), stdin: "null" }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`${args.join(" ")} failed: ${new TextDecoder().decode(output.stderr).trim()}`);
  }
  return text;
}

interface IpLink {
  ifname: string;
  ifindex: number;
  address?: string;
  link_type: string;
  flags: string[];
}

interface IpAddr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

/** What getifaddrs should report, from `ip -j`: addresses on up Ethernet links. */
async function expectedFromIp(): Promise<string[]> {
  const links = JSON.parse(await run(["ip", "-n", NS, "-j", "link", "show"])) as IpLink[];
  const addrs = JSON.parse(await run(["ip", "-n", NS, "-j", "addr", "show"])) as IpAddr[];
  const rows: string[] = [];
  for (const entry of addrs) {
    const linkInfo = links.find((l) => l.ifname === entry.ifname);
    if (linkInfo === undefined || linkInfo.link_type !== "ether") continue;
    if (!linkInfo.flags.includes("UP")) continue;
    for (const info of entry.addr_info) {
      if (info.family !== "inet" && info.family !== "inet6") continue;
      const address = info.family === "inet" ? parseIpv4(info.local) : v6(info.local);
      rows.push(
        [
          entry.ifname,
          linkInfo.ifindex,
          formatMac(parseMac(linkInfo.address!)),
          info.family === "inet" ? 4 : 6,
          formatAddress(address),
          info.prefixlen,
        ].join(" "),
      );
    }
  }
  return rows.sort();
}

Deno.test({
  name: isRoot || mustRun
    ? "listEthernetLinks and localLinkForFfi agree with ip in a namespace, without --allow-all"
    : "listEthernetLinks in a namespace (skipped: needs root to create a network namespace)",
  ignore: !isRoot && !mustRun,
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir({ prefix: "ptlif" });
    const script = `${dir}/child.ts`;
    await Deno.writeTextFile(script, CHILD);
    try {
      await run(["ip", "netns", "add", NS]);
      const ip = (...args: string[]): Promise<string> => run(["ip", "-n", NS, ...args]);
      await ip("link", "set", "lo", "up");
      await ip("link", "add", "ptlif0", "type", "veth", "peer", "name", "ptlif1");
      await ip("link", "add", "ptlif2", "type", "veth", "peer", "name", "ptlif3");
      await ip("addr", "add", "198.51.100.1/24", "dev", "ptlif0");
      await ip("addr", "add", "198.18.0.1/16", "dev", "ptlif0", "label", "ptlif0:al");
      await ip("addr", "add", "2001:db8:1::1/64", "dev", "ptlif0", "nodad");
      await ip("addr", "add", "203.0.113.1/24", "dev", "ptlif2"); // stays down
      // No automatic link-local addresses: they appear late and would race the comparison.
      for (const name of ["ptlif0", "ptlif1"]) await ip("link", "set", name, "addrgenmode", "none");
      await ip("link", "set", "ptlif0", "up");
      await ip("link", "set", "ptlif1", "up");

      const output = await run([
        "ip",
        "netns",
        "exec",
        NS,
        Deno.execPath(),
        "run",
        "--quiet",
        "--no-config",
        ...SCAN_PERMISSIONS,
        script,
      ]);
      const seen = JSON.parse(output) as {
        procReadable: boolean;
        links: {
          name: string;
          index: number;
          mac: string;
          family: number;
          address: string;
          prefixLength: number;
        }[];
        on4: { name: string; index: number; mac: string } | null;
        on6: { name: string; index: number; mac: string } | null;
        alias: { name: string; index: number; mac: string } | null;
        off: unknown;
        loopback: unknown;
      };
      // The point of this module: the scan task's permissions cannot read /proc.
      assert.equal(seen.procReadable, false);

      const got = seen.links.map((l) =>
        [l.name, l.index, l.mac, l.family, l.address, l.prefixLength].join(" ")
      ).sort();
      assert.deepEqual(got, await expectedFromIp());

      const veth = (JSON.parse(await ip("-j", "link", "show", "ptlif0")) as IpLink[])[0]!;
      const expected = {
        name: "ptlif0",
        index: veth.ifindex,
        mac: formatMac(parseMac(veth.address!)),
      };
      assert.deepEqual(seen.on4, expected);
      assert.deepEqual(seen.on6, expected);
      assert.deepEqual(seen.alias, expected); // 198.18.5.5 via the labelled alias
      assert.equal(seen.off, null); // 203.0.113.9: its subnet is on a down link
      assert.equal(seen.loopback, null);
      assert.ok(got.some((row) => row.startsWith("ptlif0 ") && row.includes(" 198.51.100.1 24")));
      assert.ok(!got.some((row) => row.startsWith("ptlif2 ") || row.startsWith("ptlif1 ")));
    } finally {
      await run(["ip", "netns", "delete", NS]).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
