import assert from "node:assert/strict";
import { loadSandboxedOutputPlugins } from "./sandbox.ts";
import { makeOutput, optionDefaults } from "./output_options.ts";
import type { ScanEvent } from "../plugin/types.ts";

const NOSY = `
export function nosy() {
  return {
    name: "nosy",
    description: "tries everything it should not",
    async write(events, out) {
      const tries = {
        readOther: () => Deno.readTextFile("/etc/hostname"),
        write: () => Deno.writeTextFile("/tmp/portolan-sandbox-escape", "x"),
        net: () => Deno.connect({ hostname: "127.0.0.1", port: 9 }),
        env: async () => Deno.env.get("HOME"),
        run: () => new Deno.Command("true").output(),
      };
      for (const [what, attempt] of Object.entries(tries)) {
        try {
          await attempt();
          await out.write(what + ": allowed\\n");
        } catch (error) {
          await out.write(what + ": " + (error?.name ?? "error") + "\\n");
        }
      }
      for await (const event of events) await out.write("event " + event.type + "\\n");
    },
  };
}
export default [nosy];
`;

async function* twoEvents(): AsyncGenerator<ScanEvent> {
  yield {
    type: "host",
    host: { address: "198.51.100.2", hostnames: [], state: "up", reason: "syn-ack" },
  };
  yield {
    type: "port",
    result: {
      address: "198.51.100.2",
      protocol: "tcp",
      port: 22,
      state: "open",
      reason: "syn-ack",
    },
  };
}

Deno.test("a user plugin runs sandboxed: no other files, network, writes, env or subprocesses", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/nosy.js`;
  await Deno.writeTextFile(file, NOSY);
  const sandbox = await loadSandboxedOutputPlugins(file);
  try {
    assert.deepEqual(sandbox.plugins.map((p) => p.name), ["nosy"]);
    let text = "";
    await sandbox.plugins[0]!.factory().write(twoEvents(), {
      color: false,
      write(chunk: string): Promise<void> {
        text += chunk;
        return Promise.resolve();
      },
    });
    const lines = text.trimEnd().split("\n");
    for (const what of ["readOther", "write", "net", "env", "run"]) {
      const line = lines.find((l) => l.startsWith(`${what}:`));
      assert.ok(line !== undefined && !line.endsWith("allowed"), `${what} must be denied: ${line}`);
    }
    assert.deepEqual(lines.slice(-2), ["event host", "event port"], "events still flow in order");
    await assert.rejects(() => Deno.stat("/tmp/portolan-sandbox-escape"));
  } finally {
    await sandbox.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a plugin that throws inside the sandbox fails its own output only", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/broken.js`;
  await Deno.writeTextFile(
    file,
    `export default [{ name: "broken", description: "x", async write(events) { for await (const e of events) throw new Error("boom on " + e.type); } }];`,
  );
  const sandbox = await loadSandboxedOutputPlugins(file);
  try {
    await assert.rejects(
      () =>
        sandbox.plugins[0]!.factory().write(twoEvents(), {
          color: false,
          write: () => Promise.resolve(),
        }),
      /boom on host/,
    );
  } finally {
    await sandbox.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing or malformed plugin file is refused with the path the user typed", async () => {
  await assert.rejects(
    () => loadSandboxedOutputPlugins("no/such/plugin.ts"),
    /"no\/such\/plugin\.ts"/,
  );
});

Deno.test("a sandboxed factory's options: its defaults come out, the typed options go in (process and Worker)", async () => {
  const path = new URL("../../examples/output_markdown.ts", import.meta.url).pathname;
  for (const isolation of ["process", "worker"] as const) {
    const sandbox = await loadSandboxedOutputPlugins(path, { isolation });
    try {
      const [markdown] = sandbox.outputs;
      assert.deepEqual(markdown?.defaults, { title: "portolan scan report", openOnly: false });
      // run.ts reads the defaults off the factory, as off an SDK factory.
      assert.deepEqual(optionDefaults(markdown?.factory), markdown?.defaults);
      for (
        const [options, title] of [[undefined, "portolan scan report"], [
          { title: "Lab" },
          "Lab",
        ]] as const
      ) {
        let text = "";
        await makeOutput(markdown!.factory, options).write(endOnly(), {
          color: false,
          write(chunk: string): Promise<void> {
            text += chunk;
            return Promise.resolve();
          },
        });
        assert.ok(text.startsWith(`# ${title}\n`), `${isolation}: ${text}`);
      }
    } finally {
      await sandbox.close();
    }
  }
});

async function* endOnly(): AsyncGenerator<ScanEvent> {
  yield {
    type: "end",
    interrupted: false,
    report: {
      scanner: "portolan",
      version: "0",
      args: ["portolan"],
      start: "2026-12-03T00:00:00.000Z",
      end: "2026-12-03T00:00:01.000Z",
      scaninfo: [],
      hosts: [],
      stats: { probes: 0, retries: 0, seconds: 1, hostsUp: 0, hostsDown: 0, hostsTotal: 0 },
    },
  };
}
