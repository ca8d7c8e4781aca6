import assert from "node:assert/strict";
import { parseTargetList, readTargetFile } from "./file.ts";

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
