/**
 * Connect attempts through `Deno.connect`: needs only `--allow-net`. Slower
 * than epoll and prone to the runtime's own queueing under load, which the
 * scheduler watches for and backs off from.
 *
 * @module
 */

import type { Attempt, Completion, ConnectOutcome, ConnectTransport } from "../connect_types.ts";

/** Options of {@link createDenoTransport}. */
export interface DenoTransportOptions {
  /** Upper bound on attempts in flight. */
  capacity?: number;
}

function classify(error: unknown): ConnectOutcome {
  if (error instanceof Deno.errors.ConnectionRefused) return { kind: "refused" };
  if (error instanceof Deno.errors.ConnectionReset) return { kind: "refused" };
  if (error instanceof Deno.errors.NetworkUnreachable) {
    return { kind: "unreachable", reason: "net-unreach" };
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return { kind: "local", error: "address not available" };
  }
  const message = error instanceof Error ? error.message : String(error);
  if (/os error 113\b|No route to host/i.test(message)) {
    return { kind: "unreachable", reason: "host-unreach" };
  }
  if (/os error (1|13)\b|Permission denied|not permitted/i.test(message)) {
    return { kind: "unreachable", reason: "admin-prohibited" };
  }
  if (/os error (24|23|105)\b|Too many open files|No buffer space/i.test(message)) {
    return { kind: "local", error: message };
  }
  return { kind: "unreachable", reason: "error" };
}

/** A transport on `Deno.connect`. */
export function createDenoTransport(options: DenoTransportOptions = {}): ConnectTransport {
  const controllers = new Map<number, AbortController>();
  let ready: Completion[] = [];
  let wake: (() => void) | undefined;
  let nextId = 1;

  function complete(attempt: Attempt, outcome: ConnectOutcome): void {
    if (attempt.done) return;
    ready.push({ attempt, outcome, at: performance.now() });
    const resolve = wake;
    wake = undefined;
    resolve?.();
  }

  return {
    name: "deno",
    capacity: options.capacity ?? 2_048,
    start(attempt: Attempt): ConnectOutcome | undefined {
      const id = nextId++;
      const controller = new AbortController();
      controllers.set(id, controller);
      attempt.slot = id;
      const hostname = attempt.host.address;
      Deno.connect({ hostname, port: attempt.port, signal: controller.signal }).then(
        (conn) => {
          controllers.delete(id);
          const local = conn.localAddr as Deno.NetAddr;
          const self = local.port === attempt.port && local.hostname === hostname;
          try {
            conn.close();
          } catch { /* already closed */ }
          complete(attempt, self ? { kind: "self" } : { kind: "open" });
        },
        (error) => {
          controllers.delete(id);
          if (controller.signal.aborted) return;
          complete(attempt, classify(error));
        },
      );
      return undefined;
    },
    abort(attempt: Attempt): void {
      const controller = controllers.get(attempt.slot);
      controllers.delete(attempt.slot);
      controller?.abort();
      attempt.slot = -1;
    },
    async poll(ms: number): Promise<Completion[]> {
      if (ready.length === 0 && ms > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, ms);
        });
        clearTimeout(timer);
        wake = undefined;
      }
      const out = ready;
      ready = [];
      return out;
    },
    close(): void {
      for (const controller of controllers.values()) controller.abort();
      controllers.clear();
    },
  };
}
