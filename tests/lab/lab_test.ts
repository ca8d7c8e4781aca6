import assert from "node:assert/strict";
import {
  DROPPED_PORTS,
  expectedStates,
  labRequired,
  labTest,
  OPEN_PORTS,
  PROHIBITED_PORTS,
  type RunResult,
  startLab,
} from "./lab.ts";
import type { Lab } from "./lab.ts";

async function hasCommand(name: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", `command -v ${name}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.code === 0;
  } catch {
    return false;
  }
}

async function namespaces(): Promise<string[]> {
  const out = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name !== "");
}

/** Connects with bash's /dev/tcp from the scanner namespace, bounded to 2 s. */
function connect(lab: Lab, host: string, port: number): Promise<RunResult> {
  return lab.run(["timeout", "2", "bash", "-c", `exec 3<>/dev/tcp/${host}/${port}`], {
    timeout: 10_000,
  });
}

Deno.test("lab: port lists are disjoint and shaped as documented", () => {
  assert.equal(DROPPED_PORTS.length, 100);
  assert.equal(new Set(DROPPED_PORTS).size, 100);
  assert.ok(OPEN_PORTS.length >= 15);
  for (const port of [22, 80, 443, 8080, 3306, 5432, 6379, 65535, 31337, 49152, 60000]) {
    assert.ok(OPEN_PORTS.includes(port), `open ports lack ${port}`);
  }
  assert.ok(OPEN_PORTS.filter((port) => port >= 32768 && port <= 60999).length >= 3);
  const all = [...OPEN_PORTS, ...DROPPED_PORTS, ...PROHIBITED_PORTS];
  assert.equal(new Set(all).size, all.length);
  for (const port of all) assert.ok(port >= 1 && port <= 65535);
  // Spread over the whole range, not bunched at the bottom.
  assert.ok(DROPPED_PORTS.filter((port) => port > 49152).length >= 10);
});

Deno.test("lab: expectedStates maps the lab's ports to nmap states", () => {
  const states = expectedStates({ open: [22], dropped: [23], prohibited: [4444] }, [
    22,
    23,
    24,
    4444,
  ]);
  assert.deepEqual([...states], [[22, "open"], [23, "filtered"], [24, "closed"], [
    4444,
    "filtered",
  ]]);
});

labTest("comes up, answers as specified, has no route out, and stops", async (t) => {
  const lab = await startLab({ name: "ptlt1" });
  try {
    await t.step("both namespaces exist", async () => {
      const names = await namespaces();
      assert.ok(names.includes("ptlt1-scan"), names.join(","));
      assert.ok(names.includes("ptlt1-tgt"), names.join(","));
      assert.ok(lab.listenerRunning());
    });

    await t.step("open ports accept on IPv4 and IPv6", async () => {
      for (const port of [1, 22, 443, 65535, 49152]) {
        const v4 = await connect(lab, lab.target4, port);
        assert.equal(v4.code, 0, `${lab.target4}:${port}: ${v4.stderr}`);
        const v6 = await connect(lab, lab.target6, port);
        assert.equal(v6.code, 0, `[${lab.target6}]:${port}: ${v6.stderr}`);
      }
    });

    await t.step("a closed port refuses", async () => {
      for (const host of [lab.target4, lab.target6]) {
        const result = await connect(lab, host, 24);
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /Connection refused/);
      }
    });

    await t.step("the prohibited port answers with ICMP admin-prohibited", async () => {
      const port = lab.prohibited[0] ?? 0;
      const v4 = await connect(lab, lab.target4, port);
      assert.match(v4.stderr, /No route to host/);
      const v6 = await connect(lab, lab.target6, port);
      assert.match(v6.stderr, /Permission denied/);
    });

    await t.step("a dropped port gets no answer", async () => {
      const result = await connect(lab, lab.target4, lab.dropped[0] ?? 0);
      assert.equal(result.code, 124, `expected timeout(1) to fire: ${result.stderr}`);
    });

    await t.step("the scanner namespace has no default route", async () => {
      for (const family of ["-4", "-6"]) {
        const routes = await new Deno.Command("ip", {
          args: ["-n", lab.scanNs, family, "route", "show", "default"],
          stdout: "piped",
        }).output();
        assert.equal(routes.code, 0);
        assert.equal(new TextDecoder().decode(routes.stdout).trim(), "");
      }
      const v4 = await connect(lab, "203.0.113.77", 80);
      assert.match(v4.stderr, /Network is unreachable/);
      const v6 = await connect(lab, "2001:db8:ffff::77", 80);
      assert.match(v6.stderr, /Network is unreachable/);
    });

    await t.step("run() feeds stdin and passes env", async () => {
      const result = await lab.run(["sh", "-c", 'cat; printf "%s" "$LAB_VAR"'], {
        stdin: "in-",
        env: { LAB_VAR: "env" },
      });
      assert.equal(result.code, 0);
      assert.equal(result.stdout, "in-env");
    });

    await t.step("run() kills a command after its timeout", async () => {
      const result = await lab.run(["sleep", "30"], { timeout: 200 });
      assert.ok(result.timedOut);
      assert.equal(result.signal, "SIGKILL");
    });
  } finally {
    await lab.stop();
  }

  await t.step("stop() removes the namespaces and is idempotent", async () => {
    const names = await namespaces();
    assert.ok(!names.includes("ptlt1-scan"));
    assert.ok(!names.includes("ptlt1-tgt"));
    assert.ok(!lab.listenerRunning());
    await lab.stop();
    await assert.rejects(() => lab.run(["true"]), /stopped/);
  });
});

labTest("startLab clears leftovers of a crashed run; two labs coexist", async () => {
  // Simulate a crash: a namespace of the same name with a process in it.
  const add = await new Deno.Command("ip", { args: ["netns", "add", "ptlt2-scan"] }).output();
  assert.equal(add.code, 0);
  const stray = new Deno.Command("ip", {
    args: ["netns", "exec", "ptlt2-scan", "sleep", "60"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let first: Lab | undefined;
  let second: Lab | undefined;
  try {
    first = await startLab({ name: "ptlt2" });
    const status = await stray.status;
    assert.equal(status.signal, "SIGKILL");
    second = await startLab({ name: "ptlt3" });
    for (const lab of [first, second]) {
      const result = await connect(lab, lab.target4, 22);
      assert.equal(result.code, 0, `${lab.scanNs}: ${result.stderr}`);
    }
    await first.stop();
    // Stopping one lab leaves the other intact.
    const result = await connect(second, second.target4, 80);
    assert.equal(result.code, 0, result.stderr);
  } finally {
    try {
      stray.kill("SIGKILL");
    } catch {
      // Killed by startLab, as expected.
    }
    await stray.status;
    await first?.stop();
    await second?.stop();
  }
});

labTest("the listeners survive a scanner's resets (nmap -sT twice)", async (t) => {
  if (!(await hasCommand("nmap"))) {
    if (labRequired) {
      throw new Error("Cannot run lab test: nmap missing on CI (.ci/run installs it)");
    }
    t.step({ name: "nmap not installed", ignore: true, fn: () => {} });
    return;
  }
  const lab = await startLab({ name: "ptlt4" });
  try {
    const ports = [...lab.open, 24, 25, 26].join(",");
    for (let round = 0; round < 2; round++) {
      const result = await lab.run([
        "nmap",
        "-sT",
        "-Pn",
        "-n",
        "-oG",
        "-",
        "-p",
        ports,
        lab.target4,
      ], {
        timeout: 60_000,
      });
      assert.equal(result.code, 0, result.stderr);
      const open = [...result.stdout.matchAll(/(\d+)\/open\/tcp/g)].map((m) => Number(m[1]));
      assert.deepEqual(open, lab.open, `round ${round}`);
    }
    assert.ok(lab.listenerRunning());
  } finally {
    await lab.stop();
  }
});
