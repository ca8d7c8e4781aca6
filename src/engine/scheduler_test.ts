import assert from "node:assert/strict";
import { createTargetSet } from "../targets/mod.ts";
import type { Host } from "../targets/types.ts";
import {
  attemptsFor,
  lossRetries,
  runScan,
  SILENCE_PROOF_MS,
  SYN_MIN_TIMEOUT_MS,
  timeoutFloor,
} from "./scheduler.ts";
import { ReplyKind } from "./raw/types.ts";
import { timingTemplate } from "./timing.ts";
import type { Answer, Probe, ScanMode, Transport, Verdict } from "./transport.ts";
import type { ResumePoint, ScanPlan } from "./types.ts";
import { UDP_PAYLOAD_PORTS } from "./raw/udp_payloads.ts";

/** What the fake network does with one try: answer after `delay` ms, or drop it. */
type Behaviour = (
  send: { hostIndex: bigint; port: number; attempt: number; at: number },
) => { kind: number; reason: string; delay: number; protocol?: number } | undefined;

interface FakeNetwork {
  /** Virtual milliseconds: `wait` advances them, so no test depends on real time. */
  clock: number;
  /** The receiver reads this far behind the clock. */
  lag: number;
  /** Whether the I/O reports how far the receiver has read. */
  reportsCaughtUp: boolean;
  sent: { hostIndex: bigint; port: number; attempt: number; at: number }[];
}

/** The verdict a fake reply gives, as the raw engine reads replies. */
function verdictFor(kind: number, reason: string): Verdict | undefined {
  if (kind === ReplyKind.SynAck) return { state: "open", reason: "syn-ack" };
  if (kind === ReplyKind.Reset) return { state: "closed", reason: "reset" };
  if (kind === ReplyKind.Udp) return { state: "open", reason: "udp-response" };
  if (kind === ReplyKind.IcmpError && reason === "port-unreach") {
    return { state: "closed", reason: "port-unreach" };
  }
  return undefined;
}

function fakeIo(
  ports: readonly number[],
  behaviour: Behaviour,
  network: FakeNetwork,
  /** The kernel refuses this send (a full queue, no route). */
  refuse?: (send: { hostIndex: bigint; port: number; attempt: number }) => boolean,
): Transport {
  const inFlight: { answer: Answer; kind: number }[] = [];
  const refused: number[] = [];
  let received = 0;
  const io: Transport = {
    send(probe: Probe): void {
      const port = ports[probe.unit]!;
      if (refuse?.({ hostIndex: probe.hostIndex, port, attempt: probe.attempt })) {
        refused.push(probe.slot);
        return;
      }
      network.sent.push({
        hostIndex: probe.hostIndex,
        port,
        attempt: probe.attempt,
        at: network.clock,
      });
      const reply = behaviour({
        hostIndex: probe.hostIndex,
        port,
        attempt: probe.attempt,
        at: network.clock,
      });
      if (reply === undefined) return;
      inFlight.push({
        kind: reply.kind,
        answer: {
          hostIndex: probe.hostIndex,
          unit: probe.unit,
          attempt: probe.attempt,
          at: network.clock + reply.delay,
          ttl: 64,
          verdict: verdictFor(reply.kind, reply.reason),
          timed: reply.kind !== ReplyKind.IcmpError,
          portUnreach: reply.kind === ReplyKind.IcmpError && reply.reason === "port-unreach",
        },
      });
    },
    flush: () => refused.splice(0),
    receive(): Answer[] {
      // The receiver hands over what arrived up to where it has read.
      const readTo = network.clock - network.lag;
      const ready = inFlight.filter((item) => item.answer.at <= readTo);
      for (const item of ready) inFlight.splice(inFlight.indexOf(item), 1);
      received += ready.length;
      return ready.map((item) => item.answer);
    },
    wait(ms: number): Promise<void> {
      network.clock += Math.max(ms, 0.05);
      return Promise.resolve();
    },
    receiverStats: () => ({ packets: received, drops: 0 }),
    now: () => network.clock,
  };
  if (network.reportsCaughtUp) io.caughtUp = () => network.clock - network.lag;
  return io;
}

function synMode(
  ports: readonly number[],
  results: Map<string, Verdict>,
): ScanMode {
  return {
    kind: "syn",
    units: ports.length,
    silent: { state: "filtered", reason: "no-response" },
    emit(_hostIndex: bigint, host: Host, unit: number, verdict: Verdict): void {
      const key = `${host.address} ${ports[unit]}`;
      assert.ok(!results.has(key), `${key} reported twice`);
      results.set(key, verdict);
    },
  };
}

function plan(hosts: number, ports: number[], timing = timingTemplate(4)): ScanPlan {
  return {
    targets: createTargetSet([{
      family: 4,
      start: 0xc6336402n,
      end: BigInt(0xc6336402 + hosts - 1),
    }]),
    protocol: "tcp",
    ports,
    timing,
    seed: 5n,
    sequential: false,
  };
}

const OPEN = new Set([22, 80, 443]);
const DROPPED = new Set([23, 111, 135, 445, 1433]);

/** A host with OPEN answering SYN-ACK, DROPPED silent, the rest RST, after `delay` ms. */
function host(delay: number, loss = 0, random = seeded(1)): Behaviour {
  return ({ port }) => {
    if (DROPPED.has(port)) return undefined;
    // Lost on the way out or on the way back.
    if (random() < loss || random() < loss) return undefined;
    return OPEN.has(port)
      ? { kind: ReplyKind.SynAck, reason: "syn-ack", delay }
      : { kind: ReplyKind.Reset, reason: "reset", delay };
  };
}

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function expectedState(port: number): string {
  return OPEN.has(port) ? "open" : DROPPED.has(port) ? "filtered" : "closed";
}

function network(lag = 0, reportsCaughtUp = true): FakeNetwork {
  return { clock: 1_000_000, lag, reportsCaughtUp, sent: [] };
}

const PORTS = Array.from({ length: 2000 }, (_, i) => i + 1);

function wrong(results: Map<string, Verdict>, ports: number[]): string[] {
  return ports.filter((port) => results.get(`198.51.100.2 ${port}`)?.state !== expectedState(port))
    .map((port) => `${port}: ${results.get(`198.51.100.2 ${port}`)?.state}`);
}

Deno.test("every port gets its state once; silent ones are filtered after one retry", async () => {
  const results = new Map<string, Verdict>();
  const net = network();
  const stats = await runScan(
    plan(1, PORTS),
    {},
    fakeIo(PORTS, host(0.2), net),
    synMode(PORTS, results),
  );
  assert.equal(results.size, PORTS.length);
  assert.deepEqual(wrong(results, PORTS), []);
  assert.equal(results.get("198.51.100.2 23")?.reason, "no-response");
  // A clean link: no answer ever needed a retry, so silent ports get one and no more.
  for (const port of DROPPED) {
    assert.equal(net.sent.filter((s) => s.port === port).length, 2, `port ${port}`);
  }
  assert.equal(stats.retries, DROPPED.size);
});

Deno.test("with random loss on the path, no answering port is called filtered", async () => {
  const results = new Map<string, Verdict>();
  const net = network();
  const stats = await runScan(
    plan(1, PORTS),
    {},
    fakeIo(PORTS, host(20, 0.02, seeded(9)), net),
    synMode(PORTS, results),
  );
  assert.deepEqual(wrong(results, PORTS), []);
  assert.ok(stats.lossRate > 0);
});

Deno.test("a path that stalls mid-scan: held-up answers are waited for, not called filtered", async () => {
  // For 300 ms of the scan the path holds every packet (a stalled relay or
  // router), then lets them all through: far past any RTT-based timeout.
  const stallFrom = 1_000_020;
  const stallTo = 1_000_320;
  const normal = host(0.2);
  const stalled: Behaviour = (send) => {
    const reply = normal(send);
    if (reply === undefined || send.at < stallFrom || send.at >= stallTo) return reply;
    return { ...reply, delay: stallTo - send.at + 0.2 };
  };
  const results = new Map<string, Verdict>();
  const net = network();
  await runScan(
    plan(1, PORTS, { ...timingTemplate(4), maxRate: 4000 }),
    {},
    fakeIo(PORTS, stalled, net),
    synMode(PORTS, results),
  );
  assert.ok(net.sent.some((s) => s.at >= stallFrom && s.at < stallTo), "sent into the stall");
  assert.deepEqual(wrong(results, PORTS), []);
});

Deno.test("a silent port sent last is settled by a path check, not by waiting out the proof limit", async () => {
  // In order, the dropped port goes last: no later probe can show the path answers.
  const ports = [...Array.from({ length: 200 }, (_, i) => i + 1), 1433];
  const results = new Map<string, Verdict>();
  const net = network();
  const timing = timingTemplate(4);
  await runScan(
    { ...plan(1, ports, timing), sequential: true },
    {},
    fakeIo(ports, host(0.2), net),
    synMode(ports, results),
  );
  assert.deepEqual(wrong(results, ports), []);
  const last = net.sent.filter((s) => s.port === 1433).at(-1)!;
  const checks = net.sent.filter((s) => s.attempt === attemptsFor(timing.maxRetries) - 1);
  assert.ok(checks.length > 0 && checks.every((s) => s.port !== 1433 && s.at > last.at));
  assert.ok(net.clock < last.at + SILENCE_PROOF_MS, "settled by the check's answer");
});

Deno.test("retries cover the measured random loss", () => {
  assert.equal(lossRetries(0, 65535), 0);
  assert.equal(lossRetries(Number.NaN, 65535), 0);
  // 2% round-trip loss over 3000 probes: four tries leave 3000 × 0.02^4 ≈ 5e-4 ports wrong.
  assert.equal(lossRetries(0.02, 3000), 3);
  for (const [loss, total] of [[0.02, 3000], [0.001, 65535], [0.05, 1e6], [0.3, 100]] as const) {
    const retries = lossRetries(loss, total);
    assert.ok(loss ** (retries + 1) * total < 1e-3 && loss ** retries * total >= 1e-3);
  }
});

Deno.test("silence is judged only as far as the receiver has read", async () => {
  // The receiver lags 300 ms behind (a starved thread): answers to the first try
  // wait in the socket long past any RTT-based timeout.
  const results = new Map<string, Verdict>();
  const stats = await runScan(
    plan(1, PORTS),
    {},
    fakeIo(PORTS, host(0.2), network(300)),
    synMode(PORTS, results),
  );
  assert.deepEqual(wrong(results, PORTS), []);
  assert.equal(stats.retries, DROPPED.size);
  // Without the read point, the same lag times out answers still in the socket:
  // their ports are sent again for nothing (the held last tries keep the states right).
  const blind = new Map<string, Verdict>();
  const blindStats = await runScan(
    plan(1, PORTS),
    {},
    fakeIo(PORTS, host(0.2), network(300, false)),
    synMode(PORTS, blind),
  );
  assert.deepEqual(wrong(blind, PORTS), []);
  assert.ok(blindStats.retries > 10 * DROPPED.size, `${blindStats.retries} retries`);
});

Deno.test("the SYN timeout floor follows the measured RTT unless --min-rtt-timeout is set", () => {
  const t4 = timingTemplate(4);
  assert.equal(timeoutFloor("syn", t4), SYN_MIN_TIMEOUT_MS);
  assert.equal(timeoutFloor("udp", t4), t4.minRttTimeout);
  assert.equal(timeoutFloor("syn", timingTemplate(2)), timingTemplate(2).minRttTimeout);
  assert.equal(timeoutFloor("syn", { ...t4, minRttTimeout: 300 }), 300);
});

Deno.test("--host-timeout: a host's unfinished ports are not reported", async () => {
  // 1000 probes/s at most: the two hosts' 4000 probes take about 4 s of virtual time.
  const timing = { ...timingTemplate(4), maxRate: 1000, hostTimeout: 500 };
  const results = new Map<string, Verdict>();
  const net = network();
  let checkpoint: ResumePoint | undefined;
  let progress = [0, 0];
  const scan = plan(2, PORTS, timing);
  await runScan(
    scan,
    {
      checkpoint: (point) => checkpoint = point,
      progress: (done, total) => progress = [done, total],
    },
    fakeIo(PORTS, host(0.2), net),
    synMode(PORTS, results),
  );
  const reported = [...results.keys()];
  assert.ok(reported.length > 0 && reported.length < 2 * PORTS.length, `${reported.length}`);
  // What is reported is right, and nothing was sent to a host after its timeout.
  for (const [key, verdict] of results) {
    assert.equal(verdict.state, expectedState(Number(key.split(" ")[1])), key);
  }
  for (const hostIndex of [0n, 1n]) {
    const times = net.sent.filter((s) => s.hostIndex === hostIndex).map((s) => s.at);
    assert.ok(Math.max(...times) - Math.min(...times) <= timing.hostTimeout);
  }
  // Skipped ports count as finished: a resume would not probe them again.
  assert.equal(checkpoint?.next, 2 * PORTS.length);
  assert.deepEqual(progress, [2 * PORTS.length, 2 * PORTS.length]);

  // Without a host timeout, every port of both hosts is reported.
  const all = new Map<string, Verdict>();
  await runScan(
    plan(2, PORTS, { ...timing, hostTimeout: 0 }),
    {},
    fakeIo(PORTS, host(0.2), network()),
    synMode(PORTS, all),
  );
  assert.equal(all.size, 2 * PORTS.length);
});

Deno.test("refused sends are sent again, and a host nothing can be sent to ends silent", async () => {
  // The first send of every probe is refused (a full queue): no harm done.
  const results = new Map<string, Verdict>();
  const net = network();
  const firstRefused = new Set<string>();
  const stats = await runScan(
    plan(1, PORTS),
    {},
    fakeIo(PORTS, host(0.2), net, ({ port }) => {
      if (firstRefused.has(`${port}`)) return false;
      firstRefused.add(`${port}`);
      return true;
    }),
    synMode(PORTS, results),
  );
  assert.deepEqual(wrong(results, PORTS), []);
  assert.equal(stats.sendErrors, PORTS.length);
  // Host 1 cannot be sent to at all (no route): the scan still ends, its ports silent.
  const both = new Map<string, Verdict>();
  await runScan(
    plan(2, PORTS),
    {},
    fakeIo(PORTS, host(0.2), network(), ({ hostIndex }) => hostIndex === 1n),
    synMode(PORTS, both),
  );
  assert.equal(both.size, 2 * PORTS.length);
  assert.deepEqual(wrong(both, PORTS), []);
  for (const port of PORTS) {
    assert.deepEqual(both.get(`198.51.100.3 ${port}`), {
      state: "filtered",
      reason: "no-response",
    });
  }
});

function udpMode(ports: readonly number[], results: Map<number, Verdict>): ScanMode {
  return {
    kind: "udp",
    units: ports.length,
    silent: { state: "open|filtered", reason: "no-response" },
    emit(_hostIndex: bigint, _host: Host, unit: number, verdict: Verdict): void {
      results.set(ports[unit]!, verdict);
    },
  };
}

/**
 * A host that rate-limits ICMP as Linux does: a bucket of six 1-second
 * tokens, refilled with time; an unreachable costs a token, and without one
 * the probe goes unanswered.
 */
function icmpLimitedHost(open: Set<number>, dropped: Set<number>, delay = 0.3): Behaviour {
  let tokens = 6000;
  let last = -Infinity;
  return ({ port, at }) => {
    tokens = Math.min(6000, tokens + (at - last));
    last = at;
    if (open.has(port)) {
      return { kind: ReplyKind.Udp, reason: "udp-response", delay, protocol: 17 };
    }
    if (dropped.has(port) || tokens < 1000) return undefined;
    tokens -= 1000;
    return { kind: ReplyKind.IcmpError, reason: "port-unreach", delay, protocol: 17 };
  };
}

/** The UDP ports with protocol payloads, answered here by a fake host. */
const UDP_PORTS = [...UDP_PAYLOAD_PORTS];
const UDP_OPEN = new Set([53, 161, 11211]);
const UDP_DROPPED = new Set([123]);

function udpState(port: number): string {
  return UDP_OPEN.has(port) ? "open" : UDP_DROPPED.has(port) ? "open|filtered" : "closed";
}

Deno.test("UDP past the target's ICMP budget: every closed port found, silence paced", async () => {
  for (const seed of [1n, 2n, 3n, 4n]) {
    const results = new Map<number, Verdict>();
    const net = network();
    await runScan(
      { ...plan(1, UDP_PORTS), protocol: "udp", seed },
      {},
      fakeIo(UDP_PORTS, icmpLimitedHost(UDP_OPEN, UDP_DROPPED), net),
      udpMode(UDP_PORTS, results),
    );
    const wrongStates = UDP_PORTS.filter((port) => results.get(port)?.state !== udpState(port));
    assert.deepEqual(wrongStates, [], `seed ${seed}`);
    // The dropped port's paced try spent none of the host's budget: the next
    // paced probe did not wait out a whole pace after it.
    const retries = net.sent.filter((s) => s.attempt > 0);
    const dropped = retries.findIndex((s) => s.port === 123);
    const after = retries[dropped + 1];
    if (after !== undefined) assert.ok(after.at - retries[dropped]!.at < 500, `seed ${seed}`);
  }
});

Deno.test("UDP: closed ports are all found while first tries keep spending the budget", async () => {
  // 400 closed ports sent slowly, from 20 ms away: first tries take each
  // refilled token while paced retries are due.
  const ports = Array.from({ length: 400 }, (_, i) => 2000 + i);
  const results = new Map<number, Verdict>();
  await runScan(
    { ...plan(1, ports, { ...timingTemplate(4), maxRate: 40 }), protocol: "udp" },
    {},
    fakeIo(ports, icmpLimitedHost(new Set(), new Set(), 20), network()),
    udpMode(ports, results),
  );
  const wrongStates = ports.filter((port) => results.get(port)?.state !== "closed");
  assert.deepEqual(wrongStates, []);
});

Deno.test("a second host first heard from late (a neighbour being resolved) is not called silent by the first host's answers", async () => {
  // Host 0 answers at once; everything sent to host 1 in its first 1.2 s
  // waits in a neighbour queue and is delivered then, far past any timeout
  // host 0's round trips give (as a fresh IPv6 neighbour in the lab does).
  const ports = [22, 80, 81, 443, 1433];
  const start = 1_000_000;
  const near = host(0.2);
  const behaviour: Behaviour = (send) => {
    const reply = near(send);
    if (reply === undefined || send.hostIndex === 0n) return reply;
    const queuedUntil = start + 1200;
    return send.at < queuedUntil ? { ...reply, delay: queuedUntil - send.at + 0.2 } : reply;
  };
  const results = new Map<string, Verdict>();
  await runScan(
    { ...plan(2, ports), sequential: true },
    {},
    fakeIo(ports, behaviour, network()),
    synMode(ports, results),
  );
  for (const address of ["198.51.100.2", "198.51.100.3"]) {
    for (const port of ports) {
      assert.equal(
        results.get(`${address} ${port}`)?.state,
        expectedState(port),
        `${address}:${port}`,
      );
    }
  }
});

Deno.test("an answer that says nothing of the unit (a self-connect) is tried again, and stands once tries run out", async () => {
  const ports = [5000, 5001];
  const results = new Map<string, Verdict>();
  const net = network();
  const transport = fakeIo(
    ports,
    () => ({ kind: ReplyKind.SynAck, reason: "syn-ack", delay: 0.2 }),
    net,
  );
  // Port 5000 always meets itself; port 5001 only on its first try.
  const receive = transport.receive.bind(transport);
  transport.receive = () =>
    receive().map((answer) => {
      const self = answer.unit === 0 || answer.attempt === 0;
      return self
        ? { ...answer, verdict: { state: "closed", reason: "self-connect" }, again: true }
        : answer;
    });
  const timing = timingTemplate(4);
  await runScan(plan(1, ports, timing), {}, transport, synMode(ports, results));
  assert.deepEqual(results.get("198.51.100.2 5000"), {
    state: "closed",
    reason: "self-connect",
    rtt: 0.2,
    ttl: 64,
  });
  assert.equal(results.get("198.51.100.2 5001")?.state, "open");
  assert.equal(net.sent.filter((s) => s.port === 5000).length, timing.maxRetries + 1);
  assert.equal(net.sent.filter((s) => s.port === 5001).length, 2);
});

Deno.test("dark hosts' silent ports get no retry on a path that lost nothing; lossy hosts keep theirs", async () => {
  // 64 hosts × 8 ports: even host indexes answer (one open port, the rest reset), odd ones are dark.
  const ports = [22, 80, 443, 1000, 1001, 1002, 1003, 1004];
  const live = (hostIndex: bigint): boolean => hostIndex % 2n === 0n;
  const clean: Behaviour = ({ hostIndex, port }) =>
    !live(hostIndex)
      ? undefined
      : port === 80
      ? { kind: ReplyKind.SynAck, reason: "syn-ack", delay: 0.3 }
      : { kind: ReplyKind.Reset, reason: "reset", delay: 0.3 };
  const results = new Map<string, Verdict>();
  const net = network();
  const stats = await runScan(
    plan(64, ports),
    {},
    fakeIo(ports, clean, net),
    synMode(ports, results),
  );
  assert.equal(results.size, 64 * ports.length);
  const darkRetries = net.sent.filter((s) => !live(s.hostIndex) && s.attempt > 0).length;
  // Tries that timed out before 256 answers had come back were retried; the rest were not.
  assert.ok(darkRetries < (32 * ports.length) / 2, `${darkRetries} retries to dark hosts`);
  assert.ok(stats.darkRetriesSkipped > 0);
  for (const [key, verdict] of results) {
    const port = Number(key.split(" ")[1]);
    const address = key.split(" ")[0]!;
    const index = BigInt(Number(address.split(".")[3]) - 2);
    const expected = !live(index) ? "filtered" : port === 80 ? "open" : "closed";
    assert.equal(verdict.state, expected, key);
  }

  // The same hosts with 5% loss each way: the first retry answered shows loss, and from
  // then on silence is retried everywhere; every live host's ports come out right.
  const random = seeded(7);
  const lossy: Behaviour = (send) => random() < 0.05 || random() < 0.05 ? undefined : clean(send);
  const lossyResults = new Map<string, Verdict>();
  const lossyNet = network();
  await runScan(plan(64, ports), {}, fakeIo(ports, lossy, lossyNet), synMode(ports, lossyResults));
  const lossyDarkRetries = lossyNet.sent.filter((s) => !live(s.hostIndex) && s.attempt > 0);
  assert.ok(lossyDarkRetries.length > darkRetries, "loss turns the dark-host rule off");
  for (const [key, verdict] of lossyResults) {
    const index = BigInt(Number(key.split(" ")[0]!.split(".")[3]) - 2);
    if (live(index)) assert.notEqual(verdict.state, "filtered", key);
  }
});

Deno.test("a host never heard from is waited for from its first probe, not from each port's", async () => {
  // One dark host, 2000 ports at 500 probes/s: 4 s of sending. Its path is
  // unknown for `unheard` (2 s at -T4) from its first probe; ports first
  // tried later than that are silent once their own timeout and hold pass.
  const ports = PORTS;
  const decidedAt = new Map<number, number>();
  const net = network();
  const start = net.clock;
  const mode: ScanMode = {
    ...synMode(ports, new Map()),
    emit(_hostIndex: bigint, _host: Host, unit: number): void {
      decidedAt.set(ports[unit]!, net.clock);
    },
  };
  const timing = { ...timingTemplate(4), maxRate: 500 };
  await runScan(plan(1, ports, timing), {}, fakeIo(ports, () => undefined, net), mode);
  assert.equal(decidedAt.size, ports.length);
  const firstSent = new Map<number, number>();
  for (const send of net.sent) if (!firstSent.has(send.port)) firstSent.set(send.port, send.at);
  let late = 0;
  for (const port of ports) {
    const sent = firstSent.get(port)!;
    const decided = decidedAt.get(port)!;
    // Nothing is called silent before the host's first probe is 2 s old.
    assert.ok(decided >= start + 2000, `port ${port} decided at +${decided - start} ms`);
    if (sent >= start + 2500) {
      late++;
      assert.ok(decided - sent < 1900, `port ${port} held ${decided - sent} ms`);
    }
  }
  assert.ok(late > 500, `${late} ports sent late`);
});

Deno.test("a try of an old never-heard host is not held up behind a young host's", async () => {
  // 1000 dark hosts × 2 ports at 500 probes/s: hosts get their first probe
  // all through the 4 s of sending. A port whose host was first probed long
  // before is silent after its own timeouts, even when a try of a host
  // first probed just before it is still waiting for that host's path.
  const ports = [22, 80];
  const decidedAt = new Map<string, number>();
  const net = network();
  const mode: ScanMode = {
    ...synMode(ports, new Map()),
    emit(hostIndex: bigint, _host: Host, unit: number): void {
      decidedAt.set(`${hostIndex} ${unit}`, net.clock);
    },
  };
  const timing = { ...timingTemplate(4), maxRate: 500 };
  await runScan(plan(1000, ports, timing), {}, fakeIo(ports, () => undefined, net), mode);
  assert.equal(decidedAt.size, 2000);
  const hostFirst = new Map<bigint, number>();
  const unitFirst = new Map<string, number>();
  for (const send of net.sent) {
    if (!hostFirst.has(send.hostIndex)) hostFirst.set(send.hostIndex, send.at);
    const key = `${send.hostIndex} ${ports.indexOf(send.port)}`;
    if (!unitFirst.has(key)) unitFirst.set(key, send.at);
  }
  let old = 0;
  for (const [key, sent] of unitFirst) {
    const host = BigInt(key.split(" ")[0]!);
    if (sent - hostFirst.get(host)! < 2500) continue;
    old++;
    const held = decidedAt.get(key)! - sent;
    assert.ok(held < 1900, `${key} held ${held} ms`);
  }
  assert.ok(old > 100, `${old} tries of old hosts`);
});

/** The most sends in any window of `ms` (sends in time order). */
function busiestWindow(sent: readonly { at: number }[], ms: number): number {
  let most = 0;
  let from = 0;
  for (let to = 0; to < sent.length; to++) {
    while (sent[to]!.at - sent[from]!.at >= ms) from++;
    most = Math.max(most, to - from + 1);
  }
  return most;
}

Deno.test("a stall's missed sends are made up, no faster than half again the rate", async () => {
  // 40 hosts × 500 closed ports at 20,000 probes/s: one second of sends, and
  // once every 100 ms the loop stalls 30 ms (a collection, a busy core).
  const ports = Array.from({ length: 500 }, (_, i) => 10_000 + i);
  const rate = 20_000;
  const run = async (stall: number): Promise<FakeNetwork> => {
    const net = network();
    const io = fakeIo(ports, () => ({ kind: ReplyKind.Reset, reason: "reset", delay: 1 }), net);
    let stallAt = net.clock + 100;
    io.wait = (ms: number): Promise<void> => {
      net.clock += Math.max(ms, 0.05);
      if (net.clock >= stallAt) {
        net.clock += stall;
        stallAt += 100;
      }
      return Promise.resolve();
    };
    await runScan(
      plan(40, ports, { ...timingTemplate(4), maxRate: rate }),
      {},
      io,
      synMode(ports, new Map()),
      { initialRate: rate },
    );
    return net;
  };
  for (const stall of [0, 30]) {
    const { sent } = await run(stall);
    assert.equal(sent.length, 40 * 500);
    const took = sent.at(-1)!.at - sent[0]!.at;
    // Held on average: within 5% of the second the rate asks (without making up, 1.24 s).
    assert.ok(took < 1050, `stall ${stall}: ${sent.length} sends took ${took.toFixed(0)} ms`);
    // Never faster than the rate plus one burst (10 ms of it) without stalls, nor half again it with them.
    const most = busiestWindow(sent, 100);
    const limit = rate * 0.1 * (stall === 0 ? 1 : 1.5) + rate * 0.01;
    assert.ok(most <= limit, `stall ${stall}: ${most} sends in 100 ms (at most ${limit})`);
  }
});
