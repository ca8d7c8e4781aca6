/**
 * The shared memory between the scan's thread and a connect worker: two
 * single-producer, single-consumer rings of fixed 64-byte records (tries one
 * way, answers the other) and a few control words. Records are written whole
 * before the producer's index is published with `Atomics.store`, so the
 * consumer never reads half a record.
 *
 * @module
 */

/** Bytes of one record. */
export const RECORD_BYTES = 64;
const RECORD_WORDS = RECORD_BYTES / 4;

/** Records in the ring of tries (scan thread → worker). */
export const REQUEST_RECORDS = 4096;
/** Records in the ring of answers (worker → scan thread). */
export const ANSWER_RECORDS = 8192;

/** Control words (Int32 indexes). */
export const Control = {
  requestWrite: 0,
  requestRead: 1,
  answerWrite: 2,
  answerRead: 3,
  /** {@link WorkerState}. */
  state: 4,
  /** The scan thread's last sign of life, seconds on its clock. */
  heartbeat: 5,
} as const;

/** Life of a worker, in {@link Control.state}. */
export const WorkerState = {
  starting: 0,
  ready: 1,
  closed: 2,
  failed: 3,
} as const;

/** What a request record asks. */
export const RequestOp = { send: 1, release: 2, shutdown: 3 } as const;

/** What an answer record tells. */
export const AnswerKind = {
  open: 1,
  refused: 2,
  self: 3,
  unreachable: 4,
  /** The try could not be sent (no descriptor): the slot is in `slot`. */
  failed: 5,
} as const;

const CONTROL_BYTES = 64;
/** Where the worker's read point lives (a BigInt64 of microseconds on the scan thread's clock). */
const CAUGHT_UP_OFFSET = 32;

/** Views over one shared buffer. */
export interface RingMemory {
  buffer: SharedArrayBuffer;
  control: Int32Array;
  /** The worker's read point, µs on the scan thread's clock (-1: none yet). */
  caughtUp: BigInt64Array;
  requests: Int32Array;
  answers: Int32Array;
  answerBytes: Uint8Array;
  answerFloats: Float64Array;
}

/** Allocate a ring pair, or view an existing buffer (the worker's side). */
export function ringMemory(buffer?: SharedArrayBuffer): RingMemory {
  const requestBytes = REQUEST_RECORDS * RECORD_BYTES;
  const answerBytes = ANSWER_RECORDS * RECORD_BYTES;
  const shared = buffer ?? new SharedArrayBuffer(CONTROL_BYTES + requestBytes + answerBytes);
  const memory: RingMemory = {
    buffer: shared,
    control: new Int32Array(shared, 0, 8),
    caughtUp: new BigInt64Array(shared, CAUGHT_UP_OFFSET, 1),
    requests: new Int32Array(shared, CONTROL_BYTES, requestBytes / 4),
    answers: new Int32Array(shared, CONTROL_BYTES + requestBytes, answerBytes / 4),
    answerBytes: new Uint8Array(shared, CONTROL_BYTES + requestBytes, answerBytes),
    answerFloats: new Float64Array(shared, CONTROL_BYTES + requestBytes, answerBytes / 8),
  };
  if (buffer === undefined) Atomics.store(memory.caughtUp, 0, -1n);
  return memory;
}

/** Word offset of request record `index` (a running count). */
export function requestAt(index: number): number {
  return (index % REQUEST_RECORDS) * RECORD_WORDS;
}

/** Word offset of answer record `index` (a running count). */
export function answerAt(index: number): number {
  return (index % ANSWER_RECORDS) * RECORD_WORDS;
}

/*
 * Request record words: 0 op, 1 slot, 2 unit, 3 attempt, 4 family,
 * 5–6 host index (low, high 32 bits), 8–11 address (IPv4: word 8 alone).
 * Answer record words: 0 kind, 1 slot, 2 unit, 3 attempt, 4–5 host index,
 * 6–7 arrival time (a float64, ms on the scan thread's clock), bytes 32–63
 * the reason of an unreachable answer (ASCII, NUL-padded).
 */

/** Request record fields. */
export const Req = { op: 0, slot: 1, unit: 2, attempt: 3, family: 4, indexLow: 5, indexHigh: 6 };
/** First word of a request's address. */
export const REQ_ADDRESS = 8;
/** Answer record fields. */
export const Ans = { kind: 0, slot: 1, unit: 2, attempt: 3, indexLow: 4, indexHigh: 5 };
/** Float64 index of an answer's time within its record. */
export const ANS_AT = 3;
/** Byte offset of an answer's reason within its record. */
export const ANS_REASON = 32;
/** Longest reason an answer carries. */
export const REASON_BYTES = 31;

/** Split a host index (< 2^53) into two 32-bit words. */
export function splitIndex(index: number): [number, number] {
  return [index % 0x1_0000_0000 | 0, Math.floor(index / 0x1_0000_0000) | 0];
}

/** Join two 32-bit words into a host index. */
export function joinIndex(low: number, high: number): number {
  return (high >>> 0) * 0x1_0000_0000 + (low >>> 0);
}
