/**
 * One scan core, every target on its own route: targets on two links of
 * the scanner (the lab target, and a far host 25 ms away with 1% loss
 * each way behind a delay line on a second link), loopback, and a target
 * with no route at all, under -sT, -sS and -sn; and the service that
 * accepts and resets at once, open under every transport.
 */
import assert from "node:assert/strict";
import { labTest, RESET_PORTS, startLab } from "./lab/lab.ts";
import { addFarHost } from "./lab/raw_lab.ts";
import { portolan } from "./helpers.ts";

interface JsonHost {
  address: string;
  state: string;
  reason: string;
  ports: { port: number; state: string; reason: string }[];
  extraports: { state: string; count: number }[];
}

function hostsOf(stdout: string): Map<string, JsonHost> {
  const report = JSON.parse(stdout) as { hosts: JsonHost[] };
  return new Map(report.hosts.map((host) => [host.address, host]));
}

/** A port's state: listed, or the single summarised state of the rest. */
function stateOf(host: JsonHost | undefined, port: number): string {
  if (host === undefined) return "host missing";
  const listed = host.ports.find((p) => p.port === port);
  if (listed !== undefined) return listed.state;
  return host.extraports.length === 1 ? host.extraports[0]!.state : "missing";
}

const UNROUTABLE = "198.18.77.7";

labTest("targets on two links, loopback and no route: every host and port right", async (t) => {
  const lab = await startLab({ name: "ptlrt" });
  const far = await addFarHost(lab, { delayMs: 25, loss: 0.01, secondLink: true });
  const inScanner = { prefix: ["ip", "netns", "exec", lab.scanNs] };
  try {
    const reset = RESET_PORTS[0]!;
    const ports = [22, 80, 443, 3389, 8080, reset, 1, 25];
    const expected = (address: string, port: number): string => {
      if (address === far.address4 || address === far.address6) {
        return far.open.includes(port)
          ? "open"
          : far.dropped.includes(port)
          ? "filtered"
          : "closed";
      }
      return lab.open.includes(port) ? "open" : lab.dropped.includes(port) ? "filtered" : "closed";
    };
    const targets = [lab.target4, far.address4, lab.target6, far.address6];
    for (const scan of [["-sS"], ["-sT"], ["-sT", "--connect-engine", "deno"]]) {
      await t.step(`default scan (${scan.join(" ")}) of hosts on two links`, async () => {
        const result = await portolan(
          [...scan, "-n", "-p", ports.join(","), "-oJ", "-", ...targets],
          inScanner,
        );
        assert.equal(result.code, 0, result.stderr);
        const hosts = hostsOf(result.stdout);
        for (const address of targets) {
          assert.equal(hosts.get(address)?.state, "up", `${address} is up`);
          for (const port of ports) {
            assert.equal(
              stateOf(hosts.get(address), port),
              expected(address, port),
              `${address}:${port}`,
            );
          }
        }
      });
    }
    await t.step("-sn of hosts on two links, loopback and an unroutable one", async () => {
      const result = await portolan(
        ["-sn", "-n", "-oJ", "-", ...targets, "127.0.0.1", UNROUTABLE],
        inScanner,
      );
      assert.equal(result.code, 0, result.stderr);
      const hosts = hostsOf(result.stdout);
      for (const address of [...targets, "127.0.0.1"]) {
        assert.equal(hosts.get(address)?.state, "up", `${address} is up`);
      }
      const lost = hosts.get(UNROUTABLE);
      assert.ok(lost === undefined || lost.state === "down", "the unroutable host is not up");
    });
    for (const scan of [["-sS"], ["-sT"]]) {
      await t.step(`${scan.join(" ")} -Pn of an unroutable target says no-route`, async () => {
        const result = await portolan(
          [...scan, "-n", "-Pn", "-p", "80", "--reason", "-oJ", "-", UNROUTABLE],
          inScanner,
        );
        assert.equal(result.code, 0, result.stderr);
        const host = hostsOf(result.stdout).get(UNROUTABLE);
        const port = host?.ports.find((p) => p.port === 80);
        assert.deepEqual(
          port === undefined ? host?.extraports : { state: port.state, reason: port.reason },
          { state: "filtered", reason: "no-route" },
        );
      });
    }
  } finally {
    await far.stop();
    await lab.stop();
  }
});

labTest(
  "a service that accepts and resets at once is open under -sT (both engines) and -sS",
  async () => {
    const lab = await startLab({ name: "ptlrs" });
    const inScanner = { prefix: ["ip", "netns", "exec", lab.scanNs] };
    try {
      const reset = RESET_PORTS[0]!;
      for (const scan of [["-sT"], ["-sT", "--connect-engine", "deno"], ["-sS"]]) {
        // Several runs: the reset races the scanner's reading of the handshake.
        for (let run = 0; run < 5; run++) {
          const result = await portolan(
            [...scan, "-n", "-Pn", "-p", `22,${reset},23456`, "-oJ", "-", lab.target4, lab.target6],
            inScanner,
          );
          assert.equal(result.code, 0, result.stderr);
          for (const host of hostsOf(result.stdout).values()) {
            assert.equal(stateOf(host, reset), "open", `${scan.join(" ")} ${host.address}`);
            assert.equal(stateOf(host, 22), "open");
            assert.equal(stateOf(host, 23456), "closed");
          }
        }
      }
    } finally {
      await lab.stop();
    }
  },
);
