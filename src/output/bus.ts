/**
 * Fans the events of one scan out to every output plugin. Each subscriber
 * has its own queue, so a slow output never makes another one wait.
 *
 * @module
 */

import type { OutputPlugin, OutputWriter, ScanEvent } from "../plugin/types.ts";

/** One subscriber's view of the bus. */
export interface Subscription extends AsyncIterableIterator<ScanEvent> {
  /** Stop receiving; queued events are dropped. */
  return(): Promise<IteratorResult<ScanEvent>>;
}

/** An event fan-out. */
export interface EventBus {
  /** A new subscriber; it sees every event (or those of `types`) emitted from now on, in order. */
  subscribe(types?: readonly ScanEvent["type"][]): Subscription;
  /**
   * Whether a subscriber now takes events of `type`: the router asks before
   * making a per-verdict event no output would read.
   */
  wants(type: ScanEvent["type"]): boolean;
  /** Send an event to every subscriber. Ignored after {@link EventBus.close}. */
  emit(event: ScanEvent): void;
  /** End every subscription once its queued events are read. */
  close(): void;
}

// Compact a queue once this many events have been read from its front.
const COMPACT_AT = 1024;

/**
 * Create an event bus.
 *
 * @example
 * ```ts
 * import { createEventBus } from "./bus.ts";
 * const bus = createEventBus();
 * const events = bus.subscribe();
 * bus.close();
 * for await (const event of events) console.log(event.type);
 * ```
 */
export function createEventBus(): EventBus {
  const subscribers = new Set<Queue>();
  let closed = false;

  return {
    subscribe(types?: readonly ScanEvent["type"][]): Subscription {
      const queue = new Queue(() => subscribers.delete(queue), types);
      if (closed) queue.end();
      else subscribers.add(queue);
      return queue;
    },
    wants(type: ScanEvent["type"]): boolean {
      for (const queue of subscribers) if (queue.takes(type)) return true;
      return false;
    },
    emit(event: ScanEvent): void {
      if (closed) return;
      for (const queue of subscribers) queue.push(event);
    },
    close(): void {
      if (closed) return;
      closed = true;
      for (const queue of subscribers) queue.end();
      subscribers.clear();
    },
  };
}

class Queue implements Subscription {
  #items: (ScanEvent | undefined)[] = [];
  #head = 0;
  #ended = false;
  #waiting: ((result: IteratorResult<ScanEvent>) => void) | undefined;
  #detach: () => void;
  #types: ReadonlySet<ScanEvent["type"]> | undefined;

  constructor(detach: () => void, types?: readonly ScanEvent["type"][]) {
    this.#detach = detach;
    this.#types = types === undefined ? undefined : new Set(types);
  }

  takes(type: ScanEvent["type"]): boolean {
    return this.#types === undefined || this.#types.has(type);
  }

  push(event: ScanEvent): void {
    if (!this.takes(event.type)) return;
    const resolve = this.#waiting;
    if (resolve !== undefined) {
      this.#waiting = undefined;
      resolve({ value: event, done: false });
      return;
    }
    this.#items.push(event);
  }

  end(): void {
    this.#ended = true;
    const resolve = this.#waiting;
    if (resolve !== undefined) {
      this.#waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<ScanEvent>> {
    if (this.#head < this.#items.length) {
      const event = this.#items[this.#head] as ScanEvent;
      // Release the reference so a read event can be collected before compaction.
      this.#items[this.#head++] = undefined;
      if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value: event, done: false });
    }
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    if (this.#waiting !== undefined) {
      return Promise.reject(new Error("Cannot read event queue: a read is already pending"));
    }
    return new Promise((resolve) => {
      this.#waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<ScanEvent>> {
    this.#items = [];
    this.#head = 0;
    this.#detach();
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): Subscription {
    return this;
  }
}

/** An output plugin and where it writes. */
export interface OutputTarget {
  plugin: OutputPlugin;
  writer: OutputWriter;
}

/**
 * Subscribe every plugin to the bus and run them side by side. A plugin that
 * fails stops receiving events; the others go on. Resolves, once all are
 * done, to the errors of the ones that failed.
 *
 * Subscriptions are made before this returns, so emit events only after
 * calling it.
 */
export function runOutputs(targets: readonly OutputTarget[], bus: EventBus): Promise<Error[]> {
  const runs = targets.map(async ({ plugin, writer }): Promise<Error | undefined> => {
    const events = bus.subscribe(plugin.events);
    try {
      await plugin.write(events, writer);
      return undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return new Error(`Output "${plugin.name}" failed: ${message}`, { cause: error });
    } finally {
      // A plugin that returns early must not keep queueing events.
      await events.return();
    }
  });
  return Promise.all(runs).then((results) =>
    results.filter((error): error is Error => error !== undefined)
  );
}
