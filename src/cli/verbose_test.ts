import assert from "node:assert/strict";
import { createProgress } from "../output/progress.ts";
import { phaseInfo } from "../scan/phase_info.ts";
import { parseArgs } from "./args.ts";
import { createChatter, notices, timingReport, traceLine } from "./verbose.ts";
import { timingTemplate } from "../engine/timing.ts";

function recorder(args: string[]): {
  said: string[];
  traced: string[];
  chatter: ReturnType<typeof createChatter>;
  advance: (ms: number) => void;
} {
  const said: string[] = [];
  const traced: string[] = [];
  let time = 0;
  const progress = createProgress({ write: () => {}, isTerminal: false, now: () => time });
  const chatter = createChatter(parseArgs([...args, "x"]), {
    say: (text) => said.push(text),
    trace: (text) => traced.push(text),
    progress,
    now: () => time,
    clock: () => new Date(2026, 11, 3, 12, 24),
  });
  return { said, traced, chatter, advance: (ms) => (time += ms) };
}

const host = {
  family: 4 as const,
  value: 0x7f000001n,
  address: "127.0.0.1",
  hostname: "localhost",
};

Deno.test("-v: nmap's phase lines and a Discovered line per open port", () => {
  const { said, chatter, advance } = recorder(["-v"]);
  chatter.phase(phaseInfo.portScan("connect", { hosts: 1n, ports: 3, one: host }));
  chatter.found?.(
    { address: "127.0.0.1", protocol: "tcp", port: 8089, state: "open", reason: "syn-ack" },
    host,
  );
  advance(10);
  chatter.phase(phaseInfo.services(1, 1, host));
  advance(2500);
  chatter.settled();
  assert.deepEqual(said, [
    "Initiating Connect Scan at 12:24\n",
    "Scanning localhost (127.0.0.1) [3 ports]\n",
    "Discovered open port 8089/tcp on 127.0.0.1\n",
    "Completed Connect Scan at 12:24, 0.01s elapsed (3 total ports)\n",
    "Initiating Service scan at 12:24\n",
    "Scanning 1 service on localhost (127.0.0.1)\n",
    "Completed Service scan at 12:24, 2.50s elapsed (1 service on 1 host)\n",
  ]);
});

Deno.test("without -v the chatter says nothing and has no found hook", () => {
  const { said, traced, chatter } = recorder([]);
  chatter.phase(phaseInfo.dns(1));
  chatter.settled();
  assert.equal(chatter.found, undefined);
  assert.equal(chatter.trace, undefined);
  assert.deepEqual([said, traced], [[], []]);
});

Deno.test("--packet-trace: a CONN line per connect try and answer, SENT/RCVD for raw", () => {
  const { traced, said, chatter, advance } = recorder(["--packet-trace"]);
  advance(23.7);
  const common = { kind: "connect" as const, at: 0, address: "127.0.0.1", port: 8089 };
  chatter.trace?.({ type: "sent", ...common, attempt: 0 });
  chatter.trace?.({
    type: "received",
    ...common,
    attempt: 0,
    state: "open",
    reason: "syn-ack",
    ttl: 0,
  });
  chatter.trace?.({ type: "times", kind: "connect", srtt: 0.15, rttvar: 3.7, timeout: 100 });
  assert.deepEqual(traced, [
    "CONN (0.0237s) TCP localhost > 127.0.0.1:8089 => Operation now in progress\n",
    "CONN (0.0237s) TCP localhost > 127.0.0.1:8089 => Connected\n",
  ]);
  assert.deepEqual(said, [], "final times are -d's");
  const raw = { kind: "syn" as const, at: 0, address: "2001:db8::2", port: 22 };
  assert.equal(
    traceLine({ type: "sent", ...raw, attempt: 1 }, 0.5),
    "SENT (0.5000s) TCP > [2001:db8::2]:22 S try=2\n",
  );
  assert.equal(
    traceLine({
      type: "received",
      ...raw,
      attempt: 1,
      state: "closed",
      reason: "reset",
      ttl: 64,
    }, 0.5),
    "RCVD (0.5000s) TCP [2001:db8::2]:22 > closed (reset) ttl=64\n",
  );
});

Deno.test("-d: the timing report up front and the final times of each phase", () => {
  const { said, chatter } = recorder(["-d"]);
  chatter.trace?.({ type: "times", kind: "syn", srtt: 0.15, rttvar: 3.779, timeout: 100 });
  assert.deepEqual(said, ["Final times: srtt: 150 rttvar: 3779  to: 100000\n"]);
  const report = timingReport({ ...timingTemplate(4), maxRate: 0 });
  assert.match(report, /^--------------- Timing report ---------------\n/);
  assert.match(report, /\n {2}rtt-timeouts: init 500, min 100, max 1250\n/);
  assert.match(report, /\n {2}max-retries: 6, host-timeout: 0\n/);
});

Deno.test("-O says in one line that it is left out", () => {
  assert.deepEqual(notices(parseArgs(["x"])), []);
  const [line, ...rest] = notices(parseArgs(["-O", "x"]));
  assert.match(line ?? "", /^portolan: warning: OS detection \(-O\) is not available/);
  assert.deepEqual(rest, []);
});
