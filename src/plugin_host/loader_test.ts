import assert from "node:assert/strict";
import { outputPlugins } from "../../plugins/mod.ts";
import {
  loadOutputPlugins,
  loadPlugins,
  mergeOutputPlugins,
  outputPluginProblem,
} from "./loader.ts";
import type { ScanEvent } from "../plugin/types.ts";

/** Write `files` into a fresh directory, run `fn` with it, then remove it. */
async function withFiles(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const GOOD = `
export const VERSION = "1";
export function render(lines: string[]): string { return lines.join("\\n"); }
export function countOutput(options: { prefix?: string } = {}) {
  let ports = 0;
  return {
    name: "count",
    description: "how many ports",
    async write(events: AsyncIterable<{ type: string }>, out: { write(t: string): Promise<void> }) {
      for await (const event of events) {
        if (event.type === "port") ports++;
        if (event.type === "end") await out.write(render([(options.prefix ?? "") + ports]));
      }
    },
  };
}
export function notAPlugin() { return 42; }
`;

async function rejectsWith(path: string, pattern: RegExp, cwd?: string): Promise<void> {
  await assert.rejects(
    () => loadOutputPlugins(path, cwd === undefined ? {} : { cwd }),
    (error: Error) => {
      assert.match(error.message, pattern);
      assert.ok(error.message.startsWith(`Cannot load plugin "${path}": `), error.message);
      assert.ok(!error.message.includes("\n"), `one line: ${error.message}`);
      return true;
    },
  );
}

Deno.test("loader finds the output plugin factories among a module's exports", async () => {
  await withFiles({ "count.ts": GOOD }, async (dir) => {
    const loaded = await loadOutputPlugins("count.ts", { cwd: dir });
    assert.equal(loaded.length, 1);
    const [count] = loaded;
    assert.equal(count?.name, "count");
    assert.equal(count?.description, "how many ports");
    assert.equal(count?.exportName, "countOutput");
    assert.equal(count?.path, "count.ts");
    // Each output gets its own plugin object (and so its own state).
    const a = count!.factory();
    const b = count!.factory();
    assert.notEqual(a, b);
    const chunks: string[] = [];
    async function* events(): AsyncGenerator<ScanEvent> {
      yield {
        type: "port",
        result: {
          address: "198.51.100.2",
          protocol: "tcp",
          port: 1,
          state: "open",
          reason: "syn-ack",
        },
      };
      yield {
        type: "port",
        result: {
          address: "198.51.100.2",
          protocol: "tcp",
          port: 2,
          state: "open",
          reason: "syn-ack",
        },
      };
      yield { type: "end", report: undefined as never, interrupted: false };
    }
    await a.write(events(), { color: false, write: (t) => Promise.resolve(void chunks.push(t)) });
    assert.deepEqual(chunks, ["2"]);
  });
});

Deno.test("loader takes an absolute path and plain JavaScript", async () => {
  const js = `export const jsOutput = () => ({ name: "js.out", description: "d", write() {} });`;
  await withFiles({ "p.mjs": js }, async (dir) => {
    const [plugin] = await loadOutputPlugins(`${dir}/p.mjs`);
    assert.equal(plugin?.name, "js.out");
  });
});

Deno.test("loader rejects a missing file, naming it", async () => {
  await rejectsWith("/nonexistent/plugin.ts", /file not found$/);
  await withFiles({}, async (dir) => {
    await rejectsWith("missing.ts", /file not found$/, dir);
    await rejectsWith(".", /not a file$/, dir);
  });
});

Deno.test("loader rejects a module that does not import", async () => {
  await withFiles({
    "syntax.ts": "export function x( {",
    "throws.ts": `throw new Error("top-level\\nsecond line");`,
  }, async (dir) => {
    await rejectsWith("syntax.ts", /import failed: /, dir);
    await rejectsWith("throws.ts", /import failed: .*top-level$/, dir);
  });
});

Deno.test("loader rejects a module without a plugin factory", async () => {
  await withFiles({
    "none.ts": `export const a = 1; export function helper(x: number) { return x; }`,
    "empty.ts": ``,
    "junk.ts": `export function f() { return "text"; }`,
  }, async (dir) => {
    for (const file of ["none.ts", "empty.ts", "junk.ts"]) {
      await rejectsWith(file, /exports no output plugin factory/, dir);
    }
  });
});

Deno.test("loader rejects a factory that returns the wrong shape", async () => {
  await withFiles({
    "nowrite.ts": `export function p() { return { name: "p", description: "d" }; }`,
    "noname.ts": `export function p() { return { description: "d", write() {} }; }`,
    "nodesc.ts": `export function p() { return { name: "p", write() {} }; }`,
    "badname.ts": `export function p() { return { name: "a:b", description: "d", write() {} }; }`,
    "async.ts": `export async function p() { return { name: "p", description: "d", write() {} }; }`,
    "object.ts": `export const p = { name: "p", description: "d", write() {} };`,
    "twice.ts": `export function a() { return { name: "p", description: "d", write() {} }; }
export function b() { return { name: "p", description: "d", write() {} }; }`,
  }, async (dir) => {
    await rejectsWith(
      "nowrite.ts",
      /export "p" returns no valid output plugin: `write` is not a function$/,
      dir,
    );
    await rejectsWith("noname.ts", /`name` is not a string$/, dir);
    await rejectsWith("nodesc.ts", /`description` is not a string$/, dir);
    await rejectsWith("badname.ts", /name "a:b" must be letters/, dir);
    await rejectsWith("async.ts", /returns a promise/, dir);
    await rejectsWith(
      "object.ts",
      /export "p" is a plugin object; export a function that returns it$/,
      dir,
    );
    await rejectsWith("twice.ts", /two exports make a plugin named "p"$/, dir);
  });
});

Deno.test("loader reports a factory that throws, in one line", async () => {
  await withFiles({
    "boom.ts": `export function boomOutput() { throw new Error("kaboom\\n  at somewhere"); }`,
  }, async (dir) => {
    await rejectsWith("boom.ts", /export "boomOutput" threw: kaboom$/, dir);
  });
});

Deno.test("merged registry: built-ins plus loaded plugins, names never shadowed", async () => {
  await withFiles({
    "a.ts": `export const a = () => ({ name: "extra", description: "d", write() {} });`,
    "b.ts": `export const b = () => ({ name: "extra", description: "d", write() {} });`,
    "json.ts": `export const j = () => ({ name: "json", description: "d", write() {} });`,
  }, async (dir) => {
    const a = await loadOutputPlugins("a.ts", { cwd: dir });
    const registry = mergeOutputPlugins(outputPlugins, a);
    assert.deepEqual([...registry.keys()].sort(), [...Object.keys(outputPlugins), "extra"].sort());
    const b = await loadOutputPlugins("b.ts", { cwd: dir });
    assert.throws(
      () => mergeOutputPlugins(outputPlugins, [...a, ...b]),
      /^Error: Cannot load plugin "b\.ts": plugin name "extra" is already taken \(by "a\.ts"\)$/,
    );
    const json = await loadOutputPlugins("json.ts", { cwd: dir });
    assert.throws(
      () => mergeOutputPlugins(outputPlugins, json),
      /plugin name "json" is already taken \(built in\)/,
    );
  });
});

Deno.test("outputPluginProblem accepts every built-in output", () => {
  for (const factory of Object.values(outputPlugins)) {
    assert.equal(outputPluginProblem(factory()), undefined);
  }
  assert.equal(outputPluginProblem(null), "it is not an object");
});

Deno.test("loadPlugins: an object with `run` is a script plugin, checked field by field", async () => {
  const script = (categories: string): string =>
    `export function title() { return { name: "t", description: "d", categories: ${categories},
       ports: [80], services: ["http"], async run() { return "x"; } }; }`;
  await withFiles(
    { "ok.ts": script(`["default"]`), "bad.ts": script(`"default"`) },
    async (dir) => {
      const loaded = await loadPlugins(`${dir}/ok.ts`);
      assert.deepEqual(loaded.scripts?.map((s) => [s.name, s.exportName]), [["t", "title"]]);
      assert.deepEqual(loaded.outputs, []);
      await assert.rejects(
        () => loadPlugins(`${dir}/bad.ts`),
        /export "title" returns no valid script plugin: `categories` is not a list of strings$/,
      );
    },
  );
});
