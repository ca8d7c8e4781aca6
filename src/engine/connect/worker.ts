/**
 * A connect worker: an epoll transport on a thread of its own, fed through
 * the rings of ring.ts. A refused connect to a near host costs ~15 µs of
 * kernel time inside connect() itself (the SYN crosses into the target's
 * stack and the reset comes back within the call), so one thread cannot go
 * faster than ~65,000 ports a second; this one carries part of that on
 * another core while the scan's thread schedules.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import type { Host } from "../../targets/types.ts";
import { openLibc } from "../libc.ts";
import type { Answer, Probe } from "../transport.ts";
import { createEpollTransport } from "./epoll.ts";
import {
  Ans,
  ANS_AT,
  ANS_REASON,
  ANSWER_RECORDS,
  answerAt,
  AnswerKind,
  Control,
  joinIndex,
  REASON_BYTES,
  Req,
  REQ_ADDRESS,
  requestAt,
  RequestOp,
  type RingMemory,
  ringMemory,
  splitIndex,
  WorkerState,
} from "./ring.ts";

/** What the scan thread posts once, to start the worker. */
export interface ConnectWorkerInit {
  buffer: SharedArrayBuffer;
  ports: readonly number[];
  capacity: number;
  /** `performance.timeOrigin` of the scan thread: answers are timed on its clock. */
  origin: number;
}

/** Seconds without a sign of life from the scan thread after which the worker closes its sockets. */
const ORPHAN_SECONDS = 10;

function hostOf(requests: Int32Array, at: number, last: Host | undefined): Host {
  const family = requests[at + Req.family] === 6 ? 6 : 4;
  let value: bigint;
  if (family === 4) value = BigInt(requests[at + REQ_ADDRESS]! >>> 0);
  else {
    value = 0n;
    for (let i = 0; i < 4; i++) {
      value = (value << 32n) | BigInt(requests[at + REQ_ADDRESS + i]! >>> 0);
    }
  }
  if (last !== undefined && last.family === family && last.value === value) return last;
  return { family, value, address: "" };
}

function kindOf(answer: Answer): number {
  if (answer.again) return AnswerKind.self;
  switch (answer.verdict?.reason) {
    case "syn-ack":
      return AnswerKind.open;
    case "conn-refused":
      return AnswerKind.refused;
    default:
      return AnswerKind.unreachable;
  }
}

/** Run the worker's loop until the scan thread shuts it down (or is gone). */
export function serveConnectWorker(init: ConnectWorkerInit): void {
  const memory: RingMemory = ringMemory(init.buffer);
  const { control, requests, answers, answerBytes, answerFloats } = memory;
  const libc = openLibc();
  if (libc === undefined) {
    Atomics.store(control, Control.state, WorkerState.failed);
    Atomics.notify(control, Control.state);
    return;
  }
  const inner = createEpollTransport(libc, { ports: init.ports, capacity: init.capacity });
  // Our clock to the scan thread's: both count from their own time origin.
  const shift = performance.timeOrigin - init.origin;
  const backlog: { answer?: Answer; failedSlot?: number }[] = [];
  const probe: Probe = {
    slot: 0,
    hostIndex: 0n,
    host: { family: 4, value: 0n, address: "" },
    unit: 0,
    attempt: 0,
  };
  let lastHost: Host | undefined;

  function publish(): void {
    let write = Atomics.load(control, Control.answerWrite);
    const read = Atomics.load(control, Control.answerRead);
    let taken = 0;
    while (taken < backlog.length && write - read < ANSWER_RECORDS) {
      const item = backlog[taken++]!;
      const at = answerAt(write);
      if (item.answer === undefined) {
        answers[at + Ans.kind] = AnswerKind.failed;
        answers[at + Ans.slot] = item.failedSlot!;
      } else {
        const answer = item.answer;
        const kind = kindOf(answer);
        answers[at + Ans.kind] = kind;
        answers[at + Ans.unit] = answer.unit;
        answers[at + Ans.attempt] = answer.attempt;
        const [low, high] = splitIndex(Number(answer.hostIndex));
        answers[at + Ans.indexLow] = low;
        answers[at + Ans.indexHigh] = high;
        answerFloats[at / 2 + ANS_AT] = answer.at + shift;
        if (kind === AnswerKind.unreachable) {
          const reason = answer.verdict?.reason ?? "host-unreach";
          const base = at * 4 + ANS_REASON;
          const length = Math.min(reason.length, REASON_BYTES);
          for (let i = 0; i < length; i++) answerBytes[base + i] = reason.charCodeAt(i) & 0x7f;
          answerBytes[base + length] = 0;
        }
      }
      write++;
    }
    backlog.splice(0, taken);
    Atomics.store(control, Control.answerWrite, write);
    // Everything the inner transport had read by its read point is published now.
    if (backlog.length === 0) {
      Atomics.store(memory.caughtUp, 0, BigInt(Math.floor((inner.caughtUp() + shift) * 1000)));
    }
  }

  function collect(): void {
    for (const slot of inner.flush()) backlog.push({ failedSlot: slot });
    for (const answer of inner.receive()) backlog.push({ answer });
  }

  Atomics.store(control, Control.state, WorkerState.ready);
  Atomics.notify(control, Control.state);
  let shutdown = false;
  while (!shutdown) {
    let read = Atomics.load(control, Control.requestRead);
    const write = Atomics.load(control, Control.requestWrite);
    let handled = 0;
    // Answers waiting for room in their ring hold further tries back.
    while (read !== write && backlog.length < ANSWER_RECORDS) {
      const at = requestAt(read);
      const op = requests[at + Req.op];
      if (op === RequestOp.shutdown) {
        shutdown = true;
        read++;
        break;
      }
      const slot = requests[at + Req.slot]!;
      if (op === RequestOp.release) inner.release(slot);
      else {
        lastHost = hostOf(requests, at, lastHost);
        probe.slot = slot;
        probe.unit = requests[at + Req.unit]!;
        probe.attempt = requests[at + Req.attempt]!;
        probe.host = lastHost;
        probe.hostIndex = BigInt(
          joinIndex(requests[at + Req.indexLow]!, requests[at + Req.indexHigh]!),
        );
        inner.send(probe);
      }
      read++;
      handled++;
      if ((handled & 31) === 0) {
        Atomics.store(control, Control.requestRead, read);
        collect();
        publish();
      }
    }
    Atomics.store(control, Control.requestRead, read);
    collect();
    publish();
    if (shutdown) break;
    if (handled === 0) {
      const seconds = Math.floor((performance.now() + shift) / 1000);
      if (seconds - Atomics.load(control, Control.heartbeat) > ORPHAN_SECONDS) break;
      // Idle: wait for tries, or for answers to sockets still in flight.
      if (inner.inFlight() > 0) inner.waitSync(1);
      else Atomics.wait(control, Control.requestWrite, write, 5);
    }
  }
  inner.close();
  libc.close();
  Atomics.store(control, Control.state, WorkerState.closed);
  Atomics.notify(control, Control.state);
}

self.onmessage = (event: MessageEvent<ConnectWorkerInit>): void => {
  self.onmessage = null;
  try {
    serveConnectWorker(event.data);
  } catch {
    const control = new Int32Array(event.data.buffer, 0, 8);
    Atomics.store(control, Control.state, WorkerState.failed);
    Atomics.notify(control, Control.state);
  }
  self.close();
};
