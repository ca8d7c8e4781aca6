/**
 * The plugin sandbox as a Worker, where no child process can be started
 * (a compiled binary, or no permission to run Deno): {@link serveSandbox}
 * over postMessage. The Worker may read only the plugin's own file and
 * portolan's `src/`. Unlike the child process it has no heap of its own:
 * see `sandbox.ts`.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { serveSandbox, type ToSandbox } from "./sandbox_serve.ts";

export type {
  ConnSnapshot,
  FromSandbox,
  ProbeInfo,
  ReadLimits,
  ToSandbox,
  WireRead,
} from "./sandbox_serve.ts";

serveSandbox({
  send(message, transfer = []): Promise<void> {
    self.postMessage(message, transfer);
    return Promise.resolve();
  },
  listen(handler): void {
    self.onmessage = (event: MessageEvent<ToSandbox>): void => handler(event.data);
  },
});
