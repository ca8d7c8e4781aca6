/**
 * -Pn as nmap has it: every target is up ("received user-set"), also one that
 * answers no probe, and counted up ("1 host up"). A port that answers nothing
 * needs a packet filter: the scan runs in a namespace of its own (only
 * loopback, iptables dropping one port), which needs root; elsewhere the test
 * says it was skipped and why (under CI=true it fails instead).
 */
import assert from "node:assert/strict";
import { ROOT, SCAN_PERMISSIONS } from "./helpers.ts";

const decoder = new TextDecoder();

async function support(): Promise<{ ok: true } | { ok: false; why: string }> {
  if (Deno.uid() !== 0) return { ok: false, why: "needs root to build a namespace" };
  try {
    const probe = await new Deno.Command("unshare", {
      args: ["-n", "iptables", "-L", "INPUT"],
      stdout: "null",
      stderr: "null",
    }).output();
    return probe.success ? { ok: true } : { ok: false, why: "unshare -n iptables fails" };
  } catch {
    return { ok: false, why: "unshare or iptables missing" };
  }
}

const supported = await support();
const name = "-Pn: a host that answers nothing is up, received user-set, 1 host up";

if (!supported.ok && Deno.env.get("CI") !== "true") {
  Deno.test({ name: `${name} (skipped: ${supported.why})`, ignore: true, fn(): void {} });
} else {
  Deno.test(name, async () => {
    if (!supported.ok) throw new Error(`Cannot run the -Pn test on CI: ${supported.why}`);
    const dir = await Deno.makeTempDir({ prefix: "ptl-pn-" });
    try {
      const scan = [Deno.execPath(), "run", "--quiet", ...SCAN_PERMISSIONS, `${ROOT}main.ts`];
      const script = [
        "set -e",
        "ip link set lo up",
        "iptables -A INPUT -i lo -p tcp --dport 9 -j DROP",
        `${scan.join(" ")} -Pn -sT -p 9 --max-retries 0 --no-db 127.0.0.1 -oJ ${dir}/pn.json ` +
        `-oX ${dir}/pn.xml`,
      ].join("\n");
      const output = await new Deno.Command("unshare", {
        args: ["-n", "sh", "-c", script],
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = decoder.decode(output.stdout);
      assert.equal(output.code, 0, decoder.decode(output.stderr));
      assert.match(stdout, /^Host is up\.$/m);
      assert.match(stdout, /^9\/tcp +filtered/m);
      assert.match(stdout, /1 IP address \(1 host up\)/);
      const report = JSON.parse(await Deno.readTextFile(`${dir}/pn.json`));
      assert.equal(report.stats.hostsUp, 1);
      assert.equal(report.hosts[0].state, "up");
      assert.equal(report.hosts[0].reason, "user-set");
      assert.match(await Deno.readTextFile(`${dir}/pn.xml`), /<hosts up="1" down="0" total="1"\/>/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
