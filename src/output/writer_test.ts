import assert from "node:assert/strict";
import { checkWritable, openFileWriter } from "./writer.ts";

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

Deno.test("checkWritable creates a missing file and keeps an existing one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await checkWritable(`${dir}/new.json`);
    assert.equal(await Deno.readTextFile(`${dir}/new.json`), "");
    await Deno.writeTextFile(`${dir}/old.json`, "keep");
    await checkWritable(`${dir}/old.json`);
    assert.equal(await Deno.readTextFile(`${dir}/old.json`), "keep");
    await checkWritable("-");
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
