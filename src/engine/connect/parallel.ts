/**
 * The epoll transport on two cores: the scan's thread connects itself and
 * hands tries to a worker (worker.ts) whenever the worker has room, so the
 * kernel's share of each connect (most of a near host's cost) runs on both
 * CPUs. To the scheduler it is one transport: one clock, one read point
 * (the older of the two sides'), one capacity.
 *
 * @module
 */

import type { Libc } from "../libc.ts";
import type { Host } from "../../targets/types.ts";
import { addressToBigInt } from "../../packet/address.ts";
import { listLocalAddresses } from "../raw/ifaddrs.ts";
import type { Answer, Probe } from "../transport.ts";
import { connectAnswer, type ConnectOutcome, type ConnectTransport } from "./outcome.ts";
import { createEpollTransport, epollCapacity, type EpollTransport } from "./epoll.ts";
import {
  Ans,
  ANS_AT,
  ANS_REASON,
  answerAt,
  AnswerKind,
  Control,
  joinIndex,
  REASON_BYTES,
  Req,
  REQ_ADDRESS,
  REQUEST_RECORDS,
  requestAt,
  RequestOp,
  type RingMemory,
  ringMemory,
  splitIndex,
  WorkerState,
} from "./ring.ts";
import type { ConnectWorkerInit } from "./worker.ts";

/** Options of {@link createParallelTransport}. */
export interface ParallelTransportOptions {
  ports: readonly number[];
  /** Units in flight at most, both sides together. */
  capacity?: number;
  /**
   * Keep tries to this machine's own addresses on one thread (default true):
   * only a test that picks its ports outside the ephemeral range turns it off.
   */
  keepLocal?: boolean;
}

/**
 * Tries queued for the worker at most: a try waits there before its SYN
 * leaves, while the scheduler's clock already runs (~20 µs a try).
 */
const QUEUE_LIMIT = 96;
/** How long close() waits for the worker to give its sockets back. */
const CLOSE_WAIT_MS = 2000;

/** The two-thread transport, and how it shared the tries. */
export interface ParallelTransport extends ConnectTransport {
  /** Tries sent by the scan's thread and by the worker so far. */
  shares(): { local: number; worker: number };
  /** Whether the worker has started and takes tries. */
  started(): boolean;
}

/** Addresses of this machine by family, as `Host.value`s. */
interface LocalAddresses {
  v4: Set<bigint>;
  v6: Set<bigint>;
}

/**
 * Addresses of this machine. Tries to them stay on one thread: two of our
 * own sockets connecting to each other's ports at the same moment meet in a
 * TCP simultaneous open and both read as open.
 */
function localAddresses(): LocalAddresses {
  const local: LocalAddresses = { v4: new Set(), v6: new Set([1n]) };
  try {
    for (const address of listLocalAddresses()) {
      (typeof address === "number" ? local.v4 : local.v6).add(addressToBigInt(address));
    }
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    // No interface list: loopback alone is known (checked by range below).
  }
  return local;
}

/** Whether `host` is this machine's (no string made: a sweep asks once a host). */
function isLocal(host: Host, local: LocalAddresses): boolean {
  if (host.family === 4) return host.value >> 24n === 127n || local.v4.has(host.value);
  return local.v6.has(host.value);
}

/** Start the worker; a failure to start leaves the state `failed` (every try stays on this thread). */
function startWorker(memory: RingMemory, init: ConnectWorkerInit): Worker | undefined {
  const { control } = memory;
  try {
    const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    worker.onerror = (event): void => {
      event.preventDefault();
      Atomics.store(control, Control.state, WorkerState.failed);
    };
    worker.postMessage(init);
    return worker;
  } catch (error) {
    // No worker here (a compiled binary without the module, a denied
    // permission): the scan's thread carries every try.
    if (!(error instanceof Error)) throw error;
    Atomics.store(control, Control.state, WorkerState.failed);
    return undefined;
  }
}

function readReason(memory: RingMemory, at: number): string {
  const base = at * 4 + ANS_REASON;
  let text = "";
  for (let i = 0; i < REASON_BYTES; i++) {
    const byte = memory.answerBytes[base + i]!;
    if (byte === 0) break;
    text += String.fromCharCode(byte);
  }
  return text;
}

function outcomeOf(memory: RingMemory, kind: number, at: number): ConnectOutcome {
  switch (kind) {
    case AnswerKind.open:
      return { kind: "open" };
    case AnswerKind.refused:
      return { kind: "refused" };
    case AnswerKind.self:
      return { kind: "self" };
    default:
      return { kind: "unreachable", reason: readReason(memory, at) };
  }
}

/** Move the worker's answers into `into`, and the slots of tries it could not send into `failed`. */
function readAnswers(memory: RingMemory, into: Answer[], failed: number[]): void {
  const { control, answers, answerFloats } = memory;
  let read = Atomics.load(control, Control.answerRead);
  const end = Atomics.load(control, Control.answerWrite);
  while (read !== end) {
    const at = answerAt(read++);
    const kind = answers[at + Ans.kind]!;
    if (kind === AnswerKind.failed) {
      failed.push(answers[at + Ans.slot]!);
      continue;
    }
    const of = {
      hostIndex: BigInt(joinIndex(answers[at + Ans.indexLow]!, answers[at + Ans.indexHigh]!)),
      unit: answers[at + Ans.unit]!,
      attempt: answers[at + Ans.attempt]!,
    };
    into.push(connectAnswer(of, outcomeOf(memory, kind, at), answerFloats[at / 2 + ANS_AT]!));
  }
  Atomics.store(control, Control.answerRead, read);
}

/** Write a try into the request record at word `at`. */
function writeTry(requests: Int32Array, at: number, probe: Probe): void {
  requests[at + Req.op] = RequestOp.send;
  requests[at + Req.slot] = probe.slot;
  requests[at + Req.unit] = probe.unit;
  requests[at + Req.attempt] = probe.attempt;
  requests[at + Req.family] = probe.host.family;
  const [low, high] = splitIndex(Number(probe.hostIndex));
  requests[at + Req.indexLow] = low;
  requests[at + Req.indexHigh] = high;
  const value = probe.host.value;
  if (probe.host.family === 4) requests[at + REQ_ADDRESS] = Number(value) | 0;
  else {
    for (let i = 0; i < 4; i++) {
      requests[at + REQ_ADDRESS + i] = Number((value >> BigInt(96 - 32 * i)) & 0xffff_ffffn) | 0;
    }
  }
}

/** A two-thread epoll transport; the worker joins once it has started. */
export function createParallelTransport(
  libc: Libc,
  options: ParallelTransportOptions,
): ParallelTransport {
  // Two sides in one process share its descriptors: the capacity is split, not doubled.
  const total = epollCapacity(libc, options.capacity);
  const localShare = Math.ceil(total / 2);
  const local: EpollTransport = createEpollTransport(libc, {
    ports: options.ports,
    capacity: localShare,
  });
  const ours = options.keepLocal === false ? undefined : localAddresses();
  let lastHost: Host | undefined;
  let lastLocal = true;
  const memory = ringMemory();
  const { control, requests } = memory;
  Atomics.store(control, Control.heartbeat, Math.floor(performance.now() / 1000));
  const worker = startWorker(memory, {
    buffer: memory.buffer,
    ports: options.ports,
    capacity: total - localShare,
    origin: performance.timeOrigin,
  });

  /** Per slot: 1 the local side holds tries, 2 the worker does. */
  const owner: number[] = [];
  /** Releases waiting for room in the ring. */
  const releases: number[] = [];
  const failed: number[] = [];
  let write = 0;
  let localTries = 0;
  let workerTries = 0;
  let caughtUp = Infinity;

  function workerReady(): boolean {
    return Atomics.load(control, Control.state) === WorkerState.ready;
  }

  function room(): number {
    return REQUEST_RECORDS - (write - Atomics.load(control, Control.requestRead));
  }

  function publishReleases(): void {
    let free = room();
    while (releases.length > 0 && free > 0) {
      const at = requestAt(write++);
      requests[at + Req.op] = RequestOp.release;
      requests[at + Req.slot] = releases.pop()!;
      free--;
    }
    Atomics.store(control, Control.requestWrite, write);
  }

  return {
    name: "epoll",
    capacity: total,
    send(probe: Probe): void {
      const slot = probe.slot;
      if (probe.host !== lastHost) {
        lastHost = probe.host;
        lastLocal = ours !== undefined && isLocal(probe.host, ours);
      }
      if (
        !lastLocal && workerReady() && probe.hostIndex < 0x20_0000_0000_0000n &&
        write - Atomics.load(control, Control.requestRead) < QUEUE_LIMIT && room() > 0
      ) {
        writeTry(requests, requestAt(write++), probe);
        Atomics.store(control, Control.requestWrite, write);
        owner[slot] = (owner[slot] ?? 0) | 2;
        workerTries++;
        return;
      }
      local.send(probe);
      owner[slot] = (owner[slot] ?? 0) | 1;
      localTries++;
    },
    flush(): number[] {
      if (releases.length > 0) publishReleases();
      Atomics.notify(control, Control.requestWrite);
      return [...local.flush(), ...failed.splice(0)];
    },
    receive(): Answer[] {
      Atomics.store(control, Control.heartbeat, Math.floor(performance.now() / 1000));
      // The worker's read point first: every answer it had by then is in the ring now.
      const point = Number(Atomics.load(memory.caughtUp, 0));
      caughtUp = point < 0 ? Infinity : point / 1000;
      const out = local.receive();
      readAnswers(memory, out, failed);
      return out;
    },
    async wait(ms: number): Promise<void> {
      const end = performance.now() + ms;
      for (;;) {
        if (local.hasAnswers()) return;
        if (
          Atomics.load(control, Control.answerWrite) !== Atomics.load(control, Control.answerRead)
        ) {
          return;
        }
        const left = end - performance.now();
        if (left <= 0) return;
        await local.wait(Math.min(1, left));
      }
    },
    started: workerReady,
    shares: () => ({ local: localTries, worker: workerTries }),
    now: () => performance.now(),
    caughtUp(): number {
      const mine = local.caughtUp?.() ?? performance.now();
      // A worker with nothing sent to it holds nothing back.
      return workerReady() && write > 0 ? Math.min(mine, caughtUp) : mine;
    },
    release(slot: number): void {
      const held = owner[slot] ?? 0;
      if (held === 0) return;
      owner[slot] = 0;
      if ((held & 1) !== 0) local.release(slot);
      if ((held & 2) !== 0) {
        releases.push(slot);
        if (releases.length >= 64) publishReleases();
      }
    },
    close(): void {
      if (worker !== undefined) {
        if (workerReady()) {
          publishReleases();
          while (room() === 0 && workerReady()) {
            Atomics.wait(control, Control.requestRead, write - REQUEST_RECORDS, 5);
          }
          const at = requestAt(write++);
          requests[at + Req.op] = RequestOp.shutdown;
          Atomics.store(control, Control.requestWrite, write);
          Atomics.notify(control, Control.requestWrite);
          const deadline = performance.now() + CLOSE_WAIT_MS;
          while (workerReady() && performance.now() < deadline) {
            Atomics.wait(control, Control.state, WorkerState.ready, 50);
          }
        }
        worker.terminate();
      }
      local.close();
    },
  };
}
