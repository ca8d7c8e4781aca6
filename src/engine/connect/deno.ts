/**
 * Connect attempts through `Deno.connect`: a transport of the one scheduler
 * that needs only `--allow-net`. Slower than epoll and prone to the
 * runtime's own queueing under load, which the scheduler sees as a growing
 * round trip and slows down for. As with epoll, a try the scheduler times
 * out is retried on a new connection while the one before stays open for a
 * late answer.
 *
 * @module
 */

import type { Answer, Probe } from "../transport.ts";
import { connectAnswer, type ConnectOutcome, type ConnectTransport } from "./outcome.ts";

/** Options of {@link createDenoTransport}. */
export interface DenoTransportOptions {
  /** The plan's ports: a probe's unit indexes them. */
  ports: readonly number[];
  /** Upper bound on units in flight (default {@link DENO_CAPACITY}). */
  capacity?: number;
}

/**
 * Connections in flight at most. Deno's runtime hands over at most about 128
 * completed operations per turn of its event loop (tokio's cooperative
 * budget); with more in flight, completions wait turns behind others and a
 * read point could no longer be told.
 */
export const DENO_CAPACITY = 128;

/** The outcome an error of `Deno.connect` stands for, or undefined for a local shortage. */
function classify(error: unknown): ConnectOutcome | undefined {
  if (error instanceof Deno.errors.ConnectionRefused) return { kind: "refused" };
  // A reset after the handshake: the port accepted and dropped the connection.
  if (error instanceof Deno.errors.ConnectionReset) return { kind: "open" };
  // Linux reports an ICMP net unreachable to a connecting socket as a soft
  // error: this one is our own routing table refusing before anything was sent.
  if (error instanceof Deno.errors.NetworkUnreachable) {
    return { kind: "unreachable", reason: "no-route" };
  }
  if (error instanceof Deno.errors.AddrNotAvailable) return undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (/os error 113\b|No route to host/i.test(message)) {
    return { kind: "unreachable", reason: "host-unreach" };
  }
  if (/os error (1|13)\b|Permission denied|not permitted/i.test(message)) {
    return { kind: "unreachable", reason: "admin-prohibited" };
  }
  if (/os error (24|23|105)\b|Too many open files|No buffer space/i.test(message)) {
    return undefined;
  }
  return { kind: "unreachable", reason: "error" };
}

/** A transport on `Deno.connect`. */
export function createDenoTransport(options: DenoTransportOptions): ConnectTransport {
  const ports = options.ports;
  /** Per slot: the controllers of its latest try and of the one before. */
  const latest = new Map<number, AbortController>();
  const previous = new Map<number, AbortController>();
  let ready: Answer[] = [];
  const failed: number[] = [];
  let wake: (() => void) | undefined;
  /**
   * When the scheduler last yielded to the event loop. Deno resolves every
   * connection its reactor finds ready when it gets the thread, so what had
   * completed by then has been handed over (answers are only ever late for
   * want of the thread, which this read point accounts for).
   */
  let yieldedAt = performance.now();
  let caughtUpAt = yieldedAt;

  function forget(slot: number, controller: AbortController): void {
    if (latest.get(slot) === controller) latest.delete(slot);
    if (previous.get(slot) === controller) previous.delete(slot);
  }

  function push(probe: Probe, outcome: ConnectOutcome): void {
    ready.push(connectAnswer(probe, outcome, performance.now()));
    const resolve = wake;
    wake = undefined;
    resolve?.();
  }

  return {
    name: "deno",
    capacity: options.capacity ?? DENO_CAPACITY,
    send(probe: Probe): void {
      // The probe object is reused by the scheduler: keep what the answer needs.
      const sent: Probe = { ...probe };
      const slot = probe.slot;
      const port = ports[probe.unit]!;
      const controller = new AbortController();
      previous.get(slot)?.abort();
      const before = latest.get(slot);
      if (before !== undefined) previous.set(slot, before);
      latest.set(slot, controller);
      const hostname = probe.host.address;
      Deno.connect({ hostname, port, signal: controller.signal }).then(
        (conn) => {
          forget(slot, controller);
          const local = conn.localAddr as Deno.NetAddr;
          const self = local.port === port && local.hostname === hostname;
          try {
            conn.close();
          } catch { /* already closed */ }
          if (!controller.signal.aborted) push(sent, self ? { kind: "self" } : { kind: "open" });
        },
        (error) => {
          forget(slot, controller);
          if (controller.signal.aborted) return;
          const outcome = classify(error);
          if (outcome === undefined) failed.push(slot);
          else push(sent, outcome);
        },
      );
    },
    flush(): number[] {
      return failed.splice(0);
    },
    receive(): Answer[] {
      const out = ready;
      ready = [];
      return out;
    },
    async wait(ms: number): Promise<void> {
      // Always a turn of the event loop: that is where connections settle.
      yieldedAt = performance.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        if (ready.length > 0) {
          timer = setTimeout(resolve, 0);
          return;
        }
        wake = resolve;
        timer = setTimeout(resolve, Math.max(0, ms));
      });
      clearTimeout(timer);
      wake = undefined;
      caughtUpAt = yieldedAt;
    },
    now: () => performance.now(),
    caughtUp: () => caughtUpAt,
    release(slot: number): void {
      latest.get(slot)?.abort();
      previous.get(slot)?.abort();
      latest.delete(slot);
      previous.delete(slot);
    },
    close(): void {
      for (const controller of latest.values()) controller.abort();
      for (const controller of previous.values()) controller.abort();
      latest.clear();
      previous.clear();
    },
  };
}
