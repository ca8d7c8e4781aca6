/**
 * `sendmmsg` on a thread of its own. A raw probe to a near target costs the
 * sending thread most of the target's work too: the kernel carries the
 * packet through the veth or loopback into the target's stack and its reply
 * back within the call. Handed to a sender worker (send_worker.ts), that
 * work runs on another core while the scan's thread schedules and records.
 *
 * The scan's thread fills a batch in an off-heap arena, posts a job naming
 * the arena's address, and moves on to another arena; the worker sends the
 * batch, reports what the kernel refused, and frees the arena.
 *
 * @module
 */

import { MMSGHDR_SIZE, RawErrno } from "./libc.ts";

const JOB_WORDS = 8;
/** Refusals the ring holds before the worker waits for the scan's thread to read them. */
const FAILURES = 4096;
const FAILURE_WORDS = 4;
/** Arenas all senders together may have (six kinds of socket, sixteen arenas each). */
export const MAX_ARENAS = 96;
/** Jobs the ring holds: one per arena, so a job never waits for room. */
const JOBS = MAX_ARENAS;

/** Control words (Int32 indexes). */
const C = {
  jobWrite: 0,
  jobRead: 1,
  state: 2,
  failWrite: 3,
  failRead: 4,
  stop: 5,
  /** 1 while the worker waits for a job: only then does a job need a notify. */
  workerWaits: 6,
  /** 1 while the scan's thread waits for an arena: only then does a sent batch need a notify. */
  scanWaits: 7,
} as const;

/** Index of the state word, for a worker that fails before it serves. */
export const STATE_WORD = C.state;

/** Life of the sender worker. */
export const SenderState = { starting: 0, ready: 1, closed: 2, failed: 3 } as const;

const CONTROL_WORDS = 8;

/** Views over the shared memory of a send offload. */
export interface OffloadMemory {
  buffer: SharedArrayBuffer;
  control: Int32Array;
  jobs: Int32Array;
  /** Per arena: 1 while its batch is queued or being sent. */
  busy: Int32Array;
  failures: Int32Array;
}

/** Allocate the shared memory, or view it from the worker. */
export function offloadMemory(buffer?: SharedArrayBuffer): OffloadMemory {
  const bytes = 4 * (CONTROL_WORDS + JOBS * JOB_WORDS + MAX_ARENAS + FAILURES * FAILURE_WORDS);
  const shared = buffer ?? new SharedArrayBuffer(bytes);
  let at = 0;
  const take = (words: number): Int32Array => {
    const view = new Int32Array(shared, at * 4, words);
    at += words;
    return view;
  };
  return {
    buffer: shared,
    control: take(CONTROL_WORDS),
    jobs: take(JOBS * JOB_WORDS),
    busy: take(MAX_ARENAS),
    failures: take(FAILURES * FAILURE_WORDS),
  };
}

/**
 * Send `count` messages, `send(first, left)` being one sendmmsg from message
 * `first`: a full queue (ENOBUFS, EAGAIN) is tried again, 100 times at most
 * in a row, an interrupted call again; any other refusal skips that message
 * and is handed to `refuse`. Each turn sends a message or gives one up, so
 * this ends. Returns how many the kernel took.
 */
export function sendAll(
  count: number,
  calls: {
    send(first: number, left: number): number;
    errno(): number;
    refuse(index: number, errno: number): void;
  },
): number {
  let at = 0;
  let taken = 0;
  let busy = 0;
  while (at < count) {
    const sent = calls.send(at, count - at);
    if (sent > 0) {
      at += sent;
      taken += sent;
      busy = 0;
      continue;
    }
    const errno = calls.errno();
    if ((errno === RawErrno.ENOBUFS || errno === RawErrno.EAGAIN) && busy < 100) {
      busy++;
      continue;
    }
    if (errno === RawErrno.EINTR) continue;
    calls.refuse(at, errno);
    at++;
    busy = 0;
  }
  return taken;
}

/** One batch to send: `count` mmsghdrs from `address` on socket `fd`. */
export interface SendJob {
  fd: number;
  address: bigint;
  count: number;
  /** The arena's id, freed (`busy` 0) once sent. */
  arena: number;
}

/** A refusal: message `index` of `arena`, and the errno. */
export interface SendRefusal {
  arena: number;
  index: number;
  errno: number;
}

/** The scan thread's side of a send offload. */
export interface SendOffload {
  /** Whether the worker takes jobs (before it has started, batches are sent inline). */
  readonly ready: boolean;
  /** A new arena id. */
  arena(): number;
  /** Whether arena `id` is free to fill. */
  free(id: number): boolean;
  /** Queue a batch; its arena is busy until sent. */
  submit(job: SendJob): void;
  /** Block until arena `id` is free (refusals read meanwhile go to `onRefusal`). */
  waitFree(id: number): void;
  /** Refusals reported since the last call, handed to `onRefusal`. */
  drain(): void;
  /** Wait for every queued batch to be sent, then stop the worker. */
  close(): Promise<void>;
}

/** Job fields. */
const J = { fd: 0, count: 1, low: 2, high: 3, arena: 4 } as const;

/** Start a sender worker; refusals are handed to `onRefusal` from {@link SendOffload.drain}. */
export function startSendOffload(onRefusal: (refusal: SendRefusal) => void): SendOffload {
  const memory = offloadMemory();
  const { control, jobs, busy, failures } = memory;
  let arenas = 0;
  let write = 0;
  let worker: Worker | undefined;
  try {
    worker = new Worker(new URL("./send_worker.ts", import.meta.url).href, { type: "module" });
    worker.onerror = (event): void => {
      event.preventDefault();
      Atomics.store(control, C.state, SenderState.failed);
    };
    worker.postMessage(memory.buffer);
  } catch {
    // No worker (a compiled binary without its module): every batch is sent inline.
    Atomics.store(control, C.state, SenderState.failed);
  }

  function drain(): void {
    let read = Atomics.load(control, C.failRead);
    const end = Atomics.load(control, C.failWrite);
    while (read !== end) {
      const at = (read % FAILURES) * FAILURE_WORDS;
      onRefusal({ arena: failures[at]!, index: failures[at + 1]!, errno: failures[at + 2]! });
      read++;
    }
    Atomics.store(control, C.failRead, read);
  }

  const offload: SendOffload = {
    get ready(): boolean {
      return Atomics.load(control, C.state) === SenderState.ready;
    },
    arena(): number {
      if (arenas >= MAX_ARENAS) throw new RangeError(`Cannot add an arena: ${MAX_ARENAS} at most`);
      return arenas++;
    },
    free: (id) => Atomics.load(busy, id) === 0,
    submit(job: SendJob): void {
      // The ring has room for every arena's job at once, and an arena has one job at most.
      const at = (write % JOBS) * JOB_WORDS;
      jobs[at + J.fd] = job.fd;
      jobs[at + J.count] = job.count;
      jobs[at + J.low] = Number(job.address & 0xffff_ffffn) | 0;
      jobs[at + J.high] = Number(job.address >> 32n) | 0;
      jobs[at + J.arena] = job.arena;
      Atomics.store(busy, job.arena, 1);
      Atomics.store(control, C.jobWrite, ++write);
      // A notify takes the runtime's wait-list lock, a few µs a batch: only
      // when the worker sleeps. It says so before it checks for jobs, and
      // this store comes before this load, so one of the two sees the other.
      if (Atomics.load(control, C.workerWaits) === 1) Atomics.notify(control, C.jobWrite);
    },
    waitFree(id: number): void {
      while (Atomics.load(busy, id) !== 0) {
        drain();
        if (Atomics.load(control, C.state) !== SenderState.ready) {
          // The worker is gone with the batch: its probes count as lost (their
          // tries time out and are sent again), and batches go out inline now.
          Atomics.store(busy, id, 0);
          break;
        }
        Atomics.store(control, C.scanWaits, 1);
        Atomics.wait(busy, id, 1, 5);
        Atomics.store(control, C.scanWaits, 0);
      }
      drain();
    },
    drain,
    async close(): Promise<void> {
      if (worker === undefined) return;
      const deadline = performance.now() + 5000;
      while (
        Atomics.load(control, C.state) === SenderState.ready &&
        Atomics.load(control, C.jobRead) !== write && performance.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      drain();
      Atomics.store(control, C.stop, 1);
      Atomics.notify(control, C.jobWrite);
      while (
        Atomics.load(control, C.state) === SenderState.ready && performance.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      worker.terminate();
    },
  };
  return offload;
}

/** The worker's loop: send each job's batch, report refusals, free its arena. */
export function serveSendOffload(
  buffer: SharedArrayBuffer,
  sendmmsg: (fd: number, address: bigint, count: number) => number,
  errno: () => number,
): void {
  const { control, jobs, busy, failures } = offloadMemory(buffer);
  Atomics.store(control, C.state, SenderState.ready);
  let read = Atomics.load(control, C.jobRead);
  for (;;) {
    const write = Atomics.load(control, C.jobWrite);
    if (read === write) {
      if (Atomics.load(control, C.stop) === 1) break;
      Atomics.store(control, C.workerWaits, 1);
      // A job queued since the load above makes this return at once.
      Atomics.wait(control, C.jobWrite, write, 50);
      Atomics.store(control, C.workerWaits, 0);
      continue;
    }
    const at = (read % JOBS) * JOB_WORDS;
    const fd = jobs[at + J.fd]!;
    const count = jobs[at + J.count]!;
    const address = (BigInt(jobs[at + J.high]! >>> 0) << 32n) | BigInt(jobs[at + J.low]! >>> 0);
    const arena = jobs[at + J.arena]!;
    sendBatch(fd, address, count, arena);
    Atomics.store(busy, arena, 0);
    if (Atomics.load(control, C.scanWaits) === 1) Atomics.notify(busy, arena);
    Atomics.store(control, C.jobRead, ++read);
  }
  Atomics.store(control, C.state, SenderState.closed);

  function sendBatch(fd: number, address: bigint, count: number, arena: number): void {
    sendAll(count, {
      send: (first, left) => sendmmsg(fd, address + BigInt(first * MMSGHDR_SIZE), left),
      errno,
      refuse: (index, error) => refuse(arena, index, error),
    });
  }

  function refuse(arena: number, index: number, error: number): void {
    // Room is made by the scan's thread reading refusals (it does while it waits for an arena).
    while (
      Atomics.load(control, C.failWrite) - Atomics.load(control, C.failRead) >= FAILURES
    ) {
      Atomics.wait(control, C.failRead, Atomics.load(control, C.failRead), 5);
    }
    const write = Atomics.load(control, C.failWrite);
    const at = (write % FAILURES) * FAILURE_WORDS;
    failures[at] = arena;
    failures[at + 1] = index;
    failures[at + 2] = error;
    Atomics.store(control, C.failWrite, write + 1);
  }
}
