/**
 * End-to-end scans in the namespace lab: the scanner in a namespace with no
 * route out, the target over a veth pair with open, dropped and
 * admin-prohibited ports. Every port's state must be right.
 */
import assert from "node:assert/strict";
import { expectedStates, type Lab, labTest, startLab } from "./lab/lab.ts";
import { portolan } from "./helpers.ts";

interface JsonPort {
  port: number;
  state: string;
  reason: string;
}
interface JsonHost {
  address: string;
  state: string;
  reason: string;
  ports: JsonPort[];
  extraports: { state: string; count: number }[];
}

/** Every port's state from a JSON report: listed ones, the rest from the single extraports state. */
function statesOf(host: JsonHost, ports: number[]): Map<number, string> {
  const listed = new Map(host.ports.map((p) => [p.port, p.state]));
  assert.ok(host.extraports.length <= 1, "only closed ports are summarised");
  const rest = host.extraports[0]?.state ?? "missing";
  return new Map(ports.map((port) => [port, listed.get(port) ?? rest]));
}

function inScanner(lab: Lab): { prefix: string[] } {
  return { prefix: ["ip", "netns", "exec", lab.scanNs] };
}

function assertAllRight(lab: Lab, host: JsonHost, ports: number[]): void {
  const expected = expectedStates(lab, ports);
  const got = statesOf(host, ports);
  const wrong = ports.filter((port) => got.get(port) !== expected.get(port));
  assert.deepEqual(
    wrong.slice(0, 20).map((port) => `${port}: ${got.get(port)} != ${expected.get(port)}`),
    [],
    `${wrong.length} ports wrong`,
  );
}

const ALL_PORTS = Array.from({ length: 65535 }, (_, i) => i + 1);

labTest("connect scan of all 65535 ports: every state right (epoll engine)", async () => {
  const lab = await startLab({ name: "ptls1" });
  try {
    const result = await portolan(
      ["-sT", "-Pn", "-p-", "-n", "--connect-engine", "epoll", "-oJ", "-", lab.target4],
      inScanner(lab),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.ok(lab.listenerRunning(), "the lab's listener survived the scan");
    const host: JsonHost = JSON.parse(result.stdout).hosts[0];
    assert.equal(host.address, lab.target4);
    assert.equal(host.state, "up");
    assertAllRight(lab, host, ALL_PORTS);
    // The ICMP type and code come through IP_RECVERR: the reason is exact.
    for (const port of lab.prohibited) {
      const entry = host.ports.find((p) => p.port === port);
      assert.equal(entry?.reason, "admin-prohibited", `reason of ${port}`);
    }
    for (const port of lab.dropped) {
      assert.equal(host.ports.find((p) => p.port === port)?.reason, "no-response");
    }
  } finally {
    await lab.stop();
  }
});

labTest("connect scan over IPv6 and through Deno.connect: every state right", async () => {
  const lab = await startLab({ name: "ptls2" });
  try {
    // A spread of ports: every open, dropped and prohibited one, and closed ones between.
    const ports = [
      ...new Set([
        ...lab.open,
        ...lab.dropped,
        ...lab.prohibited,
        ...Array.from({ length: 2000 }, (_, i) => i + 1),
      ]),
    ].sort((a, b) => a - b);
    const spec = ports.join(",");
    const v6 = await portolan(
      ["-sT", "-Pn", "-p", spec, "-oJ", "-", lab.target6],
      inScanner(lab),
    );
    assert.equal(v6.code, 0, v6.stderr);
    const host6: JsonHost = JSON.parse(v6.stdout).hosts[0];
    assert.equal(host6.address, lab.target6);
    assertAllRight(lab, host6, ports);
    assert.equal(
      host6.ports.find((p) => p.port === lab.prohibited[0])?.reason,
      "admin-prohibited",
    );

    // Deno.connect with a large window: the engine must notice its own
    // overload rather than turn open ports into "filtered".
    const deno = await portolan(
      [
        "-sT",
        "-Pn",
        "--connect-engine",
        "deno",
        "--max-parallelism",
        "4000",
        "-p",
        spec,
        "-oJ",
        "-",
        lab.target4,
      ],
      inScanner(lab),
    );
    assert.equal(deno.code, 0, deno.stderr);
    assertAllRight(lab, JSON.parse(deno.stdout).hosts[0], ports);
  } finally {
    await lab.stop();
  }
});

labTest("host discovery, the scanner's missing route, and --open", async () => {
  const lab = await startLab({ name: "ptls3" });
  try {
    // 203.0.113.77 is not in the lab: with no route the kernel refuses at once.
    const result = await portolan(
      [
        "-p",
        lab.open.slice(0, 3).join(",") + ",2",
        "--open",
        "-v",
        "-oJ",
        "-",
        lab.target4,
        "203.0.113.77",
      ],
      { ...inScanner(lab), timeoutMs: 60_000 },
    );
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    const hosts: JsonHost[] = report.hosts;
    const target = hosts.find((h) => h.address === lab.target4);
    assert.equal(target?.state, "up");
    // Raw discovery asks the link (ARP); connect discovery gets a handshake or a refusal.
    assert.match(target?.reason ?? "", /^(arp-response|syn-ack|conn-refused)$/);
    assert.deepEqual(
      target?.ports.map((p) => p.port),
      lab.open.slice(0, 3),
      "--open lists open ports only",
    );
    const dark = hosts.find((h) => h.address === "203.0.113.77");
    assert.equal(dark?.state, "down");
    assert.equal(report.stats.hostsUp, 1);
    assert.equal(report.stats.hostsDown, 1);
  } finally {
    await lab.stop();
  }
});
