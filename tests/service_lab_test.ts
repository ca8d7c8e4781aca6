/**
 * Service detection against real daemons (Debian's vsftpd, OpenSSH,
 * dnsmasq, nginx, redis, memcached) and the greeters in the lab's target
 * namespace, run from the scanner namespace.
 */

import assert from "node:assert/strict";
import type { PortResult } from "../src/model/mod.ts";
import { createReportBuilder } from "../src/output/report_builder.ts";
import { renderTable } from "../src/output/table.ts";
import { toJson } from "../plugins/output_json.ts";
import { labRequired, labTest, startLab } from "./lab/lab.ts";
import type { Lab } from "./lab/lab.ts";
import { DAEMON_PACKAGES, LAB_SERVICES, missingDaemons, SERVICE_PORTS } from "./lab/services.ts";

const PROBE = decodeURIComponent(new URL("./lab/service_probe.ts", import.meta.url).pathname);
const missing = missingDaemons();

/** A lab test that also needs the daemons: ignored with the reason where they are missing, off CI. */
function serviceLabTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  if (missing.length > 0 && !labRequired) {
    Deno.test({
      name: `lab: ${name} (skipped: missing ${missing.join(", ")}; apt-get install ${
        DAEMON_PACKAGES.join(" ")
      })`,
      ignore: true,
      fn,
    });
    return;
  }
  labTest(name, fn);
}

async function probe(
  lab: Lab,
  address: string,
  ports: readonly number[],
): Promise<{ ms: number; ports: PortResult[] }> {
  const result = await lab.run([
    Deno.execPath(),
    "run",
    "--quiet",
    "--no-lock",
    "--allow-net",
    PROBE,
    address,
    ports.join(","),
  ], { timeout: 120_000, env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } });
  assert.equal(result.code, 0, `service_probe.ts failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

serviceLabTest("-sV identifies every daemon and greeter of the lab", async (t) => {
  const lab = await startLab({ name: "ptlsv", services: true });
  try {
    assert.deepEqual(lab.services?.missing, [], "every daemon started");
    for (const port of SERVICE_PORTS) assert.ok(lab.open.includes(port), `${port} is open`);
    const { ports } = await probe(lab, lab.target4, SERVICE_PORTS);
    const byPort = new Map(ports.map((port) => [port.port, port.service]));

    for (const service of LAB_SERVICES) {
      const expect = service.expect;
      if (expect === undefined) continue;
      await t.step(
        `${service.port}: ${service.program} is ${expect.name} ${expect.product}`,
        () => {
          const found = byPort.get(service.port);
          assert.equal(found?.name, expect.name);
          assert.equal(found?.product, expect.product);
          assert.equal(found?.tunnel, expect.tunnel);
          assert.equal(found?.method, "probed");
        },
      );
    }

    await t.step("real daemons report their versions", () => {
      assert.match(String(byPort.get(22)?.version), /^\d+\.\d+p\d+ Debian \S+$/, "OpenSSH");
      assert.match(String(byPort.get(21)?.version), /^\d+\.\d+\.\d+$/, "vsftpd");
      assert.match(String(byPort.get(80)?.version), /^\d+\.\d+\.\d+$/, "nginx");
      assert.match(String(byPort.get(53)?.version), /^\d+\.\d+/, "dnsmasq via version.bind");
      assert.match(String(byPort.get(6379)?.version), /^\d+\.\d+\.\d+$/, "redis");
      assert.match(String(byPort.get(11211)?.version), /^\d+\.\d+\.\d+$/, "memcached");
      assert.deepEqual(byPort.get(80)?.http, {
        status: 200,
        server: `nginx/${byPort.get(80)?.version}`,
        title: "Portolan lab",
      });
    });

    await t.step("what the answers carry beyond the product, as nmap reports it", () => {
      // The customised greeting names nothing; HELP and FEAT before login do.
      assert.equal(byPort.get(2121)?.version, "2.0.8 or later");
      assert.doesNotMatch(String(byPort.get(2121)?.banner), /vsftpd/i);
      assert.match(String(byPort.get(11211)?.extraInfo), /^uptime \d+ seconds$/, "memcached stats");
      assert.equal(byPort.get(2222)?.ostype, "Linux", "Dropbear");
      assert.equal(byPort.get(21)?.ostype, "Unix", "vsftpd");
    });

    await t.step("443: the lab's certificate, then nginx inside", () => {
      const tls = byPort.get(443)?.tls;
      assert.ok(tls !== undefined, "TLS details");
      assert.equal(tls.subject, "CN=lab.example, O=Portolan Lab");
      assert.deepEqual(tls.sans, ["DNS:lab.example", "DNS:www.lab.example", `IP:${lab.target4}`]);
      assert.match(tls.sha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      assert.match(tls.version, /^TLSv1\.[23]$/);
      assert.equal(byPort.get(443)?.http?.title, "Portolan lab");
      assert.equal(byPort.get(443)?.certificate?.notAfter, tls.notAfter);
    });

    await t.step("tarpit, silent, hostile, reset, slow drip: named by nothing they sent", () => {
      assert.equal(byPort.get(7000), undefined, "tarpit");
      assert.equal(byPort.get(7001), undefined, "silent");
      assert.equal(byPort.get(7002)?.name, undefined, "hostile");
      assert.equal((byPort.get(7002)?.banner as string).length, 2048);
      assert.equal(byPort.get(7003)?.name, "tcpwrapped", "reset at once");
      assert.equal(byPort.get(7004)?.name, undefined, "slow drip");
    });

    await t.step("the table escapes the hostile banner; JSON stays small", () => {
      const builder = createReportBuilder({
        version: "0.1.0",
        args: ["portolan", "-sV"],
        scaninfo: [{ type: "connect", protocol: "tcp", numServices: ports.length, services: "" }],
        start: new Date(),
      });
      for (const port of ports) builder.addPort(port);
      const report = builder.finish({ probes: ports.length, retries: 0 }, new Date());
      const table = renderTable(report, { color: false, reason: false });
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(table, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
      assert.match(table, /443\/tcp +open +ssl\/http +nginx/);
      const json = toJson(report);
      assert.ok(json.length < 32_768, `JSON is ${json.length} bytes`);
      JSON.parse(json);
    });

    await t.step("IPv6: the greeters listen on both families", async () => {
      const v6 = await probe(lab, lab.target6, [25, 2222]);
      assert.deepEqual(v6.ports.map((port) => port.service?.product), [
        "Exim smtpd",
        "Dropbear sshd",
      ]);
    });
  } finally {
    await lab.stop();
  }
});
