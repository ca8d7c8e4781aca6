import assert from "node:assert/strict";
import { parseTargetList, ReadInterrupted, readTargetFile } from "./file.ts";

Deno.test("target lists take several specs a line and skip comments", async () => {
  const path = await Deno.makeTempFile({ suffix: ".txt" });
  try {
    await Deno.writeTextFile(
      path,
      "# full-line comment\n10.0.0.1 10.0.0.2\t192.168.1.*  # trailing comment\n\n   \n" +
        "2001:db8::/120\r\nhost.example#glued comment\n  # indented comment\nlast",
    );
    assert.deepEqual(await readTargetFile(path), [
      "10.0.0.1",
      "10.0.0.2",
      "192.168.1.*",
      "2001:db8::/120",
      "host.example",
      "last",
    ]);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("an empty list is empty", () => {
  assert.deepEqual(parseTargetList(""), []);
  assert.deepEqual(parseTargetList("# only\n\n"), []);
});

Deno.test("a missing file names the file and the reason", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/missing.txt`;
    await assert.rejects(() => readTargetFile(path), {
      name: "Error",
      message: `Cannot read target file "${path}": No such file or directory`,
    });
    await assert.rejects(() => readTargetFile(dir), {
      message: new RegExp(`^Cannot read target file "${dir}": `),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("'-' reads standard input", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { readTargetFile } from ${
        JSON.stringify(new URL("./file.ts", import.meta.url).href)
      };` +
      "console.log(JSON.stringify(await readTargetFile('-')));",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("10.0.0.1 # c\n10.0.0.2\n"));
  await writer.close();
  const { code, stdout } = await child.output();
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), ["10.0.0.1", "10.0.0.2"]);
});

Deno.test("a long list streams through in chunks: specs split across chunks come out whole", async () => {
  const path = await Deno.makeTempFile({ suffix: ".txt" });
  try {
    const lines = Array.from(
      { length: 60_000 },
      (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255} # host ${i}`,
    );
    await Deno.writeTextFile(path, lines.join("\n"));
    const specs = await readTargetFile(path);
    assert.equal(specs.length, lines.length);
    assert.deepEqual(specs.slice(-2), ["10.0.234.94", "10.0.234.95"]);
    assert.equal(specs.findIndex((spec, i) => spec !== lines[i]!.split(" ")[0]), -1);
    // Appends to an array given.
    const into = ["first"];
    await readTargetFile(path, { into });
    assert.equal(into.length, lines.length + 1);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("binary, overlong and endless lists end the read at once with one line", async () => {
  await assert.rejects(
    readTargetFile("/dev/zero"),
    /^Error: Cannot read target file "\/dev\/zero": it holds a NUL byte at line 1 \(not a text file\)$/,
  );
  const path = await Deno.makeTempFile({ suffix: ".txt" });
  try {
    await Deno.writeTextFile(path, "10.0.0.1\n" + "a".repeat(70_000) + "\n");
    await assert.rejects(
      readTargetFile(path),
      /^Error: Cannot read target file ".*": line 2 is over 65536 characters$/,
    );
    await Deno.writeTextFile(path, "10.0.0.1 10.0.0.2\n10.0.0.3\n");
    await assert.rejects(
      readTargetFile(path, { maxEntries: 2 }),
      /^Error: Cannot read target file ".*": it holds over 2 entries$/,
    );
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("an abort ends a read blocked on a FIFO no one writes to", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fifo = `${dir}/fifo`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(made.success);
    const controller = new AbortController();
    const reading = readTargetFile(fifo, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(reading, ReadInterrupted);
    // Unblock the open left behind, so the test leaves no thread waiting.
    const writer = await Deno.open(fifo, { write: true });
    writer.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTargetFile hands each spec to onSpec, keeps none, and passes its errors on", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/list.txt`;
    await Deno.writeTextFile(path, "10.0.0.1 10.0.0.2 # comment\n\n  example.org\nbad!\nlater\n");
    const seen: string[] = [];
    const kept = await readTargetFile(path, {
      onSpec: (spec) => {
        if (spec === "bad!") throw new SyntaxError(`Cannot parse target "${spec}"`);
        seen.push(spec);
      },
    }).catch((error) => error);
    assert.ok(kept instanceof SyntaxError, String(kept));
    assert.equal(kept.message, 'Cannot parse target "bad!"');
    assert.deepEqual(seen, ["10.0.0.1", "10.0.0.2", "example.org"]);
    seen.length = 0;
    await Deno.writeTextFile(path, "10.0.0.1\n10.0.0.2\n");
    assert.deepEqual(await readTargetFile(path, { onSpec: (spec) => seen.push(spec) }), []);
    assert.deepEqual(seen, ["10.0.0.1", "10.0.0.2"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
