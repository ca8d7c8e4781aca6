/**
 * The raw modes through the command line, in the namespace lab as root:
 * -sS (and SYN as the default), -sn with reasons, --shard, -sU with -sV
 * against real daemons, and the one-line refusal without privileges.
 *
 * @module
 */

import assert from "node:assert/strict";
import { expectedStates, type Lab, labRequired, labTest, startLab } from "./lab/lab.ts";
import { missingUdpServices, startUdpServices } from "./lab/raw_lab.ts";
import { freePort, portolan, SCAN_PERMISSIONS } from "./helpers.ts";

interface JsonPort {
  protocol: string;
  port: number;
  state: string;
  reason: string;
  service?: { name?: string; product?: string };
}
interface JsonHost {
  address: string;
  state: string;
  reason: string;
  ports: JsonPort[];
  extraports: { state: string; count: number; reasons: { reason: string }[] }[];
}
interface JsonReport {
  scaninfo: { type: string; protocol: string }[];
  hosts: JsonHost[];
  stats: { hostsUp: number; hostsDown: number; receiverDrops?: number };
}

function inScanner(lab: Lab): { prefix: string[] } {
  return { prefix: ["ip", "netns", "exec", lab.scanNs] };
}

async function scanJson(lab: Lab, args: string[]): Promise<JsonReport> {
  const result = await portolan([...args, "--no-db", "-oJ", "-"], inScanner(lab));
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as JsonReport;
}

/** Every port's state: the listed ones, and the summarised (closed) rest. */
function statesOf(host: JsonHost, ports: number[]): Map<number, string> {
  const listed = new Map(host.ports.map((p) => [p.port, p.state]));
  const rest = host.extraports[0]?.state ?? "missing";
  return new Map(ports.map((port) => [port, listed.get(port) ?? rest]));
}

const range = (first: number, last: number): number[] =>
  Array.from({ length: last - first + 1 }, (_, i) => first + i);

labTest("cli: -sS -p- over IPv4 and IPv6, every state and reason right", async () => {
  const lab = await startLab({ name: "ptlcs" });
  try {
    const all = range(1, 65535);
    for (const target of [lab.target4, lab.target6]) {
      const report = await scanJson(lab, ["-sS", "-Pn", "-n", "-p-", target]);
      assert.deepEqual(report.scaninfo.map((info) => info.type), ["syn"]);
      assert.equal(report.stats.receiverDrops, 0, "the receiver lost nothing");
      const host = report.hosts[0]!;
      const expected = expectedStates(lab, all);
      const got = statesOf(host, all);
      const wrong = all.filter((port) => got.get(port) !== expected.get(port));
      assert.deepEqual(wrong.slice(0, 10), [], `${target}: ${wrong.length} ports wrong`);
      assert.deepEqual(host.extraports.map((extra) => extra.reasons[0]?.reason), ["reset"]);
      for (const port of host.ports) {
        const reason = port.state === "open"
          ? "syn-ack"
          : lab.prohibited.includes(port.port)
          ? "admin-prohibited"
          : "no-response";
        assert.equal(port.reason, reason, `${target} port ${port.port}`);
      }
    }
  } finally {
    await lab.stop();
  }
});

labTest("cli: SYN is the default as root; discovery and -sn name why a host is up", async () => {
  const lab = await startLab({ name: "ptlcd" });
  try {
    const ports = [...lab.open.slice(0, 3), 1, 2, 3];
    const report = await scanJson(lab, ["-n", "-p", ports.join(","), lab.target4]);
    assert.deepEqual(report.scaninfo.map((info) => info.type), ["syn"]);
    // On the lab's Ethernet link, discovery is by ARP, as nmap's.
    assert.deepEqual(
      report.hosts.map((host) => [host.address, host.state, host.reason]),
      [[lab.target4, "up", "arp-response"]],
    );
    const host = report.hosts[0]!;
    assert.deepEqual(
      host.ports.filter((p) => p.state === "open").map((p) => p.port).sort((a, b) => a - b),
      lab.open.slice(0, 3),
    );

    // -sn over a /29 without the scanner itself: exactly the target is up.
    const subnet = lab.target4.replace(/\.\d+$/, ".0/29");
    const sweep = await scanJson(lab, ["-sn", "-n", "--exclude", lab.scanner4, subnet]);
    assert.deepEqual(sweep.scaninfo, []);
    // The engine picks ARP or ICMP per family from the first target; either names an answer.
    assert.deepEqual(sweep.hosts.map((h) => h.address), [lab.target4]);
    assert.match(sweep.hosts[0]!.reason, /^(arp-response|echo-reply)$/);
    assert.equal(sweep.stats.hostsUp, 1);
    assert.equal(sweep.stats.hostsDown, 6);

    // ICMP echo by name (-PE): the reason says so.
    const echo = await scanJson(lab, ["-sn", "-n", "-PE", lab.target4]);
    assert.deepEqual(echo.hosts.map((h) => [h.state, h.reason]), [["up", "echo-reply"]]);
    const table = await portolan(["-sn", "-n", "-PE", "--reason", "--no-db", lab.target4], {
      ...inScanner(lab),
    });
    assert.match(table.stdout, /Host is up, received echo-reply/);
  } finally {
    await lab.stop();
  }
});

labTest("cli: --shard 1/3..3/3 with one seed cover the scan exactly once", async () => {
  const lab = await startLab({ name: "ptlch" });
  try {
    const args = ["-sS", "-Pn", "-n", "-p", "1-3000", "--seed", "99", "--open"];
    const whole = await scanJson(lab, [...args, lab.target4]);
    const wholeOpen = whole.hosts[0]!.ports.map((p) => p.port).sort((a, b) => a - b);
    assert.ok(wholeOpen.length > 0, "the range holds open ports");
    const seen: number[] = [];
    for (const shard of ["1/3", "2/3", "3/3"]) {
      const part = await scanJson(lab, [...args, "--shard", shard, lab.target4]);
      seen.push(...(part.hosts[0]?.ports ?? []).map((p) => p.port));
    }
    assert.deepEqual(seen.sort((a, b) => a - b), wholeOpen, "the shards' open ports, merged");
    // Without a seed the shards would walk different orders: refused.
    const refused = await portolan(["-Pn", "-p", "1-10", "--shard", "1/2", lab.target4], {
      ...inScanner(lab),
    });
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /Cannot use --shard without --seed/);
  } finally {
    await lab.stop();
  }
});

const missing = await missingUdpServices();
if (missing.length > 0 && !labRequired) {
  Deno.test({
    name: `lab: cli: -sU -sV against dnsmasq, snmpd, memcached (skipped: missing ${
      missing.join(", ")
    })`,
    ignore: true,
    fn(): void {},
  });
} else {
  labTest("cli: -sU -sV against dnsmasq, snmpd, memcached", async () => {
    const lab = await startLab({ name: "ptlcu" });
    const services = await startUdpServices(lab);
    try {
      const closed = 7; // echo: nothing listens there
      const ports = [...services.open, ...services.dropped, closed];
      const report = await scanJson(lab, [
        "-sU",
        "-sV",
        "-Pn",
        "-n",
        "-p",
        `U:${ports.join(",")}`,
        lab.target4,
      ]);
      assert.deepEqual(report.scaninfo.map((info) => info.type), ["udp"]);
      assert.equal(report.stats.receiverDrops, 0);
      const host = report.hosts[0]!;
      const byPort = new Map(host.ports.map((p) => [p.port, p]));
      for (const port of services.open) {
        assert.equal(byPort.get(port)?.state, "open", `udp ${port}`);
      }
      for (const port of services.dropped) {
        assert.equal(byPort.get(port)?.state, "open|filtered", `udp ${port}`);
      }
      assert.equal(byPort.get(closed)?.state ?? host.extraports[0]?.state, "closed");
      assert.equal(byPort.get(53)?.service?.name, "domain");
      assert.equal(byPort.get(53)?.service?.product, "dnsmasq");
      assert.equal(byPort.get(161)?.service?.name, "snmp");
    } finally {
      await services.stop();
      await lab.stop();
    }
  });
}

const isRoot = Deno.uid() === 0;
const hasSetpriv = await new Deno.Command("sh", { args: ["-c", "command -v setpriv"] }).output()
  .then((output) => output.success, () => false);

Deno.test({
  name: "cli: without CAP_NET_RAW, -sS is refused in one line and -sT still scans" +
    (isRoot && hasSetpriv ? "" : " (skipped: needs root and setpriv to drop the capability)"),
  ignore: !(isRoot && hasSetpriv),
  async fn(): Promise<void> {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const open = (listener.addr as Deno.NetAddr).port;
    const closed = freePort();
    const drop = ["setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw"];
    try {
      for (const flag of ["-sS", "-sU", "-PE"]) {
        const refused = await portolan([flag, "-p", String(open), "--no-db", "127.0.0.1"], {
          prefix: drop,
        });
        assert.equal(refused.code, 1, flag);
        const lines = refused.stderr.trim().split("\n");
        assert.equal(lines.length, 1, `${flag}: one line, no stack trace: ${refused.stderr}`);
        assert.match(lines[0]!, /^portolan: Cannot run .*CAP_NET_RAW.*-sT\) needs no privileges$/);
      }
      // No scan type named: the connect scan, silently, as nmap does unprivileged.
      for (const args of [["-sT"], []]) {
        const ok = await portolan([
          ...args,
          "-p",
          `${open},${closed}`,
          "--no-db",
          "-oJ",
          "-",
          "127.0.0.1",
        ], {
          prefix: drop,
        });
        assert.equal(ok.code, 0, ok.stderr);
        const report = JSON.parse(ok.stdout) as JsonReport;
        assert.deepEqual(report.scaninfo.map((info) => info.type), ["connect"]);
        const ports = report.hosts[0]!.ports;
        assert.deepEqual(
          ports.map((p) => [p.port, p.state]),
          [[open, "open"], [closed, "closed"]].sort((a, b) => Number(a[0]) - Number(b[0])),
        );
      }
      // Without FFI: the same refusal, naming the missing permission.
      const noFfi = await portolan(["-sS", "-p", String(open), "--no-db", "127.0.0.1"], {
        permissions: SCAN_PERMISSIONS.filter((flag) => flag !== "--allow-ffi"),
      });
      assert.equal(noFfi.code, 1);
      assert.match(noFfi.stderr, /^portolan: Cannot run a SYN scan \(-sS\): .*--allow-ffi/);
    } finally {
      listener.close();
    }
  },
});
