/**
 * The sender worker of a raw scan (see send_offload.ts): `sendmmsg` on
 * batches the scan's thread wrote into off-heap arenas.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { SenderState, serveSendOffload, STATE_WORD } from "./send_offload.ts";

const SYMBOLS = {
  sendmmsg: { parameters: ["i32", "pointer", "u32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

self.onmessage = (event: MessageEvent<SharedArrayBuffer>): void => {
  self.onmessage = null;
  const control = new Int32Array(event.data, 0, STATE_WORD + 1);
  let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;
  try {
    lib = Deno.dlopen("libc.so.6", SYMBOLS);
    const symbols = lib.symbols;
    const location = symbols.__errno_location();
    const errnoView = location === null ? undefined : new Deno.UnsafePointerView(location);
    serveSendOffload(
      event.data,
      (fd, address, count) => symbols.sendmmsg(fd, Deno.UnsafePointer.create(address), count, 0),
      () => errnoView?.getInt32(0) ?? 0,
    );
  } catch (error) {
    // The scan's thread sees the state and sends inline; the reason goes to its console.
    Atomics.store(control, STATE_WORD, SenderState.failed);
    console.error(`portolan: the send worker stopped: ${(error as Error).message}`);
  } finally {
    lib?.close();
  }
  self.close();
};
