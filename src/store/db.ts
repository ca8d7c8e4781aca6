/**
 * The scan history database: one SQLite file (through `node:sqlite`) in WAL
 * mode, with a versioned schema that is migrated forward when opened.
 *
 * @module
 */

import { DatabaseSync } from "node:sqlite";
import { serviceFromJson } from "../model/mod.ts";
import { serviceColumns, serviceColumnValues } from "./service_fields.ts";

/** An open history database. */
export type HistoryDb = DatabaseSync;

/** A history database could not be opened, read or written. */
export class HistoryError extends Error {
  /** Create the error; `message` is one line naming the file. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HistoryError";
  }
}

/** One step of the schema; applied in order, each in its own transaction. */
export interface Migration {
  /** The `user_version` the database has after this step. */
  version: number;
  /** What the step changes, for humans. */
  description: string;
  /** Apply the step; runs inside a transaction. */
  up(db: DatabaseSync): void;
}

/** SQL: the port row's reason says nothing came back. */
const SILENT_SQL = "p.reason IN ('', 'no-response', 'timeout', 'host-timeout')";

// "port" in ASCII: marks the file as a portolan history for `file(1)` and for us.
const APPLICATION_ID = 0x706f7274;

/** Every schema step, oldest first. Never edit a released step; append a new one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "scans, hosts and ports",
    up(db: DatabaseSync): void {
      db.exec(`
        CREATE TABLE scans (
          id INTEGER PRIMARY KEY,
          scanner TEXT NOT NULL DEFAULT 'portolan',
          version TEXT NOT NULL DEFAULT '',
          args TEXT NOT NULL DEFAULT '[]',
          targets TEXT NOT NULL DEFAULT '',
          start TEXT NOT NULL,
          "end" TEXT NOT NULL DEFAULT '',
          scaninfo TEXT NOT NULL DEFAULT '[]',
          stats TEXT,
          interrupted INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE hosts (
          scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
          address TEXT NOT NULL,
          hostnames TEXT NOT NULL DEFAULT '[]',
          state TEXT NOT NULL DEFAULT 'unknown',
          reason TEXT NOT NULL DEFAULT '',
          PRIMARY KEY (scan_id, address)
        ) WITHOUT ROWID;
        CREATE TABLE ports (
          scan_id INTEGER NOT NULL,
          address TEXT NOT NULL,
          protocol TEXT NOT NULL,
          port INTEGER NOT NULL,
          state TEXT NOT NULL,
          reason TEXT NOT NULL DEFAULT '',
          rtt REAL,
          reason_ttl INTEGER,
          service TEXT,
          PRIMARY KEY (scan_id, address, protocol, port),
          FOREIGN KEY (scan_id, address) REFERENCES hosts(scan_id, address) ON DELETE CASCADE
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 2,
    description: "service and certificate columns on ports, filled from the service JSON",
    up(db: DatabaseSync): void {
      db.exec(`
        ALTER TABLE ports ADD COLUMN service_name TEXT;
        ALTER TABLE ports ADD COLUMN product TEXT;
        ALTER TABLE ports ADD COLUMN version TEXT;
        ALTER TABLE ports ADD COLUMN extra_info TEXT;
        ALTER TABLE ports ADD COLUMN cpe TEXT;
        ALTER TABLE ports ADD COLUMN cert_fingerprint TEXT;
        ALTER TABLE ports ADD COLUMN cert_subject TEXT;
        ALTER TABLE ports ADD COLUMN cert_not_after TEXT;
      `);
      // Filled in TypeScript so old rows get exactly what the recorder writes.
      const rows = db.prepare(
        "SELECT scan_id, address, protocol, port, service FROM ports WHERE service IS NOT NULL",
      ).all();
      const update = db.prepare(
        `UPDATE ports SET service_name = ?, product = ?, version = ?, extra_info = ?, cpe = ?,
           cert_fingerprint = ?, cert_subject = ?, cert_not_after = ?
         WHERE scan_id = ? AND address = ? AND protocol = ? AND port = ?`,
      );
      for (const row of rows) {
        let service: unknown;
        try {
          service = JSON.parse(String(row.service));
        } catch (error) {
          if (error instanceof SyntaxError) continue; // a damaged row keeps no columns
          throw error;
        }
        update.run(
          ...serviceColumnValues(serviceColumns(serviceFromJson(service))),
          row.scan_id as number,
          row.address as string,
          row.protocol as string,
          row.port as number,
        );
      }
    },
  },
  {
    version: 3,
    description: "counted (extra) ports per host, state and reason; scans indexed by targets",
    up(db: DatabaseSync): void {
      db.exec(`
        CREATE TABLE extraports (
          scan_id INTEGER NOT NULL,
          address TEXT NOT NULL,
          state TEXT NOT NULL,
          reason TEXT NOT NULL DEFAULT '',
          count INTEGER NOT NULL,
          PRIMARY KEY (scan_id, address, state, reason),
          FOREIGN KEY (scan_id, address) REFERENCES hosts(scan_id, address) ON DELETE CASCADE
        ) WITHOUT ROWID;
        CREATE INDEX scans_by_targets ON scans(targets, start);
      `);
    },
  },
  {
    version: 4,
    description: "hosts that never answered (a -Pn scan's dark addresses) and their ports dropped",
    up(db: DatabaseSync): void {
      // What scans record from now on: a host only once something came back from it.
      db.exec(`
        CREATE TEMP TABLE silent_hosts AS
          SELECT h.scan_id, h.address FROM hosts h
          WHERE h.state = 'unknown'
            AND NOT EXISTS (
              SELECT 1 FROM ports p WHERE p.scan_id = h.scan_id AND p.address = h.address
                AND NOT (p.state IN ('filtered', 'open|filtered') AND ${SILENT_SQL}))
            AND NOT EXISTS (
              SELECT 1 FROM extraports e WHERE e.scan_id = h.scan_id AND e.address = h.address
                AND NOT (e.state IN ('filtered', 'open|filtered')
                  AND e.reason IN ('', 'no-response', 'timeout', 'host-timeout')));
        DELETE FROM ports WHERE (scan_id, address) IN (SELECT scan_id, address FROM silent_hosts);
        DELETE FROM extraports
          WHERE (scan_id, address) IN (SELECT scan_id, address FROM silent_hosts);
        DELETE FROM hosts WHERE (scan_id, address) IN (SELECT scan_id, address FROM silent_hosts);
        DROP TABLE silent_hosts;
      `);
    },
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Options of {@link openHistory}. */
export interface OpenHistoryOptions {
  /** How long a write waits for another process's lock, ms. Default 5000. */
  busyTimeout?: number;
  /** Create the file's directory (mode 0700) when missing. Default true. */
  createDirectory?: boolean;
  /** Migrate only up to this version (tests build old databases with it). Default: the latest. */
  migrateTo?: number;
}

/**
 * Open (creating if needed) a history database and migrate it to the current
 * schema.
 *
 * @example
 * ```ts
 * import { openHistory } from "./db.ts";
 * const db = openHistory(":memory:");
 * db.close();
 * ```
 */
export function openHistory(path: string, options: OpenHistoryOptions = {}): HistoryDb {
  const fail = (reason: string, cause?: unknown): HistoryError =>
    new HistoryError(`Cannot open history "${path}": ${reason}`, { cause });
  if ((options.createDirectory ?? true) && path !== ":memory:" && !path.startsWith("file:")) {
    try {
      Deno.mkdirSync(parentOf(path), { recursive: true, mode: 0o700 });
    } catch (error) {
      throw fail(messageOf(error), error);
    }
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
  } catch (error) {
    throw fail(messageOf(error), error);
  }
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeout ?? 5000))}`);
    // Reading the header first turns a foreign or corrupt file into an error before any write.
    const appId = Number(db.prepare("PRAGMA application_id").get()?.application_id ?? 0);
    const tables = Number(
      db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get()?.n ?? 0,
    );
    const version = userVersion(db);
    if (appId !== 0 && appId !== APPLICATION_ID) {
      throw fail(`not a portolan history (application id 0x${appId.toString(16)})`);
    }
    if (version === 0 && tables > 0) {
      throw fail("not a portolan history (it has tables but no schema version)");
    }
    if (version > SCHEMA_VERSION) {
      throw fail(`schema version ${version} is newer than this portolan (${SCHEMA_VERSION})`);
    }
    db.prepare("PRAGMA journal_mode = WAL").get();
    // NORMAL in WAL mode: a power loss may drop the last commits, a crash loses nothing committed.
    db.exec("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON");
    migrate(db, options.migrateTo ?? SCHEMA_VERSION);
  } catch (error) {
    db.close();
    if (error instanceof HistoryError) throw error;
    throw fail(messageOf(error), error);
  }
  return db;
}

/** The schema version stored in the file (0 for a new file). */
export function userVersion(db: HistoryDb): number {
  return Number(db.prepare("PRAGMA user_version").get()?.user_version ?? 0);
}

/**
 * Apply every migration above the database's version, up to `target`. Each
 * step re-reads the version inside its write transaction, so two processes
 * opening an old file at once apply each step once.
 */
export function migrate(db: HistoryDb, target: number = SCHEMA_VERSION): void {
  for (const step of MIGRATIONS) {
    if (step.version > target) break;
    if (step.version <= userVersion(db)) continue;
    transaction(db, () => {
      const current = userVersion(db);
      if (step.version <= current) return;
      if (current !== step.version - 1) {
        throw new HistoryError(
          `Cannot migrate history from schema version ${current} to ${step.version}: a step is missing`,
        );
      }
      step.up(db);
      if (current === 0) db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
      db.exec(`PRAGMA user_version = ${step.version}`);
    });
  }
}

/**
 * Run `fn` in one write transaction (BEGIN IMMEDIATE, so the write lock is
 * taken up front and a busy database waits instead of failing mid-way).
 */
export function transaction<T>(db: HistoryDb, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  let result: T;
  try {
    result = fn();
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
  db.exec("COMMIT");
  return result;
}

/**
 * Where the history lives by default: `$XDG_DATA_HOME/portolan/history.db`,
 * or `~/.local/share/portolan/history.db`. `env` reads an environment
 * variable (`Deno.env.get` in the CLI).
 *
 * @example
 * ```ts
 * import { defaultDbPath } from "./db.ts";
 * defaultDbPath((name) => ({ HOME: "/home/ada" } as Record<string, string>)[name]);
 * // "/home/ada/.local/share/portolan/history.db"
 * ```
 */
export function defaultDbPath(env: (name: string) => string | undefined): string {
  const xdg = env("XDG_DATA_HOME");
  // The XDG spec says relative paths are invalid and must be ignored.
  if (xdg !== undefined && xdg.startsWith("/")) return join(xdg, "portolan", "history.db");
  const home = env("HOME");
  if (home === undefined || home === "") {
    throw new HistoryError(
      "Cannot find a default history path: neither XDG_DATA_HOME nor HOME is set; use --db FILE",
    );
  }
  return join(home, ".local", "share", "portolan", "history.db");
}

function join(...parts: string[]): string {
  return parts.map((part, i) => (i === 0 ? part.replace(/\/+$/, "") : part)).join("/");
}

/**
 * The directory holding `path` ("." for a bare name). Not node:path's
 * dirname: loading node:fs and node:path costs a scan ~3.5 MB of memory.
 */
function parentOf(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const slash = trimmed.lastIndexOf("/");
  if (slash < 0) return ".";
  return slash === 0 ? "/" : trimmed.slice(0, slash);
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const errstr = (error as { errstr?: unknown }).errstr;
    return typeof errstr === "string" && errstr !== "" ? errstr : error.message;
  }
  return String(error);
}
