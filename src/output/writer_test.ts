import assert from "node:assert/strict";
import { checkOutputPaths, checkWritable, openFileWriter } from "./writer.ts";

Deno.test("openFileWriter writes all text to a file, in order, on close", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/out.txt`;
    await Deno.writeTextFile(path, "old content that must be truncated\n".repeat(10));
    const writer = await openFileWriter(path);
    assert.equal(writer.color, false);
    const lines: string[] = [];
    // More than one chunk, with multi-byte text.
    for (let i = 0; i < 20_000; i++) lines.push(`line ${i} ✓\n`);
    await Promise.all(lines.map((line) => writer.write(line)));
    await writer.close();
    assert.equal(await Deno.readTextFile(path), lines.join(""));
    await assert.rejects(writer.write("late"), /closed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openFileWriter and checkWritable name an unwritable path", async () => {
  await assert.rejects(
    openFileWriter("/nonexistent/x.json"),
    (e: unknown) =>
      e instanceof Error &&
      e.message === 'Cannot open output file "/nonexistent/x.json": No such file or directory',
  );
  await assert.rejects(
    checkWritable("/nonexistent/x.json"),
    (e: unknown) =>
      e instanceof Error &&
      e.message === 'Cannot open output file "/nonexistent/x.json": No such file or directory',
  );
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      checkWritable(dir),
      /^Error: Cannot open output file ".*": Is a directory$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

async function names(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) found.push(entry.name);
  return found.sort();
}

Deno.test("checkWritable touches nothing: no file made, an existing one kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await checkWritable(`${dir}/new.json`);
    assert.deepEqual(await names(dir), []);
    await Deno.writeTextFile(`${dir}/old.json`, "keep");
    await checkWritable(`${dir}/old.json`);
    assert.equal(await Deno.readTextFile(`${dir}/old.json`), "keep");
    await checkWritable("-");
    await checkWritable("/dev/null");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an output file is written beside its target and renamed into place on close", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/scan.json`;
    await Deno.writeTextFile(path, "previous run\n");
    const writer = await openFileWriter(path);
    // More than a chunk: the text is on disk, but not in the target.
    await writer.write("x".repeat(200_000));
    assert.equal(await Deno.readTextFile(path), "previous run\n");
    const entries = await names(dir);
    assert.equal(entries.length, 2);
    assert.match(entries[0]!, /^\.scan\.json\.[0-9a-z]+\.part$/);
    await writer.close();
    assert.equal(await Deno.readTextFile(path), "x".repeat(200_000));
    assert.deepEqual(await names(dir), ["scan.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a discarded output leaves the target as it was, and no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/scan.xml`;
    await Deno.writeTextFile(path, "keep");
    const writer = await openFileWriter(path);
    await writer.write("y".repeat(100_000));
    await writer.discard?.();
    assert.equal(await Deno.readTextFile(path), "keep");
    assert.deepEqual(await names(dir), ["scan.xml"]);
    // An output never closed (a run that failed before its scan) made no file at all.
    await openFileWriter(`${dir}/never.json`);
    assert.deepEqual(await names(dir), ["scan.xml"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a link to a file stays a link; a device is written in place, its errors named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/real.json`, "old");
    await Deno.symlink(`${dir}/real.json`, `${dir}/link.json`);
    const writer = await openFileWriter(`${dir}/link.json`);
    await writer.write("new");
    await writer.close();
    assert.equal((await Deno.lstat(`${dir}/link.json`)).isSymlink, true);
    assert.equal(await Deno.readTextFile(`${dir}/real.json`), "new");
    const nul = await openFileWriter("/dev/null");
    await nul.write("gone");
    await nul.close();
    await assert.rejects(
      openFileWriter("/dev/full"),
      /^Error: Cannot open output file "\/dev\/full": a device portolan may not write \(/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("two outputs to one file, two to stdout, or one onto the database are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      checkOutputPaths([{ format: "json", path: `${dir}/x` }, { format: "xml", path: `${dir}/x` }]),
      /^RangeError: Cannot write outputs "json" and "xml" both to ".*\/x"$/,
    );
    await assert.rejects(
      checkOutputPaths([
        { format: "json", path: `${dir}/x` },
        { format: "xml", path: `${dir}/../${dir.split("/").pop()}/x` },
      ]),
      /both to/,
    );
    await assert.rejects(
      checkOutputPaths([{ format: "json", path: "-" }, { format: "jsonl", path: "-" }]),
      /^RangeError: Cannot write outputs "json" and "jsonl" both to stdout$/,
    );
    await assert.rejects(
      checkOutputPaths([{ format: "json", path: `${dir}/h.db` }], { db: `${dir}/h.db` }),
      /^RangeError: Cannot write output "json" to ".*h\.db": it is the history database$/,
    );
    await checkOutputPaths([{ format: "json", path: `${dir}/a` }, { format: "xml", path: "-" }], {
      db: `${dir}/h.db`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test('openFileWriter "-" writes to stdout, without colour when piped', async () => {
  const module = new URL("./writer.ts", import.meta.url).href;
  const script = `import { openFileWriter } from ${JSON.stringify(module)};
const out = await openFileWriter("-");
await out.write("color=" + out.color + "\\n");
await out.write("é\\n");
await out.close();`;
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", script],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(code, 0);
  assert.equal(new TextDecoder().decode(stdout), "color=false\né\n");
});

Deno.test('openFileWriter "-" with a stdout sink writes there, coloured as the sink says', async () => {
  const chunks: Uint8Array[] = [];
  const out = await openFileWriter("-", {
    stdout: {
      write: (bytes) => {
        chunks.push(bytes.slice());
        return Promise.resolve();
      },
      color: true,
    },
  });
  assert.equal(out.color, true);
  await out.write("a\n");
  await out.write("é\n");
  await out.close();
  const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((chunk) => [...chunk])));
  assert.equal(text, "a\né\n");
});
