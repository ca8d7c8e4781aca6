/**
 * Every output format through the real command against real listeners on
 * loopback, and ndiff between nmap's XML and ours for the same ports.
 */
import assert from "node:assert/strict";
import { exists, mustRun, runTool } from "../plugins/output_fixtures.ts";
import { freePort, portolan } from "./helpers.ts";

const DTD = "/usr/share/nmap/nmap.dtd";

function portOf(listener: Deno.TcpListener): number {
  return (listener.addr as Deno.NetAddr).port;
}

/** Listeners on 127.0.0.1 and 30 ports nothing listens on (so nmap counts them as extraports). */
function loopbackPorts(open: number): { listeners: Deno.TcpListener[]; ports: number[] } {
  const listeners: Deno.TcpListener[] = [];
  for (let i = 0; i < open; i++) listeners.push(Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  const taken = new Set(listeners.map(portOf));
  const closed = new Set<number>();
  while (closed.size < 30) {
    const port = freePort();
    if (!taken.has(port)) closed.add(port);
  }
  return { listeners, ports: [...taken, ...closed].sort((a, b) => a - b) };
}

Deno.test("-oA, -oH and --output csv/jsonl write every format from one scan", async () => {
  const { listeners, ports } = loopbackPorts(3);
  const dir = await Deno.makeTempDir();
  try {
    const result = await portolan([
      "-Pn",
      "-p",
      ports.join(","),
      "-oA",
      `${dir}/scan`,
      "-oH",
      `${dir}/scan.html`,
      "--output",
      `csv:${dir}/scan.csv`,
      "--output=jsonl:" + `${dir}/scan.jsonl`,
      "-n", // no reverse DNS: the formats' empty hostname fields are checked below
      "127.0.0.1",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const open = listeners.map(portOf).sort((a, b) => a - b);

    const normal = await Deno.readTextFile(`${dir}/scan.nmap`);
    assert.match(normal, /^# portolan \S+ scan initiated .* as: portolan -Pn -p /);
    for (const port of open) assert.match(normal, new RegExp(`^${port}/tcp +open`, "m"));

    const xml = await Deno.readTextFile(`${dir}/scan.xml`);
    const xmlOpen = [...xml.matchAll(/portid="(\d+)"><state state="open"/g)].map((m) =>
      Number(m[1])
    );
    assert.deepEqual(xmlOpen, open);
    assert.match(xml, /<extraports state="closed" count="30">/);
    if (exists(DTD) || mustRun()) {
      const lint = await runTool("xmllint", ["--noout", "--dtdvalid", DTD, `${dir}/scan.xml`]);
      assert.ok(lint !== undefined, "xmllint is not installed");
      assert.equal(lint.code, 0, lint.stderr);
    }

    const grepable = await Deno.readTextFile(`${dir}/scan.gnmap`);
    assert.match(
      grepable,
      new RegExp(
        `^Host: 127\\.0\\.0\\.1 \\(\\)\\tPorts: ${
          open.map((p) => `${p}/open/tcp//[\\w-]*///`).join(", ")
        }\\tIgnored State: closed \\(30\\)$`,
        "m",
      ),
    );

    const json = JSON.parse(await Deno.readTextFile(`${dir}/scan.json`));
    assert.equal(json.hosts[0].address, "127.0.0.1");

    const csv = (await Deno.readTextFile(`${dir}/scan.csv`)).trimEnd().split("\r\n");
    assert.equal(csv[0], "address,hostname,protocol,port,state,reason,service,product,version");
    assert.deepEqual(
      csv.slice(1).filter((row) => row.includes(",open,")),
      open.map((p) => `127.0.0.1,,tcp,${p},open,syn-ack,,,`),
    );

    const lines = (await Deno.readTextFile(`${dir}/scan.jsonl`)).trimEnd().split("\n")
      .map((line) => JSON.parse(line));
    assert.equal(lines[0].type, "start");
    assert.equal(lines.at(-1).type, "end");
    assert.equal(lines.filter((line) => line.type === "port").length, ports.length);

    const html = await Deno.readTextFile(`${dir}/scan.html`);
    assert.ok(html.startsWith("<!DOCTYPE html>"));
    for (const port of open) {
      assert.ok(html.includes(`<td>${port}</td>`), `port ${port} in the table`);
    }
  } finally {
    for (const listener of listeners) listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("-oA - is refused: -oA needs a file name base", async () => {
  const result = await portolan(["-oA", "-", "127.0.0.1"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /^portolan: Cannot use -oA "-": it needs a file name base/);
});

const hasNmap = (await runTool("nmap", ["--version"])) !== undefined &&
  (await runTool("ndiff", ["--help"])) !== undefined;
const canDiff = hasNmap || mustRun();

Deno.test({
  name: canDiff
    ? "ndiff between nmap -oX and portolan -oX of the same loopback ports shows no port differences"
    : "ndiff between nmap -oX and portolan -oX (skipped: nmap or ndiff missing)",
  ignore: !canDiff,
  async fn(): Promise<void> {
    const { listeners, ports } = loopbackPorts(4);
    const dir = await Deno.makeTempDir();
    try {
      const list = ports.join(",");
      // Loopback only, listeners this test opened, -n: no name lookups either way.
      const nmap = await runTool("nmap", [
        "-sT",
        "-Pn",
        "-n",
        "-p",
        list,
        "-oX",
        `${dir}/nmap.xml`,
        "127.0.0.1",
      ]);
      assert.ok(nmap !== undefined, "nmap is not installed");
      assert.equal(nmap.code, 0, nmap.stderr);
      const ours = await portolan([
        "-sT",
        "-Pn",
        "-n",
        "-p",
        list,
        "-oX",
        `${dir}/ours.xml`,
        "127.0.0.1",
      ]);
      assert.equal(ours.code, 0, ours.stderr);

      const diff = await runTool("ndiff", [`${dir}/nmap.xml`, `${dir}/ours.xml`]);
      assert.ok(diff !== undefined, "ndiff is not installed");
      // ndiff exits 0 when the scans are the same, 1 when they differ, 2 on error.
      assert.notEqual(diff.code, 2, `ndiff could not read the files: ${diff.stderr}`);
      const portLines = diff.stdout.split("\n").filter((line) =>
        /^[-+]\s*\d+\/tcp/.test(line) || /^[-+]Not shown/.test(line)
      );
      assert.deepEqual(portLines, [], diff.stdout);
      assert.equal(diff.code, 0, diff.stdout);
      // The check can fail: a changed port is reported.
      const changed = (await Deno.readTextFile(`${dir}/ours.xml`)).replace(
        `portid="${portOf(listeners[0]!)}"><state state="open"`,
        `portid="${portOf(listeners[0]!)}"><state state="filtered"`,
      );
      await Deno.writeTextFile(`${dir}/changed.xml`, changed);
      const again = await runTool("ndiff", [`${dir}/nmap.xml`, `${dir}/changed.xml`]);
      assert.equal(again?.code, 1, again?.stdout);
      assert.match(
        again?.stdout ?? "",
        new RegExp(`^\\+${portOf(listeners[0]!)}/tcp\\s+filtered`, "m"),
      );
    } finally {
      for (const listener of listeners) listener.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
