import assert from "node:assert/strict";
import { openLibc } from "../libc.ts";
import type { Answer } from "../transport.ts";
import type { Host } from "../../targets/types.ts";
import { createParallelTransport } from "./parallel.ts";
import { createConnectEngine } from "./engine.ts";
import type { PortResult } from "../../model/mod.ts";
import type { ScanPlan } from "../types.ts";
import { createTargetSet } from "../../targets/mod.ts";
import { timingTemplate } from "../timing.ts";

const LOOPBACK: Host = { family: 4, value: 0x7f000001n, address: "127.0.0.1" };

/**
 * Ports nothing listens on, below the ephemeral range (32768–60999), so none
 * is the source port of one of the scan's own sockets.
 */
function closedPorts(count: number, taken: readonly number[]): number[] {
  const ports: number[] = [];
  for (let port = 20_000; ports.length < count && port < 32_768; port++) {
    if (taken.includes(port)) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      ports.push(port);
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    }
  }
  return ports;
}

Deno.test("parallel connect transport: both threads carry tries, every try answered once", {
  ignore: openLibc() === undefined,
}, async () => {
  const libc = openLibc()!;
  const listeners = Array.from(
    { length: 4 },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const open = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  const ports = [...open, ...closedPorts(1500, open)];
  // Loopback is this machine: tries to it stay on one thread unless told otherwise.
  const transport = createParallelTransport(libc, { ports, keepLocal: false });
  const answers = new Map<number, Answer>();
  try {
    // The worker needs a moment (and the event loop) to start; tries before that stay here.
    const deadline = performance.now() + 10_000;
    while (!transport.started() && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(transport.started(), "the worker did not start");
    let unit = 0;
    while (answers.size < ports.length && performance.now() < deadline) {
      for (let i = 0; i < 64 && unit < ports.length; i++, unit++) {
        transport.send({ slot: unit, hostIndex: 7n, host: LOOPBACK, unit, attempt: 0 });
      }
      assert.deepEqual(transport.flush(), []);
      for (const answer of transport.receive()) {
        assert.equal(answers.has(answer.unit), false, `unit ${answer.unit} answered twice`);
        assert.equal(answer.hostIndex, 7n);
        answers.set(answer.unit, answer);
        transport.release?.(answer.unit);
      }
      await transport.wait(unit < ports.length ? 0 : 5);
    }
    assert.equal(answers.size, ports.length);
    for (const [unit, answer] of answers) {
      const expected = unit < open.length ? "open" : "closed";
      assert.equal(answer.verdict?.state, expected, `port ${ports[unit]}`);
    }
    const shares = transport.shares();
    assert.equal(shares.local + shares.worker, ports.length);
    assert.ok(shares.worker > 0, `the worker carried no try (${JSON.stringify(shares)})`);
    assert.ok(transport.caughtUp!() <= transport.now());
  } finally {
    transport.close();
    libc.close();
    for (const listener of listeners) listener.close();
  }
});

Deno.test("connect engine on two threads agrees with one thread", {
  ignore: openLibc() === undefined,
}, async () => {
  const listeners = Array.from(
    { length: 3 },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const open = new Set(listeners.map((l) => (l.addr as Deno.NetAddr).port));
  const ports = [...open, ...closedPorts(800, [...open])].sort((a, b) => a - b);
  try {
    for (const threads of [1, 2] as const) {
      const plan: ScanPlan = {
        targets: createTargetSet([{ family: 4, start: 0x7f000001n, end: 0x7f000001n }]),
        protocol: "tcp",
        ports,
        timing: timingTemplate(4),
        seed: 1n,
        sequential: false,
      };
      const results: PortResult[] = [];
      await createConnectEngine({ transport: "epoll", threads }).run(plan, {
        result: (_index, _host, result) => results.push(result),
      }, {});
      assert.equal(results.length, ports.length, `${threads} thread(s)`);
      for (const result of results) {
        assert.equal(
          result.state,
          open.has(result.port) ? "open" : "closed",
          `port ${result.port}`,
        );
      }
    }
  } finally {
    for (const listener of listeners) listener.close();
  }
});
