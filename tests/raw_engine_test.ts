/**
 * End-to-end tests of the raw engine in the lab, as root: SYN scans over
 * IPv4 and IPv6 with every state checked, shards, a lossy delayed link,
 * the /16 sweep, UDP against real daemons, and host discovery. The engine
 * runs in the scanner namespace through tests/raw_driver.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import { expectedStates, labRequired, labTest, startLab } from "./lab/lab.ts";
import type { Lab } from "./lab/lab.ts";
import {
  addFarHost,
  enableSweep,
  missingUdpServices,
  startUdpServices,
  UDP_TEST_PORTS,
} from "./lab/raw_lab.ts";
import type { HostResult, PortResult } from "../src/model/mod.ts";
import type { EngineStats } from "../src/engine/types.ts";
import { foldPorts, parsePortList } from "./raw_driver.ts";

const DRIVER = decodeURIComponent(new URL("./raw_driver.ts", import.meta.url).pathname);

interface DriverOutput {
  seconds: number;
  stats: EngineStats;
  ports: PortResult[];
  hosts: HostResult[];
}

async function drive(lab: Lab, args: string[]): Promise<DriverOutput> {
  const result = await lab.run([Deno.execPath(), "run", "-A", "--no-lock", DRIVER, ...args], {
    timeout: 120_000,
  });
  assert.equal(result.code, 0, `driver failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as DriverOutput;
}

function assertStates(
  lab: Pick<Lab, "open" | "dropped" | "prohibited">,
  output: DriverOutput,
  ports: number[],
): void {
  const expected = expectedStates(lab, ports);
  assert.equal(output.ports.length, ports.length, "one verdict per port");
  assert.equal(new Set(output.ports.map((p) => p.port)).size, ports.length, "no duplicates");
  const wrong = output.ports.filter((p) => p.state !== expected.get(p.port));
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} wrong states`);
  for (const p of output.ports) {
    const reason = p.state === "open"
      ? "syn-ack"
      : p.state === "closed"
      ? "reset"
      : lab.prohibited.includes(p.port)
      ? "admin-prohibited"
      : "no-response";
    assert.equal(p.reason, reason, `port ${p.port}`);
  }
  assert.equal(output.stats.receiverDrops, 0);
}

const range = (first: number, last: number): number[] =>
  Array.from({ length: last - first + 1 }, (_, i) => first + i);

Deno.test("the driver's --fold lists closed ports as ranges per host and reason", () => {
  const port = (address: string, number: number, state: string, reason: string): PortResult => ({
    address,
    protocol: "tcp",
    port: number,
    state: state as PortResult["state"],
    reason,
  });
  const ports = [
    port("198.51.100.2", 5, "closed", "reset"),
    port("198.51.100.2", 1, "closed", "reset"),
    port("198.51.100.2", 2, "closed", "reset"),
    port("198.51.100.2", 3, "open", "syn-ack"),
    port("198.51.100.2", 4, "closed", "reset"),
    port("198.51.100.2", 9, "closed", "reset"),
    port("198.51.100.3", 7, "closed", "reset"),
  ];
  const { ports: listed, folded } = foldPorts(ports, "closed");
  assert.deepEqual(listed, [ports[3]]);
  assert.deepEqual(folded, [
    {
      address: "198.51.100.2",
      protocol: "tcp",
      state: "closed",
      reason: "reset",
      ports: "1-2,4-5,9",
    },
    { address: "198.51.100.3", protocol: "tcp", state: "closed", reason: "reset", ports: "7" },
  ]);
  assert.deepEqual(parsePortList(folded[0]!.ports), [1, 2, 4, 5, 9]);
});

labTest("raw engine: SYN, shards, sweep, UDP and discovery in the lab", async (t) => {
  const lab = await startLab({ name: "ptlraw" });
  try {
    await t.step("SYN scan of all IPv4 ports: every state and reason right", async () => {
      const output = await drive(lab, [
        "--scan",
        "syn",
        "--targets",
        lab.target4,
        "--ports",
        "1-65535",
      ]);
      assertStates(lab, output, range(1, 65535));
    });

    await t.step("SYN scan of all IPv6 ports: every state and reason right", async () => {
      const output = await drive(lab, [
        "--scan",
        "syn",
        "--targets",
        lab.target6,
        "--ports",
        "1-65535",
      ]);
      assertStates(lab, output, range(1, 65535));
    });

    await t.step("three shards with one seed cover ports 1-3000 exactly once", async () => {
      const seen = new Map<number, number>();
      const all: PortResult[] = [];
      for (let index = 0; index < 3; index++) {
        const output = await drive(lab, [
          "--scan",
          "syn",
          "--targets",
          lab.target4,
          "--ports",
          "1-3000",
          "--seed",
          "42",
          "--shard",
          `${index}/3`,
        ]);
        assert.ok(output.ports.length > 800 && output.ports.length < 1200);
        for (const p of output.ports) seen.set(p.port, (seen.get(p.port) ?? 0) + 1);
        all.push(...output.ports);
      }
      assert.equal(seen.size, 3000);
      assert.ok([...seen.values()].every((count) => count === 1));
      assertStates(lab, {
        seconds: 0,
        stats: { receiverDrops: 0 } as EngineStats,
        ports: all,
        hosts: [],
      }, range(1, 3000));
    });

    await t.step("a host 50 ms away with 1% loss each way: every state right", async () => {
      const far = await addFarHost(lab, { delayMs: 25, loss: 0.01 });
      try {
        for (const target of [far.address4, far.address6]) {
          const output = await drive(lab, [
            "--scan",
            "syn",
            "--targets",
            target,
            "--ports",
            "1-3000",
          ]);
          const expected = { open: far.open, dropped: far.dropped, prohibited: [] };
          assertStates(expected, output, range(1, 3000));
          // The RTT was measured across the delay line.
          const rtts = output.ports.filter((p) => p.rtt !== undefined).map((p) => p.rtt!);
          assert.ok(rtts.length > 0 && Math.min(...rtts) >= 45, `min rtt ${Math.min(...rtts)}`);
        }
      } finally {
        await far.stop();
      }
    });

    await t.step("the /16 sweep finds every live host and no dark one", async () => {
      await enableSweep(lab);
      const output = await drive(lab, [
        "--scan",
        "syn",
        "--targets",
        "198.18.0.0/16",
        "--ports",
        "80",
      ]);
      assert.equal(output.ports.length, 65536);
      for (const p of output.ports) {
        const live = Number(p.address.split(".")[2]) < 128;
        assert.equal(p.state, live ? "open" : "filtered", p.address);
      }
      assert.equal(output.stats.receiverDrops, 0);
    });

    await t.step("host discovery: ARP on the link, echo / SYN / ACK beyond it", async () => {
      const arp = await drive(lab, ["--scan", "discovery", "--targets", "198.51.100.2-4"]);
      const byAddress = new Map(arp.hosts.map((h) => [h.address, h]));
      const target = byAddress.get("198.51.100.2");
      // The ARP reply's sender: the target's own interface, as `ip` shows it.
      const mac = (await lab.run([
        "ip",
        "netns",
        "exec",
        lab.targetNs,
        "cat",
        `/sys/class/net/${lab.targetNs.replace(/-tgt$/, "")}-t0/address`,
      ])).stdout.trim()
        .toUpperCase();
      assert.deepEqual({ ...target, rtt: undefined }, {
        address: "198.51.100.2",
        hostnames: [],
        state: "up",
        reason: "arp-response",
        mac,
        rtt: undefined,
      });
      assert.ok(typeof target?.rtt === "number" && target.rtt >= 0, `rtt ${target?.rtt}`);
      assert.equal(byAddress.get("198.51.100.3")?.state, "down");
      assert.equal(byAddress.get("198.51.100.3")?.reason, "no-response");
      for (
        const [probes, reason] of [["echo", "echo-reply"], ["syn443", "syn-ack"], [
          "ack80",
          "reset",
        ], ["syn444", "reset"]]
      ) {
        const output = await drive(lab, [
          "--scan",
          "discovery",
          "--targets",
          `${lab.target4},${lab.target6}`,
          "--probes",
          probes!,
        ]);
        assert.equal(output.hosts.length, 2);
        for (const host of output.hosts) {
          assert.deepEqual([host.state, host.reason], ["up", reason], probes);
        }
      }
    });
  } finally {
    await lab.stop();
  }
});

const missing = await missingUdpServices();
if (missing.length > 0 && !labRequired) {
  Deno.test({
    name: `lab: raw engine: UDP scan against dnsmasq, snmpd, memcached (skipped: missing ${
      missing.join(", ")
    })`,
    ignore: true,
    fn(): void {},
  });
} else {
  labTest("raw engine: UDP scan against dnsmasq, snmpd, memcached", async () => {
    const lab = await startLab({ name: "ptlrawu" });
    try {
      const services = await startUdpServices(lab);
      const output = await drive(lab, [
        "--scan",
        "udp",
        "--targets",
        lab.target4,
        "--ports",
        UDP_TEST_PORTS.join(","),
      ]);
      assert.equal(output.ports.length, UDP_TEST_PORTS.length);
      for (const p of output.ports) {
        const expected = services.open.includes(p.port)
          ? ["open", "udp-response"]
          : services.dropped.includes(p.port)
          ? ["open|filtered", "no-response"]
          : ["closed", "port-unreach"];
        // More closed ports than the target's ICMP burst: the paced retries must still find them.
        assert.deepEqual([p.state, p.reason], expected, `udp ${p.port}`);
      }
      assert.equal(output.stats.receiverDrops, 0);
      await services.stop();
    } finally {
      await lab.stop();
    }
  });
}
