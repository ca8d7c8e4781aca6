/**
 * The detection engine against the hand-written greeters and small TLS
 * servers on 127.0.0.1.
 */

import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import type { PortResult } from "../src/model/mod.ts";
import type { ProbePlugin, ServiceMatch } from "../src/plugin/probe_types.ts";
import { createReportBuilder } from "../src/output/report_builder.ts";
import { renderTable } from "../src/output/table.ts";
import { probePlugins } from "../plugins/mod.ts";

/** The built-in probes, made (what -sV runs). */
function builtinProbes(): ProbePlugin[] {
  return probePlugins.map((make) => make());
}
import { toJson } from "../plugins/output_json.ts";
import { toHtml } from "../plugins/output_html.ts";
import { createServiceDetector, detectServices } from "../src/service/mod.ts";
import {
  GREETER_EXPECTED,
  GREETER_KINDS,
  type GreeterKind,
  HOSTILE_LONG_BYTES,
  startGreeters,
} from "./lab/greeters.ts";

/** Short waits: the greeters answer at once, and the silent ones should cost little. */
const FAST = { greetingMs: 300, probeWaitMs: 600, portMs: 4000 };
/** Liveness only: a detection that is bounded ends long before this. */
const WATCHDOG_MS = 30_000;

function open(port: number, address = "127.0.0.1"): PortResult {
  return { address, protocol: "tcp", port, state: "open", reason: "syn-ack" };
}

async function withinWatchdog<T>(work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("detection did not end")), WATCHDOG_MS);
  });
  try {
    return await Promise.race([work, watchdog]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("each greeter is identified; the hostile ones are not, and end", async () => {
  const greeters = await startGreeters(Object.fromEntries(GREETER_KINDS.map((kind) => [kind, 0])));
  try {
    const kinds = Object.keys(greeters.ports) as GreeterKind[];
    const results = await withinWatchdog(
      detectServices(kinds.map((kind) => open(greeters.ports[kind] as number)), {
        plugins: builtinProbes(),
        timings: FAST,
      }),
    );
    const byKind = new Map(kinds.map((kind, i) => [kind, results[i]?.service]));
    for (const [kind, expected] of Object.entries(GREETER_EXPECTED)) {
      const service = byKind.get(kind as GreeterKind);
      assert.equal(service?.name, expected.name, kind);
      assert.equal(service?.product, expected.product, kind);
      if (expected.version) assert.equal(service?.version, expected.version, kind);
      assert.equal(service?.method, "probed", kind);
    }
    assert.deepEqual(byKind.get("reset"), { name: "tcpwrapped", method: "probed" });
    assert.equal(byKind.get("tarpit"), undefined);
    assert.equal(byKind.get("silent"), undefined);
    const hostile = byKind.get("hostile");
    assert.equal(hostile?.name, undefined);
    assert.ok(typeof hostile?.banner === "string" && hostile.banner.startsWith("\x1b[2J"));
    assert.equal((hostile?.banner as string).length, 2048, "banner capped");
    assert.ok((byKind.get("slowdrip")?.banner as string).startsWith("2"));
    // A binary greeting is not kept once identified; a text one is.
    assert.equal(byKind.get("mysql")?.banner, undefined);
    assert.equal(byKind.get("smtp")?.banner?.toString().slice(0, 4), "220 ");
  } finally {
    await greeters.close();
  }
});

Deno.test("a hostile banner beside a tarpit: escaped table, small valid JSON, escaped HTML", async () => {
  const greeters = await startGreeters({ hostile: 0, tarpit: 0, ssh: 0 });
  try {
    const ports = [greeters.ports.hostile, greeters.ports.tarpit, greeters.ports.ssh]
      .map((port) => open(port as number));
    const results = await withinWatchdog(
      detectServices(ports, { plugins: builtinProbes(), timings: FAST }),
    );
    const builder = createReportBuilder({
      version: "0.1.0",
      args: ["portolan", "-sV"],
      scaninfo: [{ type: "connect", protocol: "tcp", numServices: 3, services: "" }],
      start: new Date("2026-01-01T00:00:00Z"),
    });
    for (const result of results) builder.addPort(result);
    const report = builder.finish({ probes: 3, retries: 0 }, new Date("2026-01-01T00:00:10Z"));

    const table = renderTable(report, { color: false, reason: false });
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(table, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, "no raw control byte");
    assert.match(table, /Dropbear sshd 2022\.83/);

    const json = toJson(report);
    const parsed = JSON.parse(json);
    assert.ok(json.length < HOSTILE_LONG_BYTES / 10, `JSON is ${json.length} bytes`);
    const banner = parsed.hosts[0].ports.find((port: { service: { banner?: string } }) =>
      port.service.banner !== undefined && port.service.banner.includes("alert(1)")
    )?.service.banner;
    assert.ok(banner.includes("\x00"), "stored as-is, encoded by JSON");

    const html = await toHtml(report);
    assert.ok(!html.includes("<script>alert(1)"), "markup escaped");
    assert.ok(html.includes("&lt;script&gt;alert(1)") || html.includes("&lt;/title&gt;"));
  } finally {
    await greeters.close();
  }
});

Deno.test("tarpit, silent port and slow drip cost bounded time, even with a plugin that hangs", async () => {
  const greeters = await startGreeters({ tarpit: 0, silent: 0, slowdrip: 0 });
  const hang: ProbePlugin = {
    name: "hang",
    description: "never answers and ignores the abort",
    protocols: ["tcp"],
    ports: [],
    rarity: 1,
    passive: false,
    probe: () => new Promise(() => {}),
  };
  try {
    const ports = Object.values(greeters.ports).map((port) => open(port as number));
    const results = await withinWatchdog(
      detectServices(ports, {
        plugins: [...probePlugins.map((make) => make()), hang],
        timings: { greetingMs: 200, probeWaitMs: 300, portMs: 1500 },
        intensity: 9,
      }),
    );
    assert.equal(results.length, 3);
    for (const result of results) assert.equal(result.service?.name, undefined);
  } finally {
    await greeters.close();
  }
});

Deno.test("aborting the scan ends detections in progress", async () => {
  const greeters = await startGreeters({ tarpit: 0 });
  try {
    const controller = new AbortController();
    const detector = createServiceDetector(probePlugins.map((make) => make()), {
      signal: controller.signal,
      timings: { greetingMs: 60_000, probeWaitMs: 60_000, portMs: 120_000 },
    });
    const pending = detector.detect(open(greeters.ports.tarpit as number));
    setTimeout(() => controller.abort(), 100);
    const result = await withinWatchdog(pending);
    assert.equal(result.service, undefined);
    // Once aborted, nothing more is probed.
    assert.equal((await detector.detect(open(greeters.ports.tarpit as number))).service, undefined);
  } finally {
    await greeters.close();
  }
});

Deno.test("a plugin that throws or returns garbage costs nothing; the right one still wins", async () => {
  const greeters = await startGreeters({ ssh: 0, pop3: 0 });
  const bad = (name: string, probe: ProbePlugin["probe"], passive: boolean): ProbePlugin => ({
    name,
    description: name,
    protocols: ["tcp"],
    ports: [],
    rarity: 1,
    passive,
    probe,
  });
  const plugins = [
    bad("throws", () => Promise.reject(new Error("boom")), true),
    bad("throws-sync", () => {
      throw new Error("sync boom");
    }, true),
    bad("garbage", () => Promise.resolve({ name: 42 } as unknown as undefined), true),
    ...probePlugins.map((make) => make()),
  ];
  try {
    const results = await withinWatchdog(
      detectServices([open(greeters.ports.ssh as number), open(greeters.ports.pop3 as number)], {
        plugins,
        timings: FAST,
      }),
    );
    assert.equal(results[0]?.service?.product, "Dropbear sshd");
    assert.equal(results[1]?.service?.product, "Dovecot pop3d");
  } finally {
    await greeters.close();
  }
});

function counting(name: string, ports: number[], rarity: number, seen: number[]): ProbePlugin {
  return {
    name,
    description: name,
    protocols: ["tcp"],
    ports,
    rarity,
    passive: false,
    async probe(conn): Promise<undefined> {
      seen.push(conn.port);
      await conn.read({ timeoutMs: 50 });
      return undefined;
    },
  };
}

Deno.test("intensity: rare plugins only at high intensity, likely ones always", async () => {
  const greeters = await startGreeters({ silent: 0 });
  const port = greeters.ports.silent as number;
  try {
    for (
      const [intensity, rarity, ports, expected] of [
        [7, 8, [], 0],
        [9, 8, [], 1],
        [0, 1, [], 0],
        [0, 9, [port], 1],
      ] as const
    ) {
      const seen: number[] = [];
      await detectServices([open(port)], {
        plugins: [counting("rare", [...ports], rarity, seen)],
        intensity,
        timings: { greetingMs: 100, probeWaitMs: 200, portMs: 1000 },
      });
      assert.equal(seen.length, expected, `intensity ${intensity}, rarity ${rarity}`);
    }
  } finally {
    await greeters.close();
  }
});

Deno.test("connections are bounded across ports", async () => {
  const greeters = await startGreeters({ silent: 0 });
  let now = 0;
  let peak = 0;
  const plugin: ProbePlugin = {
    name: "hold",
    description: "holds its connection a moment",
    protocols: ["tcp"],
    ports: [greeters.ports.silent as number],
    rarity: 1,
    passive: false,
    async probe(conn): Promise<undefined> {
      now++;
      peak = Math.max(peak, now);
      await conn.read({ timeoutMs: 100 });
      now--;
      return undefined;
    },
  };
  try {
    const ports = Array.from({ length: 6 }, () => open(greeters.ports.silent as number));
    await withinWatchdog(
      detectServices(ports, {
        plugins: [plugin],
        maxConnections: 2,
        timings: { greetingMs: 50, probeWaitMs: 300, portMs: 20_000 },
      }),
    );
    // Six ports at once would put six probes in flight without the bound.
    assert.ok(peak >= 1 && peak <= 2, `peak ${peak}`);
  } finally {
    await greeters.close();
  }
});

Deno.test("ports that are not open TCP ports are left alone", async () => {
  const detector = createServiceDetector(probePlugins.map((make) => make()));
  const closed: PortResult = { ...open(1), state: "closed", reason: "conn-refused" };
  const udp: PortResult = {
    ...open(161),
    protocol: "udp",
    state: "closed",
    reason: "port-unreach",
  };
  assert.equal(await detector.detect(closed), closed);
  assert.equal(await detector.detect(udp), udp);
});

// --- TLS ---------------------------------------------------------------------------------

async function makeCertificate(): Promise<{ key: string; cert: string; sha256: string } | string> {
  const dir = await Deno.makeTempDir({ prefix: "portolan-tls-" });
  try {
    const run = async (args: string[]): Promise<string> => {
      const output = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" })
        .output();
      if (output.code !== 0) throw new Error(new TextDecoder().decode(output.stderr));
      return new TextDecoder().decode(output.stdout);
    };
    await run([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "30",
      "-subj",
      "/CN=tls.lab.example/O=Portolan Test",
      "-addext",
      "subjectAltName=DNS:tls.lab.example,IP:127.0.0.1",
    ]);
    const fingerprint = await run([
      "x509",
      "-in",
      `${dir}/cert.pem`,
      "-noout",
      "-fingerprint",
      "-sha256",
    ]);
    return {
      key: await Deno.readTextFile(`${dir}/key.pem`),
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      sha256: fingerprint.trim().split("=")[1] as string,
    };
  } catch (error) {
    return `openssl unavailable: ${(error as Error).message.split("\n")[0]}`;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const certificate = await makeCertificate();

async function tlsServer(
  onSocket: (socket: tls.TLSSocket) => void,
): Promise<{ port: number; close(): Promise<void> }> {
  if (typeof certificate === "string") throw new Error(certificate);
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer(
    { key: certificate.key, cert: certificate.cert, ALPNProtocols: ["http/1.1"] },
    (socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
      onSocket(socket);
    },
  );
  // Clear-text probes make the handshake fail; that is expected.
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async (): Promise<void> => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function tlsTest(name: string, fn: () => Promise<void>): void {
  const ignore = typeof certificate === "string" && Deno.env.get("CI") !== "true";
  Deno.test({
    name: ignore ? `${name} (skipped: ${certificate})` : name,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

tlsTest("https: certificate, ALPN, version, then HTTP inside", async () => {
  const server = await tlsServer((socket) => {
    socket.once("data", () => {
      socket.end(
        "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nConnection: close\r\n\r\n<title>Inside</title>",
      );
    });
  });
  try {
    const [result] = await withinWatchdog(
      detectServices([open(server.port)], { plugins: builtinProbes(), timings: FAST }),
    );
    const service = result?.service;
    assert.equal(service?.name, "http");
    assert.equal(service?.product, "nginx");
    assert.equal(service?.tunnel, "ssl");
    assert.deepEqual(service?.http, { status: 200, server: "nginx/1.22.1", title: "Inside" });
    const details = service?.tls;
    assert.ok(details !== undefined, "TLS details");
    assert.equal(details.subject, "CN=tls.lab.example, O=Portolan Test");
    assert.equal(details.issuer, "CN=tls.lab.example, O=Portolan Test");
    assert.deepEqual(details.sans, ["DNS:tls.lab.example", "IP:127.0.0.1"]);
    assert.equal(details.sha256, (certificate as { sha256: string }).sha256);
    assert.equal(details.alpn, "http/1.1");
    assert.match(details.version, /^TLSv1\.[23]$/);
    const days = (Date.parse(details.notAfter) - Date.parse(details.notBefore)) / 86_400_000;
    assert.equal(Math.round(days), 30);
    assert.deepEqual(service?.certificate, {
      fingerprint: details.sha256,
      subject: details.subject,
      notAfter: details.notAfter,
    });
  } finally {
    await server.close();
  }
});

tlsTest("imaps: a greeting inside TLS on an unusual port", async () => {
  const server = await tlsServer((socket) => {
    socket.write("* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n");
    socket.on("data", () => {});
  });
  try {
    const [result] = await withinWatchdog(
      detectServices([open(server.port)], { plugins: builtinProbes(), timings: FAST }),
    );
    assert.equal(result?.service?.name, "imap");
    assert.equal(result?.service?.product, "Dovecot imapd");
    assert.equal(result?.service?.tunnel, "ssl");
    assert.equal(result?.service?.banner, "* OK [CAPABILITY IMAP4rev1] Dovecot ready.");
  } finally {
    await server.close();
  }
});

tlsTest("TLS with nothing recognisable inside is ssl/unknown, with its certificate", async () => {
  const server = await tlsServer((socket) => socket.on("data", () => {}));
  try {
    const [result] = await withinWatchdog(
      detectServices([open(server.port)], { plugins: builtinProbes(), timings: FAST }),
    );
    assert.equal(result?.service?.name, "unknown");
    assert.equal(result?.service?.tunnel, "ssl");
    assert.equal(
      (result?.service?.certificate as { subject: string }).subject,
      "CN=tls.lab.example, O=Portolan Test",
    );
  } finally {
    await server.close();
  }
});

Deno.test("a custom probe plugin (the probe_types.ts example) is used by the engine", async () => {
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.on("data", (data: Uint8Array) => {
      if (new TextDecoder().decode(data).startsWith("HELLO")) socket.end("HI 1.2.3\r\n");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  const hello: ProbePlugin = {
    name: "hello",
    description: "HELLO protocol",
    protocols: ["tcp"],
    ports: [port],
    rarity: 8,
    passive: false,
    async probe(conn): Promise<ServiceMatch | undefined> {
      await conn.write("HELLO\r\n");
      const answer = await conn.readText({ until: "\n" });
      const found = /^HI (\d[\w.]*)\r?\n/.exec(answer);
      if (found === null) return undefined;
      return { name: "hello", product: "Hello server", version: found[1] as string };
    },
  };
  try {
    const [result] = await detectServices([open(port)], {
      plugins: [hello],
      timings: FAST,
      intensity: 0,
    });
    assert.deepEqual(result?.service, {
      name: "hello",
      product: "Hello server",
      version: "1.2.3",
      method: "probed",
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

// --- UDP ---------------------------------------------------------------------------------

const SNMP_ANSWER =
  "30 44 02 01 00 04 06 70 75 62 6c 69 63 a2 37 02 04 50 54 4c 31 02 01 00 02 01 " +
  "00 30 29 30 27 06 08 2b 06 01 02 01 01 01 00 04 1b 4c 69 6e 75 78 20 6c 61 62 20 36 2e 31 20 " +
  "70 6f 72 74 6f 6c 61 6e 20 74 65 73 74";

Deno.test("udp: an SNMP agent's answer names it and proves the port open", async () => {
  const { createSocket } = await import("node:dgram");
  const agent = createSocket("udp4");
  const answer = new Uint8Array(SNMP_ANSWER.split(" ").map((hex) => parseInt(hex, 16)));
  const asked: number[] = [];
  agent.on("message", (message: Uint8Array, from: { port: number; address: string }) => {
    asked.push(message.length);
    // Only our GetRequest (community "public") gets the answer.
    if (new TextDecoder().decode(message).includes("public")) {
      agent.send(answer, from.port, from.address);
    }
  });
  await new Promise<void>((resolve) => agent.bind(0, "127.0.0.1", () => resolve()));
  try {
    const port = agent.address().port;
    const [result] = await withinWatchdog(detectServices([{
      address: "127.0.0.1",
      protocol: "udp",
      port,
      state: "open|filtered",
      reason: "no-response",
    }], { plugins: builtinProbes(), timings: FAST }));
    assert.equal(result?.state, "open");
    assert.equal(result?.reason, "udp-response");
    assert.deepEqual(result?.service, {
      name: "snmp",
      product: "SNMPv1 server",
      extraInfo: "community public; sysDescr: Linux lab 6.1 portolan test",
      ostype: "Linux",
      method: "probed",
    });
    assert.ok(asked.length >= 1);
  } finally {
    await new Promise<void>((resolve) => agent.close(() => resolve()));
  }
});

Deno.test("udp: silence leaves the port open|filtered, without a service", async () => {
  const { createSocket } = await import("node:dgram");
  const sink = createSocket("udp4");
  sink.on("message", () => {});
  await new Promise<void>((resolve) => sink.bind(0, "127.0.0.1", () => resolve()));
  try {
    const silent: PortResult = {
      address: "127.0.0.1",
      protocol: "udp",
      port: sink.address().port,
      state: "open|filtered",
      reason: "no-response",
    };
    const [result] = await withinWatchdog(
      detectServices([silent], { plugins: builtinProbes(), timings: FAST }),
    );
    assert.deepEqual(result, silent);
  } finally {
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  }
});

const SNMPD = "/usr/sbin/snmpd";
let haveSnmpd = false;
try {
  haveSnmpd = Deno.statSync(SNMPD).isFile;
} catch {
  // Not installed.
}

Deno.test({
  name: haveSnmpd
    ? "udp: Debian's snmpd on 127.0.0.1 is SNMP with its sysDescr"
    : `udp: Debian's snmpd (skipped: ${SNMPD} missing; apt-get install snmpd)`,
  ignore: !haveSnmpd && Deno.env.get("CI") !== "true",
  sanitizeResources: false,
  async fn(): Promise<void> {
    const dir = await Deno.makeTempDir({ prefix: "portolan-snmpd-" });
    const { createSocket } = await import("node:dgram");
    // A free UDP port: bind, note, release.
    const probe = createSocket("udp4");
    await new Promise<void>((resolve) => probe.bind(0, "127.0.0.1", () => resolve()));
    const port = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await Deno.writeTextFile(
      `${dir}/snmpd.conf`,
      "rocommunity public 127.0.0.1\nsysDescr Linux portolan snmpd test\n",
    );
    const daemon = new Deno.Command(SNMPD, {
      args: [
        "-f",
        "-Lo",
        "-C",
        "-c",
        `${dir}/snmpd.conf`,
        "-p",
        `${dir}/pid`,
        `udp:127.0.0.1:${port}`,
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      let result: PortResult | undefined;
      // snmpd binds within a moment of starting; ask a few times.
      for (let attempt = 0; attempt < 20 && result?.service === undefined; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        [result] = await detectServices([{
          address: "127.0.0.1",
          protocol: "udp",
          port,
          state: "open|filtered",
          reason: "no-response",
        }], { plugins: builtinProbes(), timings: FAST });
      }
      assert.equal(result?.service?.name, "snmp");
      assert.equal(
        result?.service?.extraInfo,
        "community public; sysDescr: Linux portolan snmpd test",
      );
    } finally {
      daemon.kill("SIGKILL");
      await daemon.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
