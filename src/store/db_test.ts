import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  defaultDbPath,
  HistoryError,
  MIGRATIONS,
  openHistory,
  SCHEMA_VERSION,
  transaction,
  userVersion,
} from "./db.ts";
import { loadScan } from "./history.ts";

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "portolan_store_" });
}

function tables(db: DatabaseSync): string[] {
  return db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all()
    .map((row) => String(row.name));
}

Deno.test("openHistory: a new file gets the whole schema, WAL, foreign keys", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir}/nested/dir/history.db`;
    const db = openHistory(path);
    assert.equal(userVersion(db), SCHEMA_VERSION);
    assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
    assert.deepEqual(tables(db), ["extraports", "hosts", "ports", "scans"]);
    assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    assert.equal(db.prepare("PRAGMA foreign_keys").get()?.foreign_keys, 1);
    assert.equal(db.prepare("PRAGMA synchronous").get()?.synchronous, 1); // NORMAL
    assert.equal(db.prepare("PRAGMA busy_timeout").get()?.timeout, 5000);
    db.close();
    assert.equal((await Deno.stat(`${dir}/nested/dir`)).mode! & 0o777, 0o700);
    // Opening again is a no-op.
    const again = openHistory(path, { busyTimeout: 250 });
    assert.equal(userVersion(again), SCHEMA_VERSION);
    assert.equal(again.prepare("PRAGMA busy_timeout").get()?.timeout, 250);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openHistory: migrates a version 1 file to the current schema, keeping its rows", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir}/history.db`;
    const old = openHistory(path, { migrateTo: 1 });
    assert.equal(userVersion(old), 1);
    assert.deepEqual(tables(old), ["hosts", "ports", "scans"]);
    // Rows as a version-1 portolan wrote them: the service only as JSON.
    old.exec(`
      INSERT INTO scans (id, version, args, targets, start, "end", scaninfo)
        VALUES (1, '0.0.9', '["portolan","198.51.100.2"]', '198.51.100.2',
                '2030-01-01T00:00:00.000Z', '2030-01-01T00:00:09.000Z', '[]');
      INSERT INTO hosts (scan_id, address, state, reason) VALUES (1, '198.51.100.2', 'up', 'syn-ack');
      INSERT INTO ports (scan_id, address, protocol, port, state, reason, service) VALUES
        (1, '198.51.100.2', 'tcp', 443, 'open', 'syn-ack',
         '{"name":"https","product":"nginx","version":"1.22","cpe":["cpe:/a:nginx:nginx:1.22"],"certificate":{"fingerprint":"ab:cd","notAfter":"2031-01-01"}}'),
        (1, '198.51.100.2', 'tcp', 22, 'open', 'syn-ack', NULL);
    `);
    old.close();

    const db = openHistory(path);
    assert.equal(userVersion(db), SCHEMA_VERSION);
    assert.deepEqual(tables(db), ["extraports", "hosts", "ports", "scans"]);
    const row = db.prepare(
      `SELECT service_name, product, version, cpe, cert_fingerprint, cert_not_after
       FROM ports WHERE port = 443`,
    ).get();
    assert.deepEqual({ ...row }, {
      service_name: "https",
      product: "nginx",
      version: "1.22",
      cpe: "cpe:/a:nginx:nginx:1.22",
      cert_fingerprint: "ab:cd",
      cert_not_after: "2031-01-01",
    });
    assert.equal(db.prepare("SELECT product FROM ports WHERE port = 22").get()?.product, null);
    const scan = loadScan(db, 1);
    assert.deepEqual(scan.hosts.map((h) => h.ports.map((p) => p.port)), [[22, 443]]);
    assert.equal(scan.hosts[0]?.ports[1]?.service?.product, "nginx");
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openHistory: a newer schema is refused with a clear error, the file untouched", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir}/history.db`;
    openHistory(path).close();
    const raw = new DatabaseSync(path);
    raw.exec("PRAGMA user_version = 7");
    raw.close();
    const before = await Deno.readFile(path);
    assert.throws(
      () => openHistory(path),
      (error: unknown) =>
        error instanceof HistoryError &&
        error.message ===
          `Cannot open history "${path}": schema version 7 is newer than this portolan (${SCHEMA_VERSION})`,
    );
    assert.deepEqual(await Deno.readFile(path), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openHistory: random bytes give a clear error and stay as they were", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir}/history.db`;
    const junk = crypto.getRandomValues(new Uint8Array(8192));
    await Deno.writeFile(path, junk);
    assert.throws(
      () => openHistory(path),
      (error: unknown) =>
        error instanceof HistoryError &&
        error.message === `Cannot open history "${path}": file is not a database`,
    );
    assert.deepEqual(await Deno.readFile(path), junk);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openHistory: another program's SQLite file is not taken over", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir}/other.db`;
    const other = new DatabaseSync(path);
    other.exec("CREATE TABLE notes (text TEXT)");
    other.close();
    assert.throws(
      () => openHistory(path),
      (error: unknown) =>
        error instanceof HistoryError &&
        error.message ===
          `Cannot open history "${path}": not a portolan history (it has tables but no schema version)`,
    );
    const withId = new DatabaseSync(`${dir}/app.db`);
    withId.exec("PRAGMA application_id = 1234");
    withId.close();
    assert.throws(
      () => openHistory(`${dir}/app.db`),
      /not a portolan history \(application id 0x4d2\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openHistory: an unopenable path names the file", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir}/file`, "");
    // The parent is a regular file, so neither mkdir nor open can succeed.
    assert.throws(
      () => openHistory(`${dir}/file/history.db`),
      (error: unknown) =>
        error instanceof HistoryError &&
        error.message.startsWith(`Cannot open history "${dir}/file/history.db": `),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("transaction: a throwing step rolls everything back", () => {
  const db = openHistory(":memory:");
  try {
    assert.throws(
      () =>
        transaction(db, () => {
          db.exec(`INSERT INTO scans (start) VALUES ('2030-01-01T00:00:00.000Z')`);
          throw new Error("boom");
        }),
      /boom/,
    );
    assert.equal(db.prepare("SELECT count(*) AS n FROM scans").get()?.n, 0);
    assert.equal(db.isTransaction, false);
  } finally {
    db.close();
  }
});

Deno.test("defaultDbPath: XDG_DATA_HOME, then HOME, relative XDG ignored", () => {
  const env = (vars: Record<string, string>) => (name: string): string | undefined => vars[name];
  assert.equal(
    defaultDbPath(env({ XDG_DATA_HOME: "/data/", HOME: "/home/ada" })),
    "/data/portolan/history.db",
  );
  assert.equal(
    defaultDbPath(env({ HOME: "/home/ada" })),
    "/home/ada/.local/share/portolan/history.db",
  );
  assert.equal(
    defaultDbPath(env({ XDG_DATA_HOME: "rel/data", HOME: "/home/ada" })),
    "/home/ada/.local/share/portolan/history.db",
  );
  assert.throws(() => defaultDbPath(env({})), /neither XDG_DATA_HOME nor HOME is set/);
});

Deno.test("openHistory: version 4 drops hosts that never answered, keeps every other row", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir}/history.db`;
    const old = openHistory(path, { migrateTo: 3 });
    // A -Pn scan as version 3 recorded it: a dark host with its silent ports,
    // a host that answered (with a silent port of its own), a host found down.
    old.exec(`
      INSERT INTO scans (id, args, targets, start, "end", scaninfo)
        VALUES (1, '[]', '198.51.100.0/30', '2030-01-01T00:00:00.000Z', '2030-01-01T00:00:09.000Z',
                '[{"type":"syn","protocol":"tcp","numServices":3,"services":"22,80,81"}]');
      INSERT INTO hosts (scan_id, address, state, reason) VALUES
        (1, '198.51.100.1', 'unknown', 'no-response'),
        (1, '198.51.100.2', 'up', 'syn-ack'),
        (1, '198.51.100.3', 'down', 'no-response');
      INSERT INTO ports (scan_id, address, protocol, port, state, reason) VALUES
        (1, '198.51.100.1', 'tcp', 22, 'filtered', 'no-response'),
        (1, '198.51.100.1', 'tcp', 80, 'filtered', 'no-response'),
        (1, '198.51.100.1', 'tcp', 81, 'filtered', 'no-response'),
        (1, '198.51.100.2', 'tcp', 80, 'open', 'syn-ack'),
        (1, '198.51.100.2', 'tcp', 81, 'filtered', 'no-response');
      INSERT INTO extraports (scan_id, address, state, reason, count) VALUES
        (1, '198.51.100.2', 'closed', 'reset', 1);
    `);
    old.close();
    const db = openHistory(path);
    assert.equal(userVersion(db), 4);
    const scan = loadScan(db, 1);
    assert.deepEqual(scan.hosts.map((h) => [h.address, h.state]), [
      ["198.51.100.2", "up"],
      ["198.51.100.3", "down"],
    ]);
    assert.deepEqual(scan.hosts[0]?.ports.map((p) => [p.port, p.state]), [
      [80, "open"],
      [81, "filtered"],
    ]);
    assert.deepEqual(scan.hosts[0]?.extraports.map((e) => [e.state, e.count]), [["closed", 1]]);
    assert.equal(db.prepare("SELECT count(*) AS n FROM ports").get()?.n, 2);
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
