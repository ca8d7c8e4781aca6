/**
 * A delay line: bridges two Ethernet interfaces at layer 2, holding every
 * frame for a fixed time before passing it on (the kernel here has no
 * netem). Runs in its own namespace between the two interfaces, on AF_PACKET
 * sockets through FFI (reading /sys needs --allow-all); prints "ready" once both sockets are bound.
 *
 * ```sh
 * deno run --allow-all tests/lab/delay_line.ts --a dlyA --b dlyB --delay 25
 * ```
 *
 * @module
 */

import {
  allocateArena,
  htons,
  MMSGHDR_SIZE,
  openRawLibc,
  RawConst,
  setIntOption,
} from "../../src/engine/raw/libc.ts";
import type { RawLibc } from "../../src/engine/raw/libc.ts";
import { BatchSender } from "../../src/engine/raw/sender.ts";

const BATCH = 64;
const SLOT = 2048;
/** Frames held at most; beyond, frames are dropped as a full queue would. */
const MAX_QUEUED = 200_000;

interface Side {
  fd: number;
  index: number;
  sender: BatchSender;
  queue: { at: number; frame: Uint8Array }[];
  head: number;
}

function openSide(libc: RawLibc, name: string): Side {
  const index = Number(Deno.readTextFileSync(`/sys/class/net/${name}/ifindex`).trim());
  const fd = libc.symbols.socket(
    RawConst.AF_PACKET,
    RawConst.SOCK_RAW | RawConst.SOCK_CLOEXEC,
    htons(RawConst.ETH_P_ALL),
  );
  if (fd < 0) throw new Error(`Cannot open AF_PACKET socket (errno ${libc.errno()})`);
  const address = allocateArena(20);
  address.view.setUint16(0, RawConst.AF_PACKET, true);
  address.view.setUint16(2, RawConst.ETH_P_ALL, false);
  address.view.setInt32(4, index, true);
  if (libc.symbols.bind(fd, address.bytes, 20) !== 0) {
    throw new Error(`Cannot bind to ${name} (errno ${libc.errno()})`);
  }
  setIntOption(libc, fd, RawConst.SOL_PACKET, RawConst.PACKET_IGNORE_OUTGOING, 1);
  setIntOption(libc, fd, RawConst.SOL_SOCKET, RawConst.SO_RCVBUFFORCE, 16 * 1024 * 1024);
  setIntOption(libc, fd, RawConst.SOL_SOCKET, RawConst.SO_SNDBUFFORCE, 16 * 1024 * 1024);
  return {
    fd,
    index,
    sender: new BatchSender(libc, fd, { slots: BATCH, slotSize: SLOT }),
    queue: [],
    head: 0,
  };
}

function parseArgs(args: string[]): { a: string; b: string; delay: number } {
  const options = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    options.set(args[i]!.replace(/^--/, ""), args[i + 1] ?? "");
  }
  const a = options.get("a");
  const b = options.get("b");
  const delay = Number(options.get("delay") ?? "0");
  if (!a || !b || !(delay >= 0)) {
    throw new SyntaxError(
      `Cannot parse delay line options "${args.join(" ")}": need --a, --b, --delay`,
    );
  }
  return { a, b, delay };
}

function main(): void {
  const { a, b, delay } = parseArgs(Deno.args);
  const libc = openRawLibc();
  if (libc === undefined) throw new Error("Cannot run the delay line: FFI not allowed");
  const sides = [openSide(libc, a), openSide(libc, b)] as const;
  const arena = allocateArena(BATCH * (MMSGHDR_SIZE + 16 + SLOT));
  const iovBase = BATCH * MMSGHDR_SIZE;
  const dataBase = iovBase + BATCH * 16;
  for (let i = 0; i < BATCH; i++) {
    arena.view.setBigUint64(i * MMSGHDR_SIZE + 16, arena.address + BigInt(iovBase + i * 16), true);
    arena.view.setBigUint64(i * MMSGHDR_SIZE + 24, 1n, true);
    arena.view.setBigUint64(iovBase + i * 16, arena.address + BigInt(dataBase + i * SLOT), true);
    arena.view.setBigUint64(iovBase + i * 16 + 8, BigInt(SLOT), true);
  }
  const vector = arena.bytes.subarray(0, iovBase);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  console.log("ready");
  for (;;) {
    let busy = false;
    for (let s = 0; s < 2; s++) {
      const from = sides[s]!;
      const to = sides[1 - s]!;
      const count = libc.symbols.recvmmsg(from.fd, vector, BATCH, RawConst.MSG_DONTWAIT, null);
      const now = performance.now();
      for (let i = 0; i < count; i++) {
        const length = Math.min(arena.view.getUint32(i * MMSGHDR_SIZE + 56, true), SLOT);
        if (to.queue.length - to.head >= MAX_QUEUED) continue;
        to.queue.push({
          at: now + delay,
          frame: arena.bytes.slice(dataBase + i * SLOT, dataBase + i * SLOT + length),
        });
      }
      if (count > 0) busy = true;
    }
    const now = performance.now();
    for (const side of sides) {
      while (side.head < side.queue.length && side.queue[side.head]!.at <= now) {
        const { frame } = side.queue[side.head++]!;
        const slot = side.sender.next();
        slot.packet.set(frame);
        const name = new DataView(slot.name.buffer, slot.name.byteOffset, 20);
        slot.name.fill(0, 0, 20);
        name.setUint16(0, RawConst.AF_PACKET, true);
        name.setInt32(4, side.index, true);
        side.sender.commit(frame.length, 20, 0);
        if (side.sender.full) side.sender.flush();
        busy = true;
      }
      if (side.sender.queued > 0) side.sender.flush();
      if (side.head > 4096 && side.head * 2 > side.queue.length) {
        side.queue = side.queue.slice(side.head);
        side.head = 0;
      }
    }
    if (!busy) Atomics.wait(nap, 0, 0, 0.2);
  }
}

if (import.meta.main) main();
