/**
 * The house rules a reader relies on, checked on the tree itself: no import
 * cycle, no arrow from `src/` into `plugins/` or `tests/`, and no function
 * over 150 lines in `src/` and `plugins/` (tests and data tables aside).
 * Parsed with the TypeScript compiler, so strings, comments and nesting are
 * read as the compiler reads them.
 */
import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix -- test-only: not in deno.json, so the scanner never fetches it
import ts from "npm:typescript@5.9.3";
import { ROOT } from "./helpers.ts";

/**
 * The layers of `src/`, top to bottom. A module imports only folders of a
 * lower rank: never a higher one, and never another folder of its own rank
 * unless `beside` names it. Files at the root of `src/` (version.ts) rank as
 * "(root)". Test files are not held to it: a test drives whatever it checks.
 */
const LAYERS: Readonly<Record<string, { rank: number; beside?: readonly string[] }>> = {
  // Helpers for tests only: nothing of the scanner imports them.
  testing: { rank: 8 },
  // The command: flags, paths, sandboxes, the terminal; `history`, `diff`, `merge`.
  cli: { rank: 7 },
  // One scan's spine: plan, discovery, names, the result pipeline, the resume state.
  scan: { rank: 6 },
  // Loads, checks and sandboxes user plugins; a sandboxed probe runs on the service's connection.
  plugin_host: { rank: 5 },
  // The SDK's testing helpers (./plugin/testing): a plugin run on the real event bus, report
  // builder and connection reader, so above them, and imported by tests only.
  plugin_testing: { rank: 5 },
  // What a scan does with its verdicts, side by side. A script talks to a port through the
  // service's connection (bounded reads, STARTTLS), so script may import service.
  service: { rank: 4 },
  script: { rank: 4, beside: ["service"] },
  output: { rank: 4 },
  store: { rank: 4 },
  // The scan core and the plugin SDK side by side: a plugin never reaches into the core.
  engine: { rank: 3 },
  plugin: { rank: 3 },
  // What is sent and what is scanned.
  packet: { rank: 2 },
  targets: { rank: 2 },
  ports: { rank: 2 },
  // The result types, the version and the path helpers: they import nothing of src/.
  model: { rank: 1 },
  "(root)": { rank: 1 },
};

/** Longest function body allowed, lines. */
const MAX_FUNCTION_LINES = 150;

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...await sourceFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files.sort();
}

function isTest(path: string): boolean {
  return path.endsWith("_test.ts") || path.includes("/testdata/");
}

/** Local modules `path` imports or re-exports (type-only imports included: they are arrows too). */
function importsOf(path: string, source: ts.SourceFile): string[] {
  const out: string[] = [];
  const add = (specifier: string): void => {
    if (!specifier.startsWith(".")) return;
    out.push(new URL(specifier, `file://${path}`).pathname);
  };
  for (const statement of source.statements) {
    if (
      (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) &&
      statement.moduleSpecifier !== undefined && ts.isStringLiteral(statement.moduleSpecifier)
    ) {
      add(statement.moduleSpecifier.text);
    }
  }
  return out;
}

/** Every cycle's members (strongly connected components of more than one module, or a self-import). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indexes = new Map<string, number>();
  const lows = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    indexes.set(node, index);
    lows.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indexes.has(next)) {
        visit(next);
        lows.set(node, Math.min(lows.get(node)!, lows.get(next)!));
      } else if (onStack.has(next)) {
        lows.set(node, Math.min(lows.get(node)!, indexes.get(next)!));
      }
    }
    if (lows.get(node) === indexes.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component);
    }
  };
  for (const node of graph.keys()) if (!indexes.has(node)) visit(node);
  return found;
}

/** Functions (declarations, methods, arrows, expressions) longer than `max` lines. */
function longFunctions(path: string, source: ts.SourceFile, max: number): string[] {
  const long: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body !== undefined) {
      const body = node.body as ts.Node;
      const first = source.getLineAndCharacterOfPosition(body.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(body.getEnd()).line;
      const lines = last - first + 1;
      if (lines > max) {
        const name = node.name !== undefined && ts.isIdentifier(node.name)
          ? node.name.text
          : "(anonymous)";
        long.push(`${path.slice(ROOT.length)} ${name}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return long;
}

const files = [
  ...await sourceFiles(`${ROOT}src`),
  ...await sourceFiles(`${ROOT}plugins`),
  `${ROOT}main.ts`,
];
const parsed = new Map<string, ts.SourceFile>();
for (const path of files) {
  const text = await Deno.readTextFile(path);
  parsed.set(path, ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true));
}

Deno.test("house: no import cycle among the modules of src/, plugins/ and main.ts", () => {
  const graph = new Map<string, string[]>();
  for (const [path, source] of parsed) {
    if (!isTest(path)) graph.set(path, importsOf(path, source));
  }
  const found = cycles(graph).map((members) =>
    members.map((member) => member.slice(ROOT.length)).sort().join(" ↔ ")
  );
  assert.deepEqual(found, []);
});

Deno.test("house: no module under src/ imports from plugins/ or tests/", () => {
  const wrong: string[] = [];
  for (const [path, source] of parsed) {
    if (!path.startsWith(`${ROOT}src/`) || isTest(path)) continue;
    for (const target of importsOf(path, source)) {
      if (target.startsWith(`${ROOT}plugins/`) || target.startsWith(`${ROOT}tests/`)) {
        wrong.push(`${path.slice(ROOT.length)} → ${target.slice(ROOT.length)}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("house: plugins/ and examples/ import only the plugin SDK and their own siblings", async () => {
  // The SDK and its testing helpers: the two entries deno.json exports to plugin authors.
  const sdk = new Set([`${ROOT}src/plugin/mod.ts`, `${ROOT}src/plugin_testing/mod.ts`]);
  const wrong: string[] = [];
  const examples = (await sourceFiles(`${ROOT}examples`)).filter((path) => !isTest(path));
  for (const path of examples) {
    const text = await Deno.readTextFile(path);
    parsed.set(path, ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true));
  }
  for (const [path, source] of parsed) {
    const inPlugins = path.startsWith(`${ROOT}plugins/`);
    if (!inPlugins && !path.startsWith(`${ROOT}examples/`)) continue;
    // Test files may drive the host's own machinery.
    if (isTest(path)) continue;
    const folder = path.slice(0, path.lastIndexOf("/") + 1);
    for (const target of importsOf(path, source)) {
      const sibling = target.startsWith(folder) && !target.slice(folder.length).includes("/");
      if (!sdk.has(target) && !sibling) {
        wrong.push(`${path.slice(ROOT.length)} → ${target.slice(ROOT.length)}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

/** Whether a statement's import is erased when the module runs (`import type`, or only `type` names). */
function typeOnly(statement: ts.ImportDeclaration | ts.ExportDeclaration): boolean {
  if (ts.isExportDeclaration(statement)) return statement.isTypeOnly;
  const clause = statement.importClause;
  if (clause === undefined) return false;
  if (clause.isTypeOnly) return true;
  const named = clause.namedBindings;
  return clause.name === undefined && named !== undefined && ts.isNamedImports(named) &&
    named.elements.length > 0 && named.elements.every((element) => element.isTypeOnly);
}

Deno.test("house: a scan loads no node: module but node:sqlite until it needs one", () => {
  // node:path, node:crypto and the rest start Deno's Node layer (~6–10 MB of every scan), so they
  // are imported where they are used (TLS, a script, a sandbox), never on the scan's static graph.
  const loaded = new Set<string>();
  const seen = new Set<string>();
  const visit = (path: string): void => {
    if (seen.has(path)) return;
    seen.add(path);
    const source = parsed.get(path);
    assert.ok(source !== undefined, `${path} is not among the parsed modules`);
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue;
      const specifier = statement.moduleSpecifier;
      if (specifier === undefined || !ts.isStringLiteral(specifier) || typeOnly(statement)) {
        continue;
      }
      if (specifier.text.startsWith("node:")) loaded.add(specifier.text);
      else if (specifier.text.startsWith(".")) {
        visit(new URL(specifier.text, `file://${path}`).pathname);
      }
    }
  };
  // What main.ts imports before it runs a command.
  visit(`${ROOT}src/cli/run.ts`);
  visit(`${ROOT}plugins/mod.ts`);
  assert.ok(seen.size > 100, `only ${seen.size} modules reached: the walk is broken`);
  assert.deepEqual([...loaded].sort(), ["node:sqlite"]);
});

Deno.test("house: deno.json exports the plugin SDK as ./plugin, its testing helpers as ./plugin/testing", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assert.equal(config.exports["./plugin"], "./src/plugin/mod.ts");
  assert.equal(config.exports["./plugin/testing"], "./src/plugin_testing/mod.ts");
  await Deno.stat(`${ROOT}src/plugin/mod.ts`);
  await Deno.stat(`${ROOT}src/plugin_testing/mod.ts`);
});

Deno.test(`house: no function over ${MAX_FUNCTION_LINES} lines in src/ and plugins/`, () => {
  const long: string[] = [];
  for (const [path, source] of parsed) {
    if (!isTest(path)) long.push(...longFunctions(path, source, MAX_FUNCTION_LINES));
  }
  assert.deepEqual(long, []);
});

/** The layer of a module under src/: its folder, or "(root)" for a file at src/ itself. */
function layerOf(path: string): string {
  const rest = path.slice(`${ROOT}src/`.length);
  const slash = rest.indexOf("/");
  return slash < 0 ? "(root)" : rest.slice(0, slash);
}

Deno.test("house: every folder of src/ imports only the layers below it (LAYERS)", async () => {
  const wrong = new Set<string>();
  for await (const entry of Deno.readDir(`${ROOT}src`)) {
    if (entry.isDirectory && LAYERS[entry.name] === undefined) {
      wrong.add(`src/${entry.name}: not in LAYERS (give it a rank)`);
    }
  }
  for (const [path, source] of parsed) {
    if (!path.startsWith(`${ROOT}src/`) || isTest(path)) continue;
    const from = layerOf(path);
    const layer = LAYERS[from];
    if (layer === undefined) continue;
    for (const target of importsOf(path, source)) {
      if (!target.startsWith(`${ROOT}src/`)) continue;
      const to = layerOf(target);
      if (to === from) continue;
      const below = LAYERS[to];
      const allowed = below !== undefined &&
        (below.rank < layer.rank || (layer.beside ?? []).includes(to));
      if (!allowed) wrong.add(`${path.slice(ROOT.length)} -> ${target.slice(ROOT.length)}`);
    }
  }
  assert.deepEqual([...wrong].sort(), []);
});

Deno.test("house: the README's layout names every folder under src/", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const layout = readme.slice(readme.indexOf("## Layout"));
  const missing: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(`${ROOT}${dir}`)) {
      if (!entry.isDirectory || entry.name === "testdata") continue;
      const path = `${dir}/${entry.name}`;
      if (!layout.includes(`${path}/`)) missing.push(path);
      await walk(path);
    }
  };
  await walk("src");
  assert.deepEqual(missing, []);
});
