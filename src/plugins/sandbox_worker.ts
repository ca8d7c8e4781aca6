/**
 * The inside of the plugin sandbox: a Worker whose only permission is to
 * read the plugin's own file. It loads the plugin module, and runs each
 * output session the parent starts, passing events in and text out.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { loadOutputPlugins } from "./loader.ts";
import type { OutputPlugin, ScanEvent } from "./types.ts";

/** Messages from the parent. */
export type ToSandbox =
  | { type: "load"; path: string }
  | { type: "start"; id: number; name: string }
  | { type: "event"; id: number; event: ScanEvent }
  | { type: "end"; id: number };

/** Messages to the parent. */
export type FromSandbox =
  | { type: "loaded"; plugins: { name: string; description: string; exportName: string }[] }
  | { type: "load-error"; message: string }
  | { type: "write"; id: number; text: string }
  | { type: "done"; id: number }
  | { type: "error"; id: number; message: string };

interface Session {
  queue: ScanEvent[];
  ended: boolean;
  wake: (() => void) | undefined;
}

const factories = new Map<string, () => OutputPlugin>();
const sessions = new Map<number, Session>();

function send(message: FromSandbox): void {
  self.postMessage(message);
}

async function* eventsOf(session: Session): AsyncGenerator<ScanEvent> {
  for (;;) {
    const event = session.queue.shift();
    if (event !== undefined) {
      yield event;
      continue;
    }
    if (session.ended) return;
    await new Promise<void>((resolve) => (session.wake = resolve));
    session.wake = undefined;
  }
}

async function runSession(id: number, name: string): Promise<void> {
  const session: Session = { queue: [], ended: false, wake: undefined };
  sessions.set(id, session);
  try {
    const factory = factories.get(name);
    if (factory === undefined) throw new Error(`no plugin named "${name}" in this module`);
    await factory().write(eventsOf(session), {
      color: false,
      write(text: string): Promise<void> {
        send({ type: "write", id, text: String(text) });
        return Promise.resolve();
      },
    });
    send({ type: "done", id });
  } catch (error) {
    send({ type: "error", id, message: error instanceof Error ? error.message : String(error) });
  } finally {
    sessions.delete(id);
  }
}

self.onmessage = async (message: MessageEvent<ToSandbox>): Promise<void> => {
  const data = message.data;
  switch (data.type) {
    case "load":
      try {
        const loaded = await loadOutputPlugins(data.path);
        for (const plugin of loaded) factories.set(plugin.name, plugin.factory);
        send({
          type: "loaded",
          plugins: loaded.map(({ name, description, exportName }) => ({
            name,
            description,
            exportName,
          })),
        });
      } catch (error) {
        send({
          type: "load-error",
          message: error instanceof Error ? error.message : String(error),
        });
      }
      break;
    case "start":
      void runSession(data.id, data.name);
      break;
    case "event":
    case "end": {
      const session = sessions.get(data.id);
      if (session === undefined) break;
      if (data.type === "event") session.queue.push(data.event);
      else session.ended = true;
      session.wake?.();
      break;
    }
  }
};
