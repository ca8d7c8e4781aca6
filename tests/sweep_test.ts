/**
 * Wide scans in the lab's /16 (lower half live, upper half dark): the
 * default ceiling is named and kept, and a one-port scan folds discovery
 * into the port probes with every live host found and no dark one.
 */
import assert from "node:assert/strict";
import { labTest, startLab } from "./lab/lab.ts";
import { enableSweep, SWEEP_RANGE } from "./lab/raw_lab.ts";
import { portolan } from "./helpers.ts";

interface Report {
  hosts: {
    address: string;
    state: string;
    reason: string;
    ports: { port: number; state: string }[];
  }[];
  stats: {
    hostsUp: number;
    hostsDown: number;
    hostsTotal: number;
    sendRate?: number;
    probes: number;
    retries: number;
  };
}

labTest(
  "a sweep: the default ceiling is said and kept; discovery folded into a one-port scan",
  async (t) => {
    const lab = await startLab({ name: "ptlwd" });
    try {
      await enableSweep(lab);
      const inScanner = { prefix: ["ip", "netns", "exec", lab.scanNs] };
      await t.step(
        "no rate flag: the ceiling is named once and the measured rate stays under it",
        async () => {
          // 198.18.127.0-198.18.128.255: 512 hosts (256 live) are past the 256-host threshold.
          const result = await portolan(
            ["-sS", "-n", "-p", "80", "-oJ", "-", "198.18.127-128.0-255"],
            inScanner,
          );
          assert.equal(result.code, 0, result.stderr);
          const notices = result.stderr.split("\n").filter((line) => line.includes("sweeping"));
          assert.deepEqual(notices, [
            "portolan: sweeping 512 hosts at up to 14,880 probes/s; --max-rate to change",
          ]);
          const report = JSON.parse(result.stdout) as Report;
          assert.ok((report.stats.sendRate ?? Infinity) <= 14_880, `${report.stats.sendRate}/s`);
          assert.equal(report.stats.hostsUp, 256);
        },
      );
      await t.step(
        "--max-rate 100000, -v: folded discovery finds every live host and no dark one",
        async () => {
          const result = await portolan(
            ["-sS", "-n", "-v", "-p", "80", "--max-rate", "100000", "-oJ", "-", SWEEP_RANGE],
            inScanner,
          );
          assert.equal(result.code, 0, result.stderr);
          assert.ok(!result.stderr.includes("sweeping"), "an explicit --max-rate is not announced");
          assert.match(result.stderr, /discovery folded into the port scan/);
          const report = JSON.parse(result.stdout) as Report;
          const up = report.hosts.filter((host) => host.state === "up");
          assert.equal(up.length, 32_768);
          // Live hosts are 198.18.0.0-198.18.127.255; each answered with a SYN-ACK.
          assert.ok(
            up.every((host) => Number(host.address.split(".")[2]) < 128),
            "no dark host up",
          );
          assert.ok(up.every((host) => host.reason === "syn-ack"));
          assert.deepEqual(
            [report.stats.hostsUp, report.stats.hostsDown, report.stats.hostsTotal],
            [32_768, 32_768, 65_536],
          );
          assert.ok((report.stats.sendRate ?? Infinity) <= 100_000);
        },
      );
      await t.step("-Pn, four ports a host: dark hosts' silent ports are not retried", async () => {
        // 512 hosts, 256 dark: 1024 silent probes. On a path that lost nothing, a
        // retry finds only what loss hid, and a host that never answered is dark.
        const result = await portolan(
          ["-sS", "-Pn", "-n", "-p", "80-83", "--max-rate", "100000", "--no-db", "-oJ", "-"]
            .concat(["198.18.127-128.0-255"]),
          inScanner,
        );
        assert.equal(result.code, 0, result.stderr);
        const report = JSON.parse(result.stdout) as Report;
        const live = report.hosts.filter((host) => Number(host.address.split(".")[2]) === 127);
        assert.equal(live.length, 256);
        for (const host of live) {
          const open = host.ports.filter((port) => port.state === "open").map((port) => port.port);
          assert.deepEqual(open, [80], host.address);
        }
        const dark = report.hosts.filter((host) => Number(host.address.split(".")[2]) === 128);
        assert.ok(dark.every((host) => host.ports.every((port) => port.state !== "open")));
        assert.ok(report.stats.probes >= 2048, `${report.stats.probes} probes`);
        // The first tries to dark hosts time out before 1000 answers have come back,
        // and those few are retried; most are not.
        assert.ok(report.stats.retries < 512, `${report.stats.retries} retries`);
      });
      await t.step("four ports per host: discovery first, as before", async () => {
        const result = await portolan(
          ["-sS", "-n", "-v", "-p", "80-83", "--max-rate", "100000", "--no-db", "198.18.0.0/24"],
          inScanner,
        );
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stderr, /discovery raw/);
        assert.doesNotMatch(result.stderr, /folded/);
      });
    } finally {
      await lab.stop();
    }
  },
);
