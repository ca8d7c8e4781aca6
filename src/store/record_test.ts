import assert from "node:assert/strict";
import type { PortResult, ScanReport } from "../model/mod.ts";
import { openHistory } from "./db.ts";
import { lastTwoScans, listScans, loadScan } from "./history.ts";
import { transaction } from "./db.ts";
import {
  addCounts,
  addHosts,
  addResults,
  createRecordWriter,
  finishScan,
  importReport,
  normalizeTargetSpec,
  startScan,
} from "./record.ts";

const STATS = { probes: 6, retries: 1, seconds: 2, hostsUp: 1, hostsDown: 0, hostsTotal: 2 };

function port(
  address: string,
  number: number,
  state: PortResult["state"],
  reason: string,
): PortResult {
  return { address, protocol: "tcp", port: number, state, reason };
}

function start(db: ReturnType<typeof openHistory>, targets: string, at: string): number {
  return startScan(db, {
    args: ["portolan", "-sT", targets],
    start: at,
    targets,
    scaninfo: [{ type: "connect", protocol: "tcp", numServices: 5, services: "22-25,443" }],
  });
}

Deno.test("record: a scan written in batches reads back as a report", async () => {
  const dir = await Deno.makeTempDir({ prefix: "portolan_store_" });
  try {
    const db = openHistory(`${dir}/h.db`);
    const id = start(db, "198.51.100.0/30", "2030-01-01T00:00:00.000Z");
    addHosts(db, id, [{
      address: "198.51.100.2",
      hostnames: ["www.example"],
      state: "up",
      reason: "syn-ack",
    }]);
    addResults(db, id, [
      port("198.51.100.2", 443, "open", "syn-ack"),
      port("198.51.100.2", 22, "closed", "conn-refused"),
      port("198.51.100.2", 23, "closed", "conn-refused"),
      port("198.51.100.3", 24, "filtered", "no-response"),
    ]);
    addResults(db, id, [
      {
        ...port("198.51.100.2", 25, "open", "syn-ack"),
        rtt: 1.5,
        reasonTtl: 64,
        service: { name: "smtp" },
      },
      port("198.51.100.3", 22, "closed", "reset"),
    ]);
    // An "unknown" verdict keeps what the ports said.
    addHosts(db, id, [{ address: "198.51.100.3", hostnames: [], state: "unknown", reason: "" }]);
    finishScan(db, id, { end: new Date("2030-01-01T00:00:02.000Z"), stats: STATS });
    const scan = loadScan(db, id);
    db.close();

    assert.equal(scan.end, "2030-01-01T00:00:02.000Z");
    assert.equal(scan.finished, true);
    assert.equal(scan.interrupted, false);
    assert.equal(scan.targets, "198.51.100.0/30");
    assert.deepEqual(scan.stats, STATS);
    assert.deepEqual(scan.scaninfo, [{
      type: "connect",
      protocol: "tcp",
      numServices: 5,
      services: "22-25,443",
    }]);
    assert.deepEqual(scan.hosts, [
      {
        address: "198.51.100.2",
        hostnames: ["www.example"],
        state: "up",
        reason: "syn-ack",
        ports: [
          {
            ...port("198.51.100.2", 25, "open", "syn-ack"),
            rtt: 1.5,
            reasonTtl: 64,
            service: { name: "smtp" },
          },
          port("198.51.100.2", 443, "open", "syn-ack"),
        ],
        extraports: [{
          state: "closed",
          count: 2,
          reasons: [{ reason: "conn-refused", count: 2 }],
        }],
      },
      {
        address: "198.51.100.3",
        hostnames: [],
        state: "up", // the RST answered
        reason: "reset",
        ports: [port("198.51.100.3", 24, "filtered", "no-response")],
        extraports: [{ state: "closed", count: 1, reasons: [{ reason: "reset", count: 1 }] }],
      },
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record: a failing batch leaves nothing of itself behind", () => {
  const db = openHistory(":memory:");
  try {
    const id = start(db, "198.51.100.2", "2030-01-01T00:00:00.000Z");
    addResults(db, id, [port("198.51.100.2", 22, "open", "syn-ack")]);
    const broken = {
      ...port("198.51.100.2", 80, "open", "syn-ack"),
      state: null,
    } as unknown as PortResult;
    assert.throws(() => addResults(db, id, [port("198.51.100.2", 443, "open", "syn-ack"), broken]));
    const ports = loadScan(db, id).hosts[0]?.ports.map((p) => p.port);
    assert.deepEqual(ports, [22]);
    assert.throws(
      () => addResults(db, 99, [port("198.51.100.2", 22, "open", "syn-ack")]),
      (error: unknown) =>
        error instanceof RangeError &&
        error.message === "Cannot add results to scan 99: not in the history",
    );
    assert.throws(() => loadScan(db, 99), /^RangeError: Cannot load scan 99: not in the history$/);
    assert.throws(() => finishScan(db, 99, { end: "x", stats: STATS }), /Cannot finish scan 99/);
  } finally {
    db.close();
  }
});

Deno.test("history: listScans and lastTwoScans pick finished scans of the same targets", () => {
  const db = openHistory(":memory:");
  try {
    const ids: number[] = [];
    const times = ["01", "02", "03", "04", "05"];
    const targets = ["127.0.0.1", "198.51.100.2", "127.0.0.1", "127.0.0.1", "127.0.0.1"];
    for (const [i, t] of targets.entries()) {
      const id = start(db, t, `2030-01-${times[i]}T00:00:00.000Z`);
      addResults(db, id, [port(t, 22, "open", "syn-ack"), port(t, 23, "closed", "conn-refused")]);
      ids.push(id);
    }
    finishScan(db, ids[0]!, { end: "2030-01-01T00:01:00.000Z", stats: STATS });
    finishScan(db, ids[1]!, { end: "2030-01-02T00:01:00.000Z", stats: STATS });
    finishScan(db, ids[2]!, { end: "2030-01-03T00:01:00.000Z", stats: STATS });
    finishScan(db, ids[3]!, { end: "2030-01-04T00:01:00.000Z", stats: STATS, interrupted: true });
    // ids[4] never finishes, as after a crash.

    const all = listScans(db);
    assert.deepEqual(all.map((s) => s.id), [...ids].reverse());
    assert.deepEqual(all[0], {
      id: ids[4],
      start: "2030-01-05T00:00:00.000Z",
      end: "",
      args: ["portolan", "-sT", "127.0.0.1"],
      targets: "127.0.0.1",
      hostsUp: 1,
      openPorts: 1,
      types: ["connect"],
      ports: "22-25,443",
      portCount: 5,
      interrupted: true,
      finished: false,
    });
    assert.equal(all[1]?.interrupted, true);
    assert.equal(all[1]?.finished, true);
    assert.deepEqual(listScans(db, { limit: 2 }).map((s) => s.id), [ids[4], ids[3]]);
    assert.deepEqual(listScans(db, { targets: "198.51.100.2" }).map((s) => s.id), [ids[1]]);

    assert.deepEqual(lastTwoScans(db).map((s) => s.id), [ids[0], ids[2]]);
    assert.deepEqual(lastTwoScans(db, { includeInterrupted: true }).map((s) => s.id), [
      ids[3],
      ids[4],
    ]);
    assert.deepEqual(lastTwoScans(db, { targets: "198.51.100.2" }).map((s) => s.id), [ids[1]]);
    assert.deepEqual(lastTwoScans(db, { targets: "203.0.113.9" }), []);
  } finally {
    db.close();
  }
});

Deno.test("importReport: a JSON report round-trips through the history", () => {
  const report: ScanReport = {
    scanner: "portolan",
    version: "0.1.0",
    args: ["portolan", "-sT", "-sV", "198.51.100.2"],
    start: "2030-01-01T00:00:00.000Z",
    end: "2030-01-01T00:00:05.000Z",
    scaninfo: [{ type: "connect", protocol: "tcp", numServices: 1000, services: "1-1000" }],
    hosts: [{
      address: "198.51.100.2",
      hostnames: ["a.example"],
      state: "up",
      reason: "syn-ack",
      ports: [
        port("198.51.100.2", 21, "closed", "conn-refused"),
        {
          ...port("198.51.100.2", 443, "open", "syn-ack"),
          service: {
            name: "https",
            product: "nginx",
            version: "1.24",
            cpe: ["cpe:/a:nginx:nginx:1.24"],
            certificate: { fingerprint: "aa:bb", subject: "CN=a.example", notAfter: "2031-01-01" },
          },
        },
      ],
      extraports: [{
        state: "filtered",
        count: 998,
        reasons: [{ reason: "no-response", count: 990 }, { reason: "host-unreach", count: 8 }],
      }],
    }],
    stats: { probes: 1990, retries: 990, seconds: 5, hostsUp: 1, hostsDown: 0, hostsTotal: 1 },
  };
  const db = openHistory(":memory:");
  try {
    const id = importReport(db, report);
    const back = loadScan(db, id);
    const { id: _id, targets, interrupted, finished, ...plain } = back;
    assert.deepEqual(plain, report);
    assert.equal(targets, "198.51.100.2");
    assert.equal(interrupted, false);
    assert.equal(finished, true);
    const cert = db.prepare(
      "SELECT cert_fingerprint, cert_subject, cert_not_after FROM ports WHERE port = 443",
    )
      .get();
    assert.deepEqual({ ...cert }, {
      cert_fingerprint: "aa:bb",
      cert_subject: "CN=a.example",
      cert_not_after: "2031-01-01",
    });
    const partial = importReport(db, { ...report, end: "" }, { targets: "x" });
    assert.equal(loadScan(db, partial).interrupted, true);
  } finally {
    db.close();
  }
});

Deno.test("normalizeTargetSpec: order, case, duplicates and separators do not matter", () => {
  assert.equal(
    normalizeTargetSpec(["198.51.100.0/24", " Host.EXAMPLE ", "198.51.100.0/24"]),
    "198.51.100.0/24 host.example",
  );
  assert.equal(
    normalizeTargetSpec("b.example,a.example  2001:DB8::1"),
    "2001:db8::1 a.example b.example",
  );
  assert.equal(normalizeTargetSpec([]), "");
});

Deno.test("record: a batch in any order is written host by host, each up by its first answer; unchanged hosts are not rewritten", () => {
  const db = openHistory(":memory:");
  try {
    const id = start(db, "198.51.100.0/30", "2030-01-01T00:00:00.000Z");
    // Hosts interleaved, as a randomized probe order delivers them.
    addResults(db, id, [
      port("198.51.100.3", 25, "filtered", "no-response"),
      port("198.51.100.2", 22, "closed", "reset"),
      port("198.51.100.3", 81, "filtered", "admin-prohibited"),
      port("198.51.100.2", 443, "open", "syn-ack"),
      port("198.51.100.3", 80, "open", "syn-ack"),
      port("198.51.100.2", 23, "closed", "reset"),
      port("198.51.100.1", 24, "filtered", "no-response"),
    ]);
    const scan = loadScan(db, id);
    assert.deepEqual(
      scan.hosts.map((h) => [h.address, h.state, h.reason, h.ports.map((p) => p.port)]),
      [
        ["198.51.100.1", "unknown", "", [24]],
        ["198.51.100.2", "up", "reset", [443]],
        // Its first answer in arrival order, not its lowest answering port.
        ["198.51.100.3", "up", "admin-prohibited", [25, 80, 81]],
      ],
    );
    assert.deepEqual(scan.hosts[1]?.extraports, [
      { state: "closed", count: 2, reasons: [{ reason: "reset", count: 2 }] },
    ]);

    const changes = (): number =>
      Number(db.prepare("SELECT total_changes() AS n").get()?.n ?? Number.NaN);
    const before = changes();
    // What the final report says again of hosts already recorded so: nothing written.
    addHosts(db, id, [
      { address: "198.51.100.2", hostnames: [], state: "up", reason: "reset" },
      { address: "198.51.100.3", hostnames: [], state: "unknown", reason: "" },
    ]);
    assert.equal(changes(), before);
    addHosts(db, id, [
      { address: "198.51.100.2", hostnames: ["b.example"], state: "up", reason: "reset" },
      { address: "198.51.100.3", hostnames: [], state: "up", reason: "syn-ack" },
    ]);
    assert.equal(changes(), before + 2);
    assert.deepEqual(
      loadScan(db, id).hosts.slice(1).map((h) => [h.hostnames, h.reason]),
      [[["b.example"], "reset"], [[], "syn-ack"]],
    );
  } finally {
    db.close();
  }
});

Deno.test("record: hundreds of rows go many to a statement, and a write that fails half-way leaves nothing for the next", () => {
  const db = openHistory(":memory:");
  try {
    const id = start(db, "198.51.100.0/24", "2030-01-01T00:00:00.000Z");
    const hosts = Array.from({ length: 200 }, (_, i) => `198.51.100.${i + 1}`);
    // Each host: 80 open, 81 and 82 closed; hosts interleaved.
    const batch = [80, 81, 82].flatMap((p) =>
      hosts.map((a) => p === 80 ? port(a, p, "open", "syn-ack") : port(a, p, "closed", "reset"))
    );
    addResults(db, id, batch);
    addCounts(
      db,
      id,
      hosts.map((address) => ({
        address,
        state: "filtered",
        reason: "no-response",
        count: 5,
      })),
    );
    addHosts(
      db,
      id,
      hosts.map((address, i) => ({
        address,
        hostnames: i % 2 === 0 ? [`h${i}.example`] : [],
        state: "up",
        reason: "syn-ack",
      })),
    );
    const scan = loadScan(db, id);
    assert.equal(scan.hosts.length, 200);
    for (const [i, h] of scan.hosts.entries()) {
      assert.deepEqual(h.ports.map((p) => [p.port, p.state]), [[80, "open"]]);
      assert.deepEqual([...h.extraports].sort((a, b) => a.count - b.count), [
        { state: "closed", count: 2, reasons: [{ reason: "reset", count: 2 }] },
        { state: "filtered", count: 5, reasons: [{ reason: "no-response", count: 5 }] },
      ]);
      const n = Number(h.address.split(".")[3]) - 1;
      assert.deepEqual([h.hostnames, h.reason], [n % 2 === 0 ? [`h${n}.example`] : [], "syn-ack"]);
      assert.ok(i === 0 || (scan.hosts[i - 1]?.address ?? "") !== h.address);
    }

    // The writer of a recorder lives on after a failed batch: what it held is not sent again.
    const w = createRecordWriter(db);
    const broken = { ...port("198.51.100.250", 1, "open", "syn-ack"), state: null };
    // The statement that fails holds the broken row; a closed count is held for a later one.
    const failing = [
      port("198.51.100.249", 22, "closed", "reset"),
      broken as unknown as PortResult,
      port("198.51.100.251", 22, "closed", "reset"),
      ...Array.from({ length: 150 }, (_, i) => port("198.51.100.251", i + 1000, "open", "syn-ack")),
    ];
    assert.throws(() => transaction(db, () => w.results(id, failing)), /NOT NULL/);
    transaction(db, () => w.results(id, [port("198.51.100.252", 22, "open", "syn-ack")]));
    const after = loadScan(db, id).hosts.map((h) => h.address);
    assert.equal(after.length, 201);
    assert.ok(after.includes("198.51.100.252"));
    const rolledBack = ["198.51.100.249", "198.51.100.250", "198.51.100.251"];
    assert.ok(after.every((address) => !rolledBack.includes(address)));
  } finally {
    db.close();
  }
});
