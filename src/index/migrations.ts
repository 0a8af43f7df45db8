import type { Database } from 'better-sqlite3';

/** One step of the schema; `up` runs inside the transaction that records its version. */
export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}

/**
 * The schema, oldest first. Append only: a released step is never edited, because databases
 * made by it exist. Times are ns (mtime, ctime) or ms since the epoch (seen, started).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'locations and the file index',
    up(db) {
      db.exec(`
        CREATE TABLE locations (
          id INTEGER PRIMARY KEY,
          root_id TEXT NOT NULL UNIQUE,
          path TEXT NOT NULL,
          created_ms INTEGER NOT NULL,
          indexed_ms INTEGER
        );
        CREATE TABLE files (
          location INTEGER NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
          dir TEXT NOT NULL,
          name TEXT NOT NULL,
          kind INTEGER NOT NULL,
          size INTEGER NOT NULL,
          mtime_ns INTEGER NOT NULL,
          ctime_ns INTEGER NOT NULL,
          ino INTEGER NOT NULL,
          dev INTEGER NOT NULL,
          mode INTEGER NOT NULL,
          target TEXT,
          hash TEXT,
          hashed_ns INTEGER,
          seen_ms INTEGER NOT NULL,
          PRIMARY KEY (location, dir, name)
        ) WITHOUT ROWID;
        CREATE INDEX files_by_inode ON files (location, dev, ino);
      `);
    },
  },
  {
    version: 2,
    name: 'run locks',
    up(db) {
      db.exec(`
        CREATE TABLE locks (
          key TEXT PRIMARY KEY,
          pid INTEGER NOT NULL,
          host TEXT NOT NULL,
          started_ms INTEGER NOT NULL,
          command TEXT NOT NULL
        );
      `);
    },
  },
  {
    version: 3,
    name: 'directory digests (the --checksum fast path)',
    up(db) {
      db.exec(`
        CREATE TABLE dir_digests (
          location INTEGER NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
          dir TEXT NOT NULL,
          shape TEXT NOT NULL,
          hashes TEXT NOT NULL,
          PRIMARY KEY (location, dir)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 4,
    name: 'pairs and their ancestors (two-way sync)',
    up(db) {
      // A pair's sides are its roots' ids, in the order of its first run (a_, b_ columns).
      // The ancestor keeps what both sides agreed on per path, and each side's stamp then.
      db.exec(`
        CREATE TABLE pairs (
          id INTEGER PRIMARY KEY,
          name TEXT UNIQUE,
          a_root_id TEXT NOT NULL,
          b_root_id TEXT NOT NULL,
          a_path TEXT NOT NULL,
          b_path TEXT NOT NULL,
          mode TEXT NOT NULL,
          options TEXT NOT NULL,
          created_ms INTEGER NOT NULL,
          last_sync_ms INTEGER,
          last_outcome TEXT
        );
        CREATE INDEX pairs_by_roots ON pairs (a_root_id, b_root_id);
        CREATE TABLE ancestors (
          pair INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
          dir TEXT NOT NULL,
          name TEXT NOT NULL,
          kind INTEGER NOT NULL,
          size INTEGER NOT NULL,
          mtime_ns INTEGER NOT NULL,
          mode INTEGER NOT NULL,
          target TEXT,
          hash TEXT,
          a_ino INTEGER,
          a_ctime_ns INTEGER,
          b_ino INTEGER,
          b_ctime_ns INTEGER,
          PRIMARY KEY (pair, dir, name)
        ) WITHOUT ROWID;
        CREATE TABLE ancestor_dirs (
          pair INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
          dir TEXT NOT NULL,
          a_digest TEXT NOT NULL,
          b_digest TEXT NOT NULL,
          PRIMARY KEY (pair, dir)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 5,
    name: 'one-way runs (when the last run that left no file behind started)',
    up(db) {
      // Keyed like the file index's locations: a root's id, or `path:` and its path.
      db.exec(`
        CREATE TABLE oneway_runs (
          src TEXT NOT NULL,
          dst TEXT NOT NULL,
          clean_started_ms INTEGER NOT NULL,
          PRIMARY KEY (src, dst)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 6,
    name: 'folders a two-way run opened (their modes, to give back after a crash)',
    up(db) {
      // side: 'a' or 'b', as the pair's columns name its roots.
      db.exec(`
        CREATE TABLE opened_dirs (
          pair INTEGER NOT NULL REFERENCES pairs(id) ON DELETE CASCADE,
          side TEXT NOT NULL,
          path TEXT NOT NULL,
          mode INTEGER NOT NULL,
          PRIMARY KEY (pair, side, path)
        ) WITHOUT ROWID;
      `);
    },
  },
  {
    version: 7,
    name: "pairs' sync tokens (S27: a root restored from a backup is not the one last synced)",
    up(db) {
      // sync-token.ts: the token both roots were given, and the one a run was giving them.
      db.exec(`
        ALTER TABLE pairs ADD COLUMN sync_token TEXT;
        ALTER TABLE pairs ADD COLUMN next_token TEXT;
      `);
    },
  },
];

/** The schema version a database holds (SQLite's user_version; 0 for a new file). */
export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Brings `db` up to the last step of `steps`, each step in its own transaction, so a crash
 * leaves the database at a whole version. Returns the version found before.
 */
export function migrate(db: Database, steps: readonly Migration[]): number {
  const found = schemaVersion(db);
  for (const step of steps) {
    if (step.version <= found) continue;
    db.transaction(() => {
      // Another process may have migrated since we looked.
      if (schemaVersion(db) >= step.version) return;
      step.up(db);
      db.pragma(`user_version = ${step.version}`);
    }).immediate();
  }
  return found;
}
