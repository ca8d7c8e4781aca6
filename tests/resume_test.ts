/**
 * Interrupt and resume, end to end in the lab: a full-range connect scan
 * stopped by SIGINT, then finished with --resume, ends where an
 * uninterrupted scan ends.
 */
import assert from "node:assert/strict";
import { type Lab, labTest, startLab } from "./lab/lab.ts";
import { ROOT, SCAN_PERMISSIONS, TEST_STATE_DIR } from "./helpers.ts";

interface JsonHost {
  address: string;
  ports: { port: number; state: string }[];
  extraports: { state: string; count: number }[];
}

function spawnScan(lab: Lab, args: string[]): Deno.ChildProcess {
  return new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      lab.scanNs,
      Deno.execPath(),
      "run",
      "--quiet",
      ...SCAN_PERMISSIONS,
      `${ROOT}main.ts`,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", XDG_DATA_HOME: `${TEST_STATE_DIR}/data` },
  }).spawn();
}

async function finish(child: Deno.ChildProcess): Promise<{ code: number; stderr: string }> {
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  const output = await child.output();
  clearTimeout(timer);
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

function portsIn(report: { hosts: JsonHost[] }, state: string): number[] {
  return report.hosts.flatMap((host) =>
    host.ports.filter((p) => p.state === state).map((p) => p.port)
  );
}

for (const [scanType, name] of [["-sT", "ptlr"], ["-sS", "ptlrs"]] as const) {
  labTest(
    `SIGINT mid-scan (${scanType}), then --resume: the result equals an uninterrupted scan`,
    async () => {
      const lab = await startLab({ name });
      const dir = await Deno.makeTempDir();
      try {
        // A rate cap stretches the scan to several seconds so that the
        // interrupt lands in the middle of it.
        const args = [scanType, "-p-", "-n", "--max-rate", "10000", "--no-db"];
        const interrupted = spawnScan(lab, [
          ...args,
          "--resume-file",
          `${dir}/resume.json`,
          "-oJ",
          `${dir}/resumed.json`,
          lab.target4,
        ]);
        await new Promise((resolve) => setTimeout(resolve, 2000));
        interrupted.kill("SIGINT");
        const first = await finish(interrupted);
        assert.equal(first.code, 130, first.stderr);
        assert.match(first.stderr, /Resume with: deno task scan --resume /);
        // The interrupted run's JSON is whole, and partial.
        const partial = JSON.parse(await Deno.readTextFile(`${dir}/resumed.json`));
        const partialCount = partial.hosts[0].ports.length +
          partial.hosts[0].extraports.reduce((n: number, e: { count: number }) => n + e.count, 0);
        assert.ok(partialCount > 0 && partialCount < 65535, `partial: ${partialCount} ports`);

        const resumed = await finish(spawnScan(lab, ["--resume", `${dir}/resume.json`]));
        assert.equal(resumed.code, 0, resumed.stderr);
        const complete = JSON.parse(await Deno.readTextFile(`${dir}/resumed.json`));

        const straight = await finish(
          spawnScan(lab, [...args, "-oJ", `${dir}/straight.json`, lab.target4]),
        );
        assert.equal(straight.code, 0, straight.stderr);
        const reference = JSON.parse(await Deno.readTextFile(`${dir}/straight.json`));

        assert.deepEqual(portsIn(complete, "open"), portsIn(reference, "open"));
        assert.deepEqual(portsIn(complete, "filtered"), portsIn(reference, "filtered"));
        assert.deepEqual(portsIn(complete, "open"), lab.open);
        assert.deepEqual(
          portsIn(complete, "filtered"),
          [...lab.dropped, ...lab.prohibited].sort((a, b) => a - b),
        );
        const closed = complete.hosts[0].extraports.find((e: { state: string }) =>
          e.state === "closed"
        );
        assert.equal(
          closed?.count,
          65535 - lab.open.length - lab.dropped.length - lab.prohibited.length,
        );
        await assert.rejects(
          () => Deno.stat(`${dir}/resume.json`),
          "a finished resume removes its state",
        );
      } finally {
        await lab.stop();
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}

labTest("a second SIGINT ends the process at once, skipping the clean-up", async () => {
  const lab = await startLab({ name: "ptlr2" });
  const dir = await Deno.makeTempDir();
  try {
    // Dropped ports with long timeouts: after the first SIGINT the scan sits
    // waiting for answers in flight, which never come.
    const args = [
      "-sT",
      "-Pn",
      "-p",
      lab.dropped.join(","),
      "--initial-rtt-timeout",
      "10s",
      "--min-rtt-timeout",
      "10s",
      "--no-db",
      lab.target4,
    ];
    const once = spawnScan(lab, [...args, "--resume-file", `${dir}/once.json`]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    once.kill("SIGINT");
    assert.equal((await finish(once)).code, 130);
    await Deno.stat(`${dir}/once.json`);

    const twice = spawnScan(lab, [...args, "--resume-file", `${dir}/twice.json`]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    twice.kill("SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 200));
    twice.kill("SIGINT");
    assert.equal((await finish(twice)).code, 130);
    await assert.rejects(() => Deno.stat(`${dir}/twice.json`), "no state: it did not wait");
  } finally {
    await lab.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
