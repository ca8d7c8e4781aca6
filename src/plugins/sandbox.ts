/**
 * User plugins in a sandbox: `--plugin PATH` loads the module inside a
 * Worker that may read its own file and portolan's sources (to import the
 * plugin helpers) and nothing else: no network, no writes, no environment,
 * no subprocesses, no FFI. Events go in and text
 * comes out by message; the parent writes the text where the user asked.
 *
 * Worker permissions are an unstable Deno API (`--unstable-worker-options`,
 * which the tasks pass). Without it the sandbox cannot be built, and
 * {@link loadSandboxedOutputPlugins} says so instead of loading the plugin
 * with the scanner's own permissions.
 *
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { LoadedOutputPlugin } from "./loader.ts";
import type { FromSandbox, ToSandbox } from "./sandbox_worker.ts";
import type { OutputPlugin, OutputWriter, ScanEvent } from "./types.ts";

/** Plugins loaded into one sandbox, and the sandbox's off switch. */
export interface Sandbox {
  plugins: LoadedOutputPlugin[];
  /** End the Worker (after the outputs are done). */
  close(): void;
}

interface Session {
  out: OutputWriter;
  writing: Promise<void>;
  finish: (error?: Error) => void;
}

/** Load the output plugins of `path` into a fresh sandbox. */
export async function loadSandboxedOutputPlugins(
  path: string,
  options: { cwd?: string } = {},
): Promise<Sandbox> {
  const absolute = resolve(options.cwd ?? Deno.cwd(), path);
  let worker: Worker;
  try {
    worker = new Worker(new URL("./sandbox_worker.ts", import.meta.url).href, {
      type: "module",
      deno: {
        permissions: {
          // Its own file, and portolan's own sources so it can import the plugin helpers.
          read: [absolute, fileURLToPath(new URL("../", import.meta.url))],
          write: false,
          net: false,
          env: false,
          run: false,
          ffi: false,
          sys: false,
          import: false,
        },
      },
    });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot load plugin "${path}": the sandbox is unavailable (${why.split("\n")[0]})`,
    );
  }
  const sessions = new Map<number, Session>();
  let nextId = 1;
  let onLoad: ((message: FromSandbox) => void) | undefined;

  worker.onmessage = (message: MessageEvent<FromSandbox>): void => {
    const data = message.data;
    if (data.type === "loaded" || data.type === "load-error") {
      onLoad?.(data);
      return;
    }
    const session = sessions.get(data.id);
    if (session === undefined) return;
    if (data.type === "write") {
      const text = data.text;
      session.writing = session.writing.then(() => session.out.write(text));
    } else if (data.type === "done") {
      session.finish();
    } else {
      session.finish(new Error(data.message));
    }
  };
  worker.onerror = (event: ErrorEvent): void => {
    event.preventDefault();
    const error = new Error(event.message);
    onLoad?.({ type: "load-error", message: event.message });
    for (const session of sessions.values()) session.finish(error);
  };

  const loaded = await new Promise<FromSandbox>((resolve) => {
    onLoad = resolve;
    worker.postMessage({ type: "load", path: absolute } satisfies ToSandbox);
  });
  onLoad = undefined;
  if (loaded.type === "load-error") {
    worker.terminate();
    // The sandbox names the absolute path; the user knows the file by what they typed.
    throw new Error(loaded.message.replace(`"${absolute}"`, `"${path}"`));
  }
  if (loaded.type !== "loaded") throw new Error(`Cannot load plugin "${path}": sandbox failed`);

  function proxy(name: string, description: string): OutputPlugin {
    return {
      name,
      description,
      async write(events: AsyncIterable<ScanEvent>, out: OutputWriter): Promise<void> {
        const id = nextId++;
        let finish!: (error?: Error) => void;
        const finished = new Promise<void>((resolve, reject) => {
          finish = (error?: Error): void => (error ? reject(error) : resolve());
        });
        const session: Session = { out, writing: Promise.resolve(), finish };
        sessions.set(id, session);
        worker.postMessage({ type: "start", id, name } satisfies ToSandbox);
        try {
          let failed = false;
          finished.catch(() => (failed = true));
          for await (const event of events) {
            if (failed) break;
            worker.postMessage({ type: "event", id, event } satisfies ToSandbox);
          }
          worker.postMessage({ type: "end", id } satisfies ToSandbox);
          await finished;
          await session.writing;
        } finally {
          sessions.delete(id);
        }
      },
    };
  }

  return {
    plugins: loaded.plugins.map(({ name, description, exportName }) => ({
      name,
      description,
      exportName,
      path,
      factory: () => proxy(name, description),
    })),
    close(): void {
      worker.terminate();
    },
  };
}
