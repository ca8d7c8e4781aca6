/**
 * Test fixtures of the output plugins' tests: a scan built through the real
 * report builder, the events an output would have seen, and a way to run a
 * plugin over them into a string.
 *
 * @module
 */

import type { HostResult, PortResult, ScanReport } from "../src/model/mod.ts";
import { createEventBus, runOutputs } from "../src/output/bus.ts";
import { createReportBuilder } from "../src/output/report_builder.ts";
import type { OutputPlugin, ScanEvent } from "../src/plugin/types.ts";

/** Hostile text a service could send: terminal escapes, NUL, markup, bidi and BOM-like marks. */
export const HOSTILE = "\x1b[31mred\x1b]0;title\x07\0NUL\r\n</title><script>alert(1)</script>" +
  `<img src=x onerror="alert(2)">&amp;\u202eevil\ufffe\ud800'"`;

/** A 100 KB line of hostile text. */
export const HUGE: string = (HOSTILE + "A".repeat(1000)).repeat(100);

/** A scan: its events in order, and the final report. */
export interface Fixture {
  events: ScanEvent[];
  report: ScanReport;
}

/**
 * A small scan of documentation addresses: an up host with open, closed (more
 * than 25, so counted) and filtered (more than 25, so nmap folds them) ports,
 * a host in state unknown, a down host, and an IPv6 host. With `hostile`, the
 * services' banners, names and the hostnames carry {@link HOSTILE} text and a
 * 100 KB banner.
 */
export function sampleScan(options: { hostile?: boolean } = {}): Fixture {
  const hostile = options.hostile ?? false;
  const start = new Date("2025-01-02T03:04:05.000Z");
  const builder = createReportBuilder({
    version: "0.1.0",
    args: [
      "portolan",
      ...(hostile ? ["--comment=--> \x1b[2J <!--", "-iL", HOSTILE] : []),
      "-p",
      "1-100",
      "198.51.100.0/30",
      "2001:db8::5",
    ],
    scaninfo: [{ type: "connect", protocol: "tcp", numServices: 100, services: "1-100" }],
    start,
  }, { includeDown: true });
  const events: ScanEvent[] = [{ type: "start", report: builder.snapshot() }];
  const web = hostile ? `web${HOSTILE}.example` : "web.example";

  const hosts: HostResult[] = [
    { address: "198.51.100.2", hostnames: [web], state: "up", reason: "syn-ack" },
    { address: "198.51.100.3", hostnames: [], state: "down", reason: "no-response" },
    { address: "2001:db8::5", hostnames: [], state: "up", reason: "conn-refused" },
  ];
  for (const host of hosts) {
    builder.addHost(host);
    events.push({ type: "host", host });
  }

  const ports: PortResult[] = [];
  for (let port = 1; port <= 100; port++) {
    const base = { address: "198.51.100.2", protocol: "tcp" as const, port };
    if (port === 22) {
      ports.push({
        ...base,
        state: "open",
        reason: "syn-ack",
        rtt: 0.25,
        reasonTtl: 64,
        service: {
          name: "ssh",
          product: hostile ? `=cmd|' /C calc'!A0${HOSTILE}` : "OpenSSH",
          version: "9.2p1",
          extraInfo: "protocol 2.0",
          cpe: ["cpe:/a:openbsd:openssh:9.2p1"],
          banner: hostile ? HUGE : "SSH-2.0-OpenSSH_9.2p1",
        },
      });
    } else if (port === 80) {
      ports.push({
        ...base,
        state: "open",
        reason: "syn-ack",
        service: { name: hostile ? `http${HOSTILE}` : "http", product: "nginx", version: "1.22.1" },
      });
    } else if (port === 43) {
      ports.push({
        ...base,
        state: "open",
        reason: "syn-ack",
        service: {
          name: "https",
          product: "nginx",
          tls: {
            subject: hostile ? `CN=${HOSTILE}` : "CN=web.example",
            issuer: "CN=Example CA",
            sans: ["web.example", hostile ? HOSTILE : "www.example"],
            notBefore: "2024-01-20T00:00:00.000Z",
            notAfter: "2025-01-20T00:00:00.000Z",
            sha256: "",
            alpn: "",
            version: "TLSv1.3",
          },
        },
      });
    } else if (port === 99) {
      ports.push({ ...base, state: "open", reason: "syn-ack" });
    } else if (port > 60) {
      ports.push({ ...base, state: "filtered", reason: "no-response" });
    } else {
      ports.push({ ...base, state: "closed", reason: "conn-refused" });
    }
  }
  for (const port of [1, 2, 3]) {
    ports.push({
      address: "198.51.100.1",
      protocol: "tcp",
      port,
      state: "filtered",
      reason: port === 3 ? "admin-prohibited" : "no-response",
    });
  }
  ports.push({
    address: "2001:db8::5",
    protocol: "tcp",
    port: 8080,
    state: "open",
    reason: "syn-ack",
    service: { name: "http-proxy" },
  });
  for (const result of ports) {
    builder.addPort(result);
    events.push({ type: "port", result });
  }
  const report = builder.finish(
    { probes: 204, retries: 3, hostsTotal: 5, hostsDown: 1 },
    new Date(start.getTime() + 2500),
  );
  events.push({ type: "end", report, interrupted: false });
  return { events, report };
}

/** Run `plugin` over `events` through the real event bus; resolves to what it wrote. */
export async function runPlugin(
  plugin: OutputPlugin,
  events: readonly ScanEvent[],
): Promise<string> {
  const chunks: string[] = [];
  const bus = createEventBus();
  const done = runOutputs([{
    plugin,
    writer: { color: false, write: (text) => Promise.resolve(void chunks.push(text)) },
  }], bus);
  for (const event of events) bus.emit(event);
  bus.close();
  const errors = await done;
  if (errors.length > 0) throw errors[0];
  return chunks.join("");
}

/** Whether the text holds a raw C0 control other than LF (and CR and tab where allowed). */
export function rawControls(text: string, allowed = "\n"): string[] {
  const found = new Set<string>();
  for (const char of text) {
    const code = char.charCodeAt(0);
    if ((code < 0x20 || (code >= 0x7f && code <= 0x9f)) && !allowed.includes(char)) {
      found.add(`\\x${code.toString(16).padStart(2, "0")}`);
    }
  }
  return [...found];
}

/** Run an external program; undefined when it is not installed. */
export async function runTool(
  command: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string } | undefined> {
  try {
    const output = await new Deno.Command(command, {
      args: [...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Whether tests that need a tool must run: under CI=true they never skip. */
export function mustRun(): boolean {
  try {
    return Deno.env.get("CI") === "true";
  } catch {
    return false;
  }
}

/** Whether a file exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
