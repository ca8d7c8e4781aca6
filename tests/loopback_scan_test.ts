/**
 * End-to-end scans of real listeners on loopback, through the real command,
 * on both connect engines.
 */
import assert from "node:assert/strict";
import { freePort, listeningPorts, portolan } from "./helpers.ts";

interface JsonPort {
  port: number;
  state: string;
  reason: string;
}
interface JsonHost {
  address: string;
  state: string;
  ports: JsonPort[];
  extraports: { state: string; count: number }[];
}

function listenAll(count: number, hostname: string): Deno.TcpListener[] {
  const listeners: Deno.TcpListener[] = [];
  for (let i = 0; i < count; i++) listeners.push(Deno.listen({ hostname, port: 0 }));
  return listeners;
}

function portOf(listener: Deno.TcpListener): number {
  return (listener.addr as Deno.NetAddr).port;
}

for (const engine of ["epoll", "deno"] as const) {
  Deno.test(`connect scan (${engine}) finds open and closed ports on 127.0.0.1`, async () => {
    const listeners = listenAll(5, "127.0.0.1");
    const closed = [freePort(), freePort(), freePort()].filter((p) =>
      !listeners.some((l) => portOf(l) === p)
    );
    const open = listeners.map(portOf);
    try {
      const ports = [...open, ...closed].sort((a, b) => a - b);
      const result = await portolan([
        "-sT",
        "-Pn",
        "--connect-engine",
        engine,
        "-p",
        ports.join(","),
        "-oJ",
        "-",
        "127.0.0.1",
      ]);
      assert.equal(result.code, 0, result.stderr);
      const report = JSON.parse(result.stdout);
      assert.equal(report.scanner, "portolan");
      const host: JsonHost = report.hosts[0];
      assert.equal(host.address, "127.0.0.1");
      assert.equal(host.state, "up");
      const states = new Map(host.ports.map((p) => [p.port, p]));
      for (const port of open) {
        assert.equal(states.get(port)?.state, "open", `port ${port}`);
        assert.equal(states.get(port)?.reason, "syn-ack");
      }
      for (const port of closed) {
        assert.equal(states.get(port)?.state, "closed", `port ${port}`);
        assert.equal(states.get(port)?.reason, "conn-refused");
      }
      assert.equal(report.stats.probes >= ports.length, true);
    } finally {
      for (const listener of listeners) listener.close();
    }
  });
}

Deno.test("connect scan of ::1 (IPv6 loopback)", async () => {
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: "::1", port: 0 });
  } catch (error) {
    // No IPv6 on loopback here: nothing to test against.
    console.warn(`skipped: cannot listen on ::1 (${error})`);
    return;
  }
  const closed = freePort("::1");
  try {
    const result = await portolan([
      "-Pn",
      "-p",
      `${portOf(listener)},${closed}`,
      "-oJ",
      "-",
      "::1",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const host: JsonHost = JSON.parse(result.stdout).hosts[0];
    assert.equal(host.address, "::1");
    const states = new Map(host.ports.map((p) => [p.port, p.state]));
    assert.equal(states.get(portOf(listener)), "open");
    assert.equal(states.get(closed), "closed");
  } finally {
    listener.close();
  }
});

/** Whether this process may give a child a network namespace of its own (root, CI). */
async function canUnshareNet(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("unshare", {
      args: ["-n", "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

Deno.test("ephemeral ports of 127.0.0.1: no self-connect is ever reported open", async () => {
  // Scanning the ephemeral range of loopback makes the kernel pick, now and
  // then, a source port equal to the target port: a self-connect. In a
  // network namespace of its own nothing else listens, so every open port
  // would be wrong; on the shared loopback, other processes' listeners come
  // and go during the scan, and only ports never seen listening are wrong.
  const isolated = await canUnshareNet();
  const prefix = isolated
    ? ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"]
    : [];
  const result = await portolan([
    "-Pn",
    "-p",
    "32768-60999",
    "--connect-engine",
    "epoll",
    "-oJ",
    "-",
    "127.0.0.1",
  ], { prefix });
  assert.equal(result.code, 0, result.stderr);
  const host: JsonHost = JSON.parse(result.stdout).hosts[0];
  const open = host.ports.filter((p) => p.state === "open").map((p) => p.port);
  if (isolated) assert.deepEqual(open, [], "open ports where nothing listens");
  else {
    const listening = await listeningPorts();
    for (const port of open) {
      assert.ok(listening.has(port), `port ${port} reported open, nothing listens`);
    }
  }
  const counted = host.ports.length + host.extraports.reduce((n, e) => n + e.count, 0);
  assert.equal(counted, 60999 - 32768 + 1, "every port has exactly one verdict");
});

Deno.test("the terminal table names open ports and the summary", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const result = await portolan(["-p", String(portOf(listener)), "--reason", "127.0.0.1"]);
    assert.equal(result.code, 0, result.stderr);
    // Named as the hosts file names it ("localhost (127.0.0.1)"), as nmap does.
    assert.match(result.stdout, /portolan scan report for (\S+ \()?127\.0\.0\.1/);
    assert.match(result.stdout, new RegExp(`${portOf(listener)}/tcp\\s+open\\s+.*syn-ack`));
    assert.match(result.stdout, /1 IP address \(1 host up\)/);
    assert.ok(!result.stdout.includes("\x1b["), "no colour when stdout is not a terminal");
  } finally {
    listener.close();
  }
});

Deno.test("-oN and -oJ write files; host discovery marks loopback up", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dir = await Deno.makeTempDir();
  try {
    const result = await portolan([
      "-p",
      String(portOf(listener)),
      "-oN",
      `${dir}/scan.txt`,
      "-oJ",
      `${dir}/scan.json`,
      "127.0.0.1",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const normal = await Deno.readTextFile(`${dir}/scan.txt`);
    assert.match(normal, /^# portolan .* scan initiated/);
    assert.match(normal, new RegExp(`${portOf(listener)}/tcp\\s+open`));
    const json = JSON.parse(await Deno.readTextFile(`${dir}/scan.json`));
    assert.equal(json.hosts[0].state, "up");
    assert.match(json.hosts[0].reason, /^(syn-ack|conn-refused|echo-reply|reset)$/);
    assert.ok(json.end >= json.start);
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});
