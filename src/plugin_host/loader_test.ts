import assert from "node:assert/strict";
import { outputPlugins, probePlugins, scriptPlugins } from "../../plugins/mod.ts";
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
export default [countOutput];
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

Deno.test("loader takes the output plugin factories its default export lists, nothing else", async () => {
  await withFiles({ "count.ts": GOOD }, async (dir) => {
    const loaded = await loadOutputPlugins("count.ts", { cwd: dir });
    assert.equal(loaded.length, 1);
    const [count] = loaded;
    assert.equal(count?.name, "count");
    assert.equal(count?.description, "how many ports");
    assert.equal(count?.exportName, "default[0] (countOutput)");
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
  const js = `const jsOutput = () => ({ name: "js.out", description: "d", write() {} });
export default [jsOutput];`;
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

Deno.test("loader rejects a module without a default export, saying what to add", async () => {
  await withFiles({
    "none.ts": `export const a = 1; export function helper(x: number) { return x; }`,
    "empty.ts": ``,
    "named.ts": `export function p() { return { name: "p", description: "d", write() {} }; }`,
  }, async (dir) => {
    const add = (list: string): RegExp =>
      new RegExp(
        `it has no default export: add "export default \\[${list}\\]" listing its plugins$`,
      );
    await rejectsWith("none.ts", add("myPlugin"), dir);
    await rejectsWith("empty.ts", add("myPlugin"), dir);
    // A factory exported by name only is no longer called: the message names it.
    await rejectsWith("named.ts", add("p"), dir);
  });
});

Deno.test("loader rejects a default export that lists no plugin", async () => {
  await withFiles({
    "notlist.ts":
      `export default function p() { return { name: "p", description: "d", write() {} }; }`,
    "emptylist.ts": `export default [];`,
    "junk.ts": `function f() { return "text"; }\nexport default [f];`,
    "number.ts": `export default [42];`,
    "helper.ts": `function h(x: number) { return x; }\nexport default [h];`,
    "probes.ts": `export default [{ name: "x", description: "d", protocols: ["tcp"], ports: [],
      rarity: 5, passive: false, probe: () => Promise.resolve(undefined) }];`,
  }, async (dir) => {
    await rejectsWith("notlist.ts", /its default export is not a list: write "export default/, dir);
    await rejectsWith("emptylist.ts", /its default export lists no plugin$/, dir);
    await rejectsWith("junk.ts", /default\[0\] \(f\) is no plugin: expected an object/, dir);
    await rejectsWith(
      "number.ts",
      /default\[0\] is neither a plugin factory nor a plugin object$/,
      dir,
    );
    await rejectsWith("helper.ts", /default\[0\] \(h\) takes a required argument/, dir);
    // loadOutputPlugins wants outputs; loadPlugins takes the probe.
    await rejectsWith("probes.ts", /its default export lists no output plugin$/, dir);
    assert.deepEqual((await loadPlugins(`${dir}/probes.ts`)).probes.map((p) => p.name), ["x"]);
  });
});

Deno.test("loader rejects a factory that returns the wrong shape", async () => {
  const listed = (body: string): string => `${body}\nexport default [p];`;
  await withFiles({
    "nowrite.ts": listed(`function p() { return { name: "p", description: "d" }; }`),
    "noname.ts": listed(`function p() { return { description: "d", write() {} }; }`),
    "nodesc.ts": listed(`function p() { return { name: "p", write() {} }; }`),
    "badname.ts": listed(`function p() { return { name: "a:b", description: "d", write() {} }; }`),
    "async.ts": listed(
      `async function p() { return { name: "p", description: "d", write() {} }; }`,
    ),
    "object.ts": `export default [{ name: "p", description: "d" }];`,
    "twice.ts": `function a() { return { name: "p", description: "d", write() {} }; }
export default [a, { name: "p", description: "d", write() {} }];`,
  }, async (dir) => {
    await rejectsWith(
      "nowrite.ts",
      /default\[0\] \(p\) makes no valid output plugin: `write` is not a function$/,
      dir,
    );
    await rejectsWith("noname.ts", /`name` is not a string$/, dir);
    await rejectsWith("nodesc.ts", /`description` is not a string$/, dir);
    await rejectsWith("badname.ts", /name "a:b" must be letters/, dir);
    await rejectsWith("async.ts", /returns a promise/, dir);
    await rejectsWith(
      "object.ts",
      /default\[0\] \("p"\) makes no valid output plugin: `write` is not a function$/,
      dir,
    );
    await rejectsWith(
      "twice.ts",
      /two entries of its default export make a plugin named "p"$/,
      dir,
    );
  });
});

Deno.test("loader takes plugin objects as well as factories, and factories with options", async () => {
  await withFiles({
    "mixed.ts": `import { withOptions } from "${new URL("../plugin/mod.ts", import.meta.url).href}";
const fixed = { name: "fixed", description: "d", async write() {} };
export const titled = withOptions({ title: "T", rows: 3, dark: false, tags: ["a"] }, (options) => ({
  name: "titled", description: JSON.stringify(options), async write() {} }));
export default [fixed, titled];`,
  }, async (dir) => {
    const [fixed, titled] = await loadOutputPlugins("mixed.ts", { cwd: dir });
    assert.deepEqual([fixed?.name, fixed?.exportName], ["fixed", 'default[0] ("fixed")']);
    assert.deepEqual(fixed?.defaults, {});
    // Only what the command line can set: a list default is for code alone.
    assert.deepEqual(titled?.defaults, { title: "T", rows: 3, dark: false });
    assert.equal(titled?.factory().description, '{"title":"T","rows":3,"dark":false,"tags":["a"]}');
    assert.equal(
      titled?.factory({ title: "Lab", rows: 7 }).description,
      '{"title":"Lab","rows":7,"dark":false,"tags":["a"]}',
    );
  });
});

Deno.test("the built-in list (plugins/mod.ts) is a plugin module the loader reads", async () => {
  const loaded = await loadPlugins(new URL("../../plugins/mod.ts", import.meta.url).pathname);
  assert.deepEqual(loaded.outputs.map((p) => p.name).sort(), Object.keys(outputPlugins).sort());
  assert.deepEqual(loaded.probes.map((p) => p.name), probePlugins.map((make) => make().name));
  assert.deepEqual(loaded.scripts?.map((p) => p.name), scriptPlugins.map((make) => make().name));
});

Deno.test("loader reports a factory that throws, in one line", async () => {
  await withFiles({
    "boom.ts": `function boomOutput() { throw new Error("kaboom\\n  at somewhere"); }
export default [boomOutput];`,
  }, async (dir) => {
    await rejectsWith("boom.ts", /default\[0\] \(boomOutput\) threw: kaboom$/, dir);
  });
});

Deno.test("merged registry: built-ins plus loaded plugins, names never shadowed", async () => {
  await withFiles({
    "a.ts": `export default [() => ({ name: "extra", description: "d", write() {} })];`,
    "b.ts": `export default [{ name: "extra", description: "d", write() {} }];`,
    "json.ts": `export default [() => ({ name: "json", description: "d", write() {} })];`,
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
       ports: [80], services: ["http"], async run() { return "x"; } }; }
export default [title];`;
  await withFiles(
    { "ok.ts": script(`["default"]`), "bad.ts": script(`"default"`) },
    async (dir) => {
      const loaded = await loadPlugins(`${dir}/ok.ts`);
      assert.deepEqual(loaded.scripts?.map((s) => [s.name, s.exportName]), [[
        "t",
        "default[0] (title)",
      ]]);
      assert.deepEqual(loaded.outputs, []);
      await assert.rejects(
        () => loadPlugins(`${dir}/bad.ts`),
        /default\[0\] \(title\) makes no valid script plugin: `categories` is not a list of strings$/,
      );
    },
  );
});
