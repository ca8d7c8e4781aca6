/**
 * The raw engine's receive Worker: loops on blocking `recvmmsg` over an
 * AF_PACKET socket (all protocols, outgoing packets ignored, an 8 MB buffer,
 * the scan's BPF filter), validates each packet against the scan's cookies
 * and hands {@link ReplyRecord}s to the scanner. A receive
 * timeout lets it see the stop flag; the socket's drop counter is summed
 * into the shared ring, which also carries the replies ({@link ReplyRing})
 * and the time up to which the socket has been read (so the scanner never
 * calls a probe silent while its answer still waits in the socket).
 *
 * Messages: in `{ type: "start", config }`; out `{ type: "ready" }`,
 * `{ type: "error", message }`, `{ type: "closed" }`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { parseReply } from "../../packet/mod.ts";
import {
  allocateArena,
  htons,
  MMSGHDR_SIZE,
  openRawLibc,
  RawConst,
  RawErrno,
  type RawLibc,
  setIntOption,
} from "./libc.ts";
import { type ReceiverConfig, ReplyRing } from "./types.ts";
import {
  createTcp4Scratch,
  FRAME_OTHER,
  FRAME_RECORD,
  readTcp4Frame,
  validateReply,
} from "./validate.ts";

const BATCH = 256;
const SLOT = 2048;
const RECEIVE_BUFFER = 8 * 1024 * 1024;

function openSocket(libc: RawLibc, config: ReceiverConfig): number {
  const fd = libc.symbols.socket(
    RawConst.AF_PACKET,
    RawConst.SOCK_RAW | RawConst.SOCK_CLOEXEC,
    htons(RawConst.ETH_P_ALL),
  );
  if (fd < 0) throw new Error(`Cannot open AF_PACKET socket (errno ${libc.errno()})`);
  const fail = (what: string, errno: number): never => {
    libc.symbols.close(fd);
    throw new Error(`Cannot set ${what} on the receive socket (errno ${errno})`);
  };
  // The filter first, so that little but our replies is ever queued.
  const program = allocateArena(16 + config.filter.length);
  program.bytes.set(config.filter, 16);
  program.view.setUint16(0, config.filter.length / 8, true);
  program.view.setBigUint64(8, program.address + 16n, true);
  if (
    libc.symbols.setsockopt(
      fd,
      RawConst.SOL_SOCKET,
      RawConst.SO_ATTACH_FILTER,
      program.bytes.subarray(0, 16),
      16,
    ) !== 0
  ) {
    fail("SO_ATTACH_FILTER", libc.errno());
  }
  let errno = setIntOption(libc, fd, RawConst.SOL_PACKET, RawConst.PACKET_IGNORE_OUTGOING, 1);
  if (errno !== 0) fail("PACKET_IGNORE_OUTGOING", errno);
  errno = setIntOption(libc, fd, RawConst.SOL_SOCKET, RawConst.SO_RCVBUFFORCE, RECEIVE_BUFFER);
  if (errno !== 0) {
    errno = setIntOption(libc, fd, RawConst.SOL_SOCKET, RawConst.SO_RCVBUF, RECEIVE_BUFFER);
    if (errno !== 0) fail("SO_RCVBUF", errno);
  }
  const timeout = allocateArena(16);
  timeout.view.setBigInt64(0, BigInt(Math.floor(config.pollMs / 1000)), true);
  timeout.view.setBigInt64(8, BigInt((config.pollMs % 1000) * 1000), true);
  if (
    libc.symbols.setsockopt(fd, RawConst.SOL_SOCKET, RawConst.SO_RCVTIMEO, timeout.bytes, 16) !== 0
  ) {
    fail("SO_RCVTIMEO", libc.errno());
  }
  return fd;
}

function run(config: ReceiverConfig): void {
  const libc = openRawLibc();
  const ring = new ReplyRing(config.shared);
  if (libc === undefined) throw new Error("Cannot open libc in the receive worker: FFI denied");
  const fd = openSocket(libc, config);
  try {
    const arena = allocateArena(BATCH * (MMSGHDR_SIZE + 16 + SLOT) + 16);
    const iovBase = BATCH * MMSGHDR_SIZE;
    const dataBase = iovBase + BATCH * 16;
    for (let i = 0; i < BATCH; i++) {
      const header = i * MMSGHDR_SIZE;
      arena.view.setBigUint64(header + 16, arena.address + BigInt(iovBase + i * 16), true);
      arena.view.setBigUint64(header + 24, 1n, true);
      arena.view.setBigUint64(iovBase + i * 16, arena.address + BigInt(dataBase + i * SLOT), true);
      arena.view.setBigUint64(iovBase + i * 16 + 8, BigInt(SLOT), true);
    }
    const stats = allocateArena(16);
    const statsLength = stats.bytes.subarray(8, 12);
    const vector = arena.bytes.subarray(0, iovBase);
    let lastStats = 0;
    const scratch = createTcp4Scratch();
    ring.state = 1;
    self.postMessage({ type: "ready" });
    // Replies go through the shared ring: posted messages would wait for this
    // thread's event loop, which this loop never yields to.
    while (!ring.stopped) {
      const count = libc.symbols.recvmmsg(
        fd,
        vector,
        BATCH,
        RawConst.MSG_WAITFORONE,
        null,
      );
      const at = performance.timeOrigin + performance.now();
      if (count > 0) {
        for (let i = 0; i < count; i++) {
          const length = Math.min(arena.view.getUint32(i * MMSGHDR_SIZE + 56, true), SLOT);
          const packet = arena.bytes.subarray(dataBase + i * SLOT, dataBase + i * SLOT + length);
          // IPv4 TCP (nearly every reply of a SYN scan) is read in place; the rest in full.
          const fast = readTcp4Frame(packet, config, at, scratch);
          if (fast === FRAME_RECORD) ring.push(scratch.record);
          if (fast !== FRAME_OTHER) continue;
          const reply = parseReply(packet, { linkType: "ethernet" });
          if (reply === undefined) continue;
          const found = validateReply(reply, config, at);
          if (found !== undefined) ring.push(found);
        }
        ring.count(count, 0);
        // A short batch emptied the socket: everything that arrived by `at` is in the ring.
        if (count < BATCH) ring.caughtUp = at;
      } else if (count < 0) {
        const errno = libc.errno();
        if (errno !== RawErrno.EAGAIN && errno !== RawErrno.EINTR) {
          throw new Error(`recvmmsg failed (errno ${errno})`);
        }
        if (errno === RawErrno.EAGAIN) ring.caughtUp = at;
      }
      if (at - lastStats >= 50) {
        lastStats = at;
        stats.view.setUint32(8, 8, true);
        if (
          libc.symbols.getsockopt(
            fd,
            RawConst.SOL_PACKET,
            RawConst.PACKET_STATISTICS,
            stats.bytes.subarray(0, 8),
            statsLength,
          ) === 0
        ) {
          // Reading the statistics resets them: sum the drops.
          ring.count(0, stats.view.getUint32(4, true));
        }
      }
    }
  } finally {
    libc.symbols.close(fd);
    libc.close();
  }
}

self.onmessage = (event: MessageEvent<{ type: string; config: ReceiverConfig }>): void => {
  if (event.data.type !== "start") return;
  const ring = new ReplyRing(event.data.config.shared);
  try {
    run(event.data.config);
    self.postMessage({ type: "closed" });
  } catch (error) {
    ring.state = 2;
    self.postMessage({ type: "error", message: (error as Error).message });
  }
  self.close();
};
