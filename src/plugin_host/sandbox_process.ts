/**
 * The plugin sandbox as a child process: `deno run` of this file with read
 * permission for the plugin's file and portolan's `src/` only, a V8 heap
 * limit, stdout and stderr to /dev/null, and a Unix socket to the scanner
 * (args: the socket's path, the scanner's pid). The scanner can kill it
 * whatever the plugin does (a spin, an exit, a heap blow-up), which a Worker
 * does not allow.
 *
 * Before the plugin loads it asks the kernel to kill it when the scanner
 * dies (prctl PR_SET_PDEATHSIG: a plugin spinning forever must not outlive
 * a SIGKILLed scanner), then drops the FFI and write permission that took,
 * the Worker constructor (a nested Worker would get a heap of its own), and
 * `Deno.cwd()` / `Deno.execPath()`.
 *
 * @module
 */

import { encodeFrame, readFrames, writeAll } from "./sandbox_frames.ts";
import { serveSandbox, type ToSandbox } from "./sandbox_serve.ts";

const PR_SET_PDEATHSIG = 1;
const SIGKILL = 9n;

async function dieWithParent(parent: number): Promise<void> {
  try {
    const libc = Deno.dlopen("libc.so.6", {
      prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
    });
    libc.symbols.prctl(PR_SET_PDEATHSIG, SIGKILL, 0n, 0n, 0n);
    libc.close();
  } catch {
    // Best effort, whatever Deno's plain Error says (no libc by that name, say): the
    // socket's end still stops an idle sandbox.
  }
  await Deno.permissions.revoke({ name: "ffi" });
  // The scanner died before the request took: nothing would kill us later.
  if (Deno.ppid !== parent) Deno.exit(0);
}

if (import.meta.main) {
  const [path, parent] = Deno.args;
  if (path === undefined || parent === undefined) Deno.exit(2);
  await dieWithParent(Number(parent));
  const conn = await Deno.connect({ transport: "unix", path });
  // One connection is all it needs: the plugin gets no socket and no writes.
  await Deno.permissions.revoke({ name: "net" });
  await Deno.permissions.revoke({ name: "write" });
  Reflect.deleteProperty(globalThis, "Worker");
  // Where it runs and what runs it are none of the plugin's business.
  for (const name of ["cwd", "execPath"]) {
    Object.defineProperty(Deno, name, {
      value: (): never => {
        throw new Deno.errors.NotCapable(`Deno.${name}() is not available to a plugin`);
      },
    });
  }
  let chain: Promise<void> = Promise.resolve();
  serveSandbox({
    send(message): Promise<void> {
      // Encoded now, so that a message that cannot be cloned throws to the caller.
      const frame = encodeFrame(message);
      chain = chain.then(() => writeAll(conn, frame));
      return chain;
    },
    listen(handler): void {
      void (async (): Promise<void> => {
        try {
          for await (const message of readFrames(conn)) handler(message as ToSandbox);
        } catch {
          // A broken frame, or a socket the scanner dropped: either way there is nothing left
          // to serve, and the only thing to do is the exit below.
        }
        // The scanner closed its end: it is done with us.
        Deno.exit(0);
      })();
    },
  });
}
