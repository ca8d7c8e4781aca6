/**
 * nmap users' everyday flags through the command line, in the namespace lab
 * (prefix "h2x") and on loopback: combined scan types (-sSV, -sTV), -O,
 * -d, --packet-trace, --stats-every, -v, -R with --dns-servers and the
 * default reverse DNS, and service names without -sV, with nmap's table and
 * without it (/etc/services).
 *
 * @module
 */

import assert from "node:assert/strict";
import { type Lab, labTest, startLab } from "./lab/lab.ts";
import { portolan, ROOT } from "./helpers.ts";

function inScanner(lab: Lab): { prefix: string[] } {
  return { prefix: ["ip", "netns", "exec", lab.scanNs] };
}

/** The table's row of `port`: "22/tcp open ssh …". */
function row(stdout: string, port: number): string {
  return stdout.split("\n").find((line) => line.startsWith(`${port}/tcp `)) ?? "";
}

const NAMED: readonly [number, string][] = [
  [21, "ftp"],
  [22, "ssh"],
  [25, "smtp"],
  [80, "http"],
  [6379, "redis"],
];

labTest("nmap's habits against a lab host", async (t) => {
  const lab = await startLab({ name: "h2x" });
  const scan = (args: string[], env: Record<string, string> = {}) =>
    portolan([...args, "--no-db"], { ...inScanner(lab), env });
  try {
    const target = lab.target4;

    await t.step("-sT -p 21,22,25,80,6379 names the services with nmap's table", async () => {
      const result = await scan(["-sT", "-p", "21,22,25,80,6379", target]);
      assert.equal(result.code, 0, result.stderr);
      for (const [port, name] of NAMED) {
        assert.match(row(result.stdout, port), new RegExp(`^${port}/tcp\\s+open\\s+${name}\\b`));
      }
    });

    await t.step("… and without it, from /etc/services", async () => {
      const result = await scan(["-sT", "-p", "21,22,25,80,6379", "-oN", "-", target], {
        PORTOLAN_NMAP_SERVICES: "/nonexistent/nmap-services",
      });
      assert.equal(result.code, 0, result.stderr);
      for (const [port, name] of NAMED) {
        assert.match(row(result.stdout, port), new RegExp(`^${port}/tcp\\s+open\\s+${name}\\b`));
      }
    });

    for (const flag of ["-sSV", "-sTV"]) {
      await t.step(`${flag} scans and probes the open ports`, async () => {
        const result = await scan([flag, "-v", "--version-light", "-p", "22,80,23", target]);
        assert.equal(result.code, 0, result.stderr);
        const type = flag === "-sSV" ? "SYN Stealth Scan" : "Connect Scan";
        assert.match(result.stdout, new RegExp(`^Initiating ${type} at \\d\\d:\\d\\d$`, "m"));
        assert.match(result.stdout, /^Discovered open port 22\/tcp on 198\.51\.100\.2$/m);
        assert.match(result.stdout, /^Discovered open port 80\/tcp on 198\.51\.100\.2$/m);
        assert.doesNotMatch(result.stdout, /Discovered open port 23\//, "23 is dropped");
        assert.match(result.stdout, /^Completed Service scan at .*\(2 services on 1 host\)$/m);
        // The plain lab listener closes at once: nmap's "tcpwrapped", as -sV finds it.
        assert.match(row(result.stdout, 22), /^22\/tcp\s+open\s+tcpwrapped/);
        assert.match(row(result.stdout, 23), /^23\/tcp\s+filtered\s+telnet/);
        // -v's engine line is on stderr, on a line of its own.
        assert.match(result.stderr, /^portolan: (raw\/syn|connect\/\w+): \d+ probes/m);
      });
    }

    await t.step("-O says once that it is not available, and the scan goes on", async () => {
      const result = await scan(["-sT", "-O", "-p", "22", target]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr.match(/OS detection \(-O\) is not available/g)?.length, 1);
      assert.match(row(result.stdout, 22), /^22\/tcp\s+open\s+ssh/);
    });

    await t.step("-d prints the timing report and the final times", async () => {
      const result = await scan(["-sS", "-d", "-p", "22,80", target]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^--------------- Timing report ---------------$/m);
      assert.match(result.stdout, /^ {2}rtt-timeouts: init 1000, min 100, max 10000$/m);
      assert.match(result.stdout, /^Final times: srtt: \d+ rttvar: \d+ {2}to: \d+$/m);
      assert.match(
        result.stdout,
        /^Discovered open port 22\/tcp on 198\.51\.100\.2$/m,
        "-d is -v too",
      );
    });

    await t.step("--packet-trace: a line per try and per answer, raw and connect", async () => {
      const syn = await scan(["-sS", "-Pn", "--packet-trace", "-p", "22,23", target]);
      assert.equal(syn.code, 0, syn.stderr);
      assert.match(syn.stderr, /^SENT \(\d+\.\d{4}s\) TCP > 198\.51\.100\.2:22 S try=1$/m);
      assert.match(
        syn.stderr,
        /^RCVD \(\d+\.\d{4}s\) TCP 198\.51\.100\.2:22 > open \(syn-ack\) ttl=64$/m,
      );
      // The dropped port is tried and never answered.
      assert.match(syn.stderr, /^SENT \(\d+\.\d{4}s\) TCP > 198\.51\.100\.2:23 S try=1$/m);
      assert.doesNotMatch(syn.stderr, /^RCVD .*:23 /m);
      const connect = await scan(["-sT", "-Pn", "--packet-trace", "-p", "22,4444", target]);
      assert.equal(connect.code, 0, connect.stderr);
      assert.match(
        connect.stderr,
        /^CONN \(\d+\.\d{4}s\) TCP localhost > 198\.51\.100\.2:22 => Operation now in progress$/m,
      );
      assert.match(
        connect.stderr,
        /^CONN \(\d+\.\d{4}s\) TCP localhost > 198\.51\.100\.2:22 => Connected$/m,
      );
      assert.match(connect.stdout, /^22\/tcp\s+open\s+ssh/m, "the table stays on stdout");
    });

    await t.step("--stats-every 1s prints nmap's stats lines while the scan runs", async () => {
      // About 3 s: 1500 ports at 500 probes/s.
      const result = await scan([
        "-sT",
        "--stats-every",
        "1s",
        "--max-rate",
        "500",
        "-p",
        "1-1500",
        target,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /^Stats: \d:\d\d:\d\d elapsed; 0 hosts completed \(1 up\), 1 undergoing Connect Scan$/m,
      );
      assert.match(
        result.stdout,
        /^Connect Scan Timing: About \d+\.\d\d% done; ETC: (\d\d:\d\d|\?) \((\d:\d\d:\d\d|\?) remaining\)$/m,
      );
    });

    await t.step("-R with --dns-servers names the host in every format", async () => {
      const dns = await startFakeDnsInScanner(lab, { [target]: "target.lab.example" });
      const dir = await Deno.makeTempDir();
      try {
        const result = await scan([
          "-sT",
          "-R",
          "--dns-servers",
          `127.0.0.1:${dns.port}`,
          "-p",
          "22",
          "-oN",
          `${dir}/scan.nmap`,
          "-oX",
          `${dir}/scan.xml`,
          "-oG",
          `${dir}/scan.gnmap`,
          "--output",
          `csv:${dir}/scan.csv`,
          "-oH",
          `${dir}/scan.html`,
          target,
        ]);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /scan report for target\.lab\.example \(198\.51\.100\.2\)/);
        const read = (name: string): Promise<string> => Deno.readTextFile(`${dir}/${name}`);
        assert.match(await read("scan.nmap"), /for target\.lab\.example \(198\.51\.100\.2\)/);
        assert.match(await read("scan.xml"), /<hostname name="target\.lab\.example"/);
        assert.match(await read("scan.gnmap"), /^Host: 198\.51\.100\.2 \(target\.lab\.example\)/m);
        assert.match(await read("scan.csv"), /^198\.51\.100\.2,target\.lab\.example,tcp,22,open/m);
        assert.match(await read("scan.html"), /<td>target\.lab\.example<\/td>/);
      } finally {
        dns.stop();
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step(
      "no DNS server reachable: the default reverse DNS leaves the host numeric",
      async () => {
        const result = await scan(["-sT", "-v", "-p", "22", target]);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /^Initiating Parallel DNS resolution of 1 host\. at /m);
        assert.match(result.stdout, /scan report for 198\.51\.100\.2\n/);
        const off = await scan(["-sT", "-v", "-n", "-p", "22", target]);
        assert.doesNotMatch(off.stdout, /Parallel DNS resolution/, "-n: none");
      },
    );
  } finally {
    await lab.stop();
  }
});

/** The fake DNS server as a process in the scanner's namespace, on its loopback. */
async function startFakeDnsInScanner(
  lab: Lab,
  names: Record<string, string>,
): Promise<{ port: number; stop(): void }> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = lab.spawn([
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-net",
    "--allow-read",
    `${ROOT}tests/fake_dns.ts`,
    "127.0.0.1",
    String(port),
    ...Object.entries(names).map(([address, name]) => `${address}=${name}`),
  ], { stdout: "piped", stderr: "inherit" });
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { value } = await reader.read();
  assert.match(value ?? "", /^listening /);
  reader.releaseLock();
  return {
    port,
    stop(): void {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
    },
  };
}

Deno.test("loopback: -v's Discovered line, and the host named from the hosts file", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const result = await portolan(["-sT", "-v", "-p", String(port), "127.0.0.1", "--no-db"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`^Discovered open port ${port}/tcp on 127\\.0\\.0\\.1$`, "m"),
    );
    // /etc/hosts names 127.0.0.1 on every Linux the tests run on.
    assert.match(result.stdout, /scan report for localhost \(127\.0\.0\.1\)/);
    // With a format on stdout the commentary moves to stderr.
    const json = await portolan([
      "-sT",
      "-v",
      "-p",
      String(port),
      "127.0.0.1",
      "--no-db",
      "-oJ",
      "-",
    ]);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).hosts[0].hostnames[0], "localhost");
    assert.match(json.stderr, /^Discovered open port /m);
  } finally {
    listener.close();
  }
});
