import assert from "node:assert/strict";
import { formatPortRanges } from "./parse.ts";
import {
  DEFAULT_PORT_COUNT,
  FAST_SCAN_PORT_COUNT,
  topPorts,
  topPortsAvailable,
} from "./top_ports.ts";
import type { Protocol } from "../model/mod.ts";

const PROTOCOLS: readonly Protocol[] = ["tcp", "udp"];

function nmapPath(): string | undefined {
  try {
    return Deno.statSync("/usr/bin/nmap").isFile ? "/usr/bin/nmap" : undefined;
  } catch {
    return undefined;
  }
}

function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

const NMAP = nmapPath();

/**
 * The `services=` list nmap puts in its XML scaninfo for `--top-ports count`.
 * Every target is excluded, so nmap prints the plan and sends nothing.
 */
async function nmapTopPorts(count: number, protocol: Protocol): Promise<string> {
  const args = ["-oX", "-", protocol === "tcp" ? "-sT" : "-sU", "-Pn", "-n"];
  args.push("--top-ports", String(count), "--exclude", "127.0.0.1", "127.0.0.1");
  const { stdout } = await new Deno.Command(NMAP!, { args, stderr: "piped" }).output();
  const text = new TextDecoder().decode(stdout);
  const match = /<scaninfo [^>]*\sservices="([^"]*)"/.exec(text);
  assert.ok(match, `nmap printed no scaninfo for --top-ports ${count} (${protocol}): ${text}`);
  return match[1]!;
}

Deno.test("topPorts() returns count unique ports, sorted ascending", () => {
  for (const protocol of PROTOCOLS) {
    for (const count of [1, 10, FAST_SCAN_PORT_COUNT, DEFAULT_PORT_COUNT, 1234]) {
      const ports = topPorts(count, protocol);
      assert.equal(ports.length, count);
      assert.equal(new Set(ports).size, count);
      for (let i = 1; i < ports.length; i++) assert.ok(ports[i - 1]! < ports[i]!);
      for (const port of ports) assert.ok(Number.isInteger(port) && port >= 0 && port <= 65535);
    }
  }
});

Deno.test("topPorts() ranks well-known ports first", () => {
  const tcp = topPorts(10, "tcp");
  for (const port of [22, 80, 443]) assert.ok(tcp.includes(port), `${port} in ${tcp}`);
  assert.ok(topPorts(10, "udp").includes(53));
  assert.deepEqual(topPorts(1, "tcp"), [80]);
});

Deno.test("topPorts() grows by prefix: a smaller set is inside a larger one", () => {
  for (const protocol of PROTOCOLS) {
    const large = new Set(topPorts(DEFAULT_PORT_COUNT, protocol));
    for (const port of topPorts(FAST_SCAN_PORT_COUNT, protocol)) assert.ok(large.has(port));
  }
});

Deno.test("topPorts() clamps counts beyond the ranking", () => {
  for (const protocol of PROTOCOLS) {
    const available = topPortsAvailable(protocol);
    assert.ok(available >= 1000);
    assert.deepEqual(topPorts(available + 1, protocol), topPorts(available, protocol));
    assert.equal(topPorts(1_000_000, protocol).length, available);
  }
});

Deno.test("topPorts() rejects counts that are not positive integers", () => {
  for (const bad of [0, -5, 1.5, NaN, Infinity, -Infinity]) {
    assert.throws(() => topPorts(bad, "tcp"), {
      name: "RangeError",
      message: `Cannot use --top-ports ${bad}: value must be a positive integer`,
    });
  }
  assert.throws(() => topPorts(-5, "udp"), {
    message: "Cannot use --top-ports -5: value must be a positive integer",
  });
});

Deno.test({
  name: "topPorts() matches nmap --top-ports for tcp (needs /usr/bin/nmap)",
  ignore: NMAP === undefined,
  async fn(): Promise<void> {
    for (const count of [1, 10, 100, 1000, 2500, topPortsAvailable("tcp")]) {
      assert.equal(
        formatPortRanges(topPorts(count, "tcp")),
        await nmapTopPorts(count, "tcp"),
        `${count}`,
      );
    }
  },
});

Deno.test({
  name: "topPorts() matches nmap --top-ports for udp (needs /usr/bin/nmap and root for -sU)",
  ignore: NMAP === undefined || !isRoot(),
  async fn(): Promise<void> {
    for (const count of [1, 10, 100, 1000, topPortsAvailable("udp")]) {
      assert.equal(
        formatPortRanges(topPorts(count, "udp")),
        await nmapTopPorts(count, "udp"),
        `${count}`,
      );
    }
  },
});
