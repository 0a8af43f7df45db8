import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Entry, Kind } from '../core/entry.ts';
import { STATE_DIR } from '../core/path.ts';
import type { RetentionPolicy } from '../core/retention.ts';
import { ConcordError, errText } from '../errors.ts';
import { createDatabaseFile, Database } from '../index/sqlite.ts';

/** `B/.concord/history/`: the version store of a backup root, and its catalog. */
export const HISTORY_DIR = join(STATE_DIR, 'history');
export const CATALOG_FILE = 'catalog.db';

/** A root that `concord backup` writes into: only backup may change it (its history would miss the rest). */
export function isBackupRoot(root: string): boolean {
  return existsSync(join(root, HISTORY_DIR, CATALOG_FILE));
}

export type RunKind = 'backup' | 'restore';
/** running: not finished (a crash if found by the next run); partial: interrupted, settled. */
export type RunState = 'running' | 'complete' | 'partial';

export interface Run {
  id: number;
  timeMs: number;
  kind: RunKind;
  state: RunState;
  /** The run's folder under history/, holding what it displaced. */
  dir: string;
}

/** One version of one path: live from the run that captured it until the one that displaced it. */
export interface Version {
  id: number;
  path: string;
  kind: Kind;
  size: number;
  mtimeNs: bigint;
  mode: number;
  target: string | undefined;
  ino: bigint;
  blob: number | undefined;
  captured: number;
  displaced: number | undefined;
}

/** Where a version's bytes are: in B's tree (the current file) or under history/; none: lost. */
export interface Blob {
  id: number;
  inTree: boolean;
  loc: string | undefined;
}

/** Records per commit while a run goes on. */
const BATCH = 512;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, kind TEXT NOT NULL,
  state TEXT NOT NULL, dir TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, in_tree INTEGER NOT NULL, loc TEXT);
CREATE TABLE IF NOT EXISTS versions (
  id INTEGER PRIMARY KEY, path TEXT NOT NULL, kind TEXT NOT NULL, size INTEGER NOT NULL,
  mtime_ns TEXT NOT NULL, mode INTEGER NOT NULL, target TEXT, ino TEXT NOT NULL,
  blob INTEGER REFERENCES blobs(id), captured INTEGER NOT NULL REFERENCES runs(id),
  displaced INTEGER REFERENCES runs(id));
CREATE INDEX IF NOT EXISTS versions_path ON versions(path, captured);
CREATE UNIQUE INDEX IF NOT EXISTS versions_current ON versions(path) WHERE displaced IS NULL;
CREATE INDEX IF NOT EXISTS versions_blob ON versions(blob);
`;

interface VersionRow {
  id: number;
  path: string;
  kind: string;
  size: number;
  mtime_ns: string;
  mode: number;
  target: string | null;
  ino: string;
  blob: number | null;
  captured: number;
  displaced: number | null;
}

interface RunRow {
  id: number;
  time_ms: number;
  kind: string;
  state: string;
  dir: string;
}

/**
 * The catalog of a backup root, a SQLite file inside it (`B/.concord/history/catalog.db`), so
 * a backup drive describes itself without the state database. Rows about a path are written
 * only after the operation on that path succeeded (S15); what a crash leaves unrecorded is
 * found on disk by the next run (settle.ts).
 */
export class Catalog {
  readonly db: Database;
  /** Absolute `B/.concord/history`. */
  readonly historyDir: string;
  private readonly q;
  private pending = 0;
  private batchOpen = false;

  private constructor(db: Database, historyDir: string) {
    this.db = db;
    this.historyDir = historyDir;
    this.q = {
      current: db.prepare<[string], VersionRow>(
        'SELECT * FROM versions WHERE path = ? AND displaced IS NULL',
      ),
      displace: db.prepare<[number, number]>('UPDATE versions SET displaced = ? WHERE id = ?'),
      insert: db.prepare<
        [string, string, number, string, number, string | null, string, number | null, number]
      >(
        `INSERT INTO versions (path, kind, size, mtime_ns, mode, target, ino, blob, captured)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateMeta: db.prepare<[number, string, number, string, number]>(
        'UPDATE versions SET size = ?, mtime_ns = ?, mode = ?, ino = ? WHERE id = ?',
      ),
      newBlob: db.prepare<[number, string | null]>(
        'INSERT INTO blobs (in_tree, loc) VALUES (?, ?)',
      ),
      moveBlob: db.prepare<[number, string | null, number]>(
        'UPDATE blobs SET in_tree = ?, loc = ? WHERE id = ?',
      ),
      blob: db.prepare<[number], { id: number; in_tree: number; loc: string | null }>(
        'SELECT * FROM blobs WHERE id = ?',
      ),
    };
  }

  /**
   * Opens the catalog of the backup root `root`. Without `create`, a root with no catalog is
   * refused: it is not a backup root (exit 2, naming the root).
   */
  static open(root: string, shown: string, o: { create: boolean; readonly?: boolean }): Catalog {
    const historyDir = join(root, HISTORY_DIR);
    const file = join(historyDir, CATALOG_FILE);
    const st = statSync(file, { throwIfNoEntry: false });
    if (!o.create && !st) {
      throw new ConcordError(
        'bad-root',
        'is not a backup root (it has no .concord/history/catalog.db)',
        {
          path: shown,
          hint: 'give the destination of a concord backup, or make one with concord backup A B',
        },
      );
    }
    // Made whole (createDatabaseFile), a catalog of 0 bytes was cut short: opened, it read as
    // a new, empty history, or failed on a missing table with advice about permissions.
    if (st?.size === 0) {
      throw new ConcordError(
        'state',
        'the backup catalog is empty (0 bytes): it was cut short, and its list of versions with it',
        {
          path: file,
          hint: 'move it aside to start a new history; the versions kept so far stay in their folders beside it',
        },
      );
    }
    let db: Database | undefined;
    try {
      if (o.create) {
        mkdirSync(historyDir, { recursive: true });
        if (!st)
          createDatabaseFile(file, (fresh) => {
            fresh.pragma('journal_mode = DELETE');
            fresh.exec(SCHEMA);
          });
      }
      const readonly = o.readonly ?? false;
      if (readonly) rollBackHotJournal(file);
      db = new Database(file, { timeout: 5000, readonly, fileMustExist: !o.create });
      if (!readonly) {
        // A rollback journal, not WAL: with WAL even a reader creates files beside the
        // database (and a persistent journal gets chown-ed by a reader running as root), while
        // `versions` or a refused restore must leave B exactly as it was. Writes are batched
        // (see record), so the journal's syncs are paid per batch, not per file.
        db.pragma('journal_mode = DELETE');
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = ON');
        db.exec(SCHEMA);
      }
      return new Catalog(db, historyDir);
    } catch (err) {
      db?.close();
      throw new ConcordError('state', `cannot use the backup catalog: ${errText(err)}`, {
        path: file,
        hint: 'check its permissions and free space',
        cause: err,
      });
    }
  }

  close(): void {
    this.flush();
    this.db.close();
  }

  /**
   * Runs one record of a change inside the open batch, committed every BATCH records and by
   * flush(). A crash loses at most the batch: the changes are on disk, and the next run finds
   * them (settle.ts), so a row is never written before its change, only sometimes after.
   */
  private record(fn: () => void): void {
    if (!this.db.inTransaction) {
      this.db.exec('BEGIN');
      this.batchOpen = true;
    }
    this.tx(fn);
    if (++this.pending >= BATCH) this.flush();
  }

  /** Commits the open batch of records. */
  flush(): void {
    // Inside a caller's transaction (settle) the caller commits.
    if (this.batchOpen) this.db.exec('COMMIT');
    this.batchOpen = false;
    this.pending = 0;
  }

  // Runs

  startRun(kind: RunKind, timeMs: number, dir: string): number {
    this.flush();
    const r = this.db
      .prepare('INSERT INTO runs (time_ms, kind, state, dir) VALUES (?, ?, ?, ?)')
      .run(timeMs, kind, 'running', dir);
    return Number(r.lastInsertRowid);
  }

  finishRun(id: number, state: RunState): void {
    this.flush();
    this.db.prepare('UPDATE runs SET state = ? WHERE id = ?').run(state, id);
  }

  runs(): Run[] {
    return this.db
      .prepare<[], RunRow>('SELECT * FROM runs ORDER BY id')
      .all()
      .map((r) => ({
        id: r.id,
        timeMs: r.time_ms,
        kind: r.kind as RunKind,
        state: r.state as RunState,
        dir: r.dir,
      }));
  }

  // Settings

  getMeta(key: string): string | undefined {
    const r = this.db
      .prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?')
      .get(key);
    return r?.value;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(key, value);
  }

  policy(): RetentionPolicy | undefined {
    const text = this.getMeta('retention');
    return text === undefined ? undefined : (JSON.parse(text) as RetentionPolicy);
  }

  setPolicy(p: RetentionPolicy): void {
    this.setMeta('retention', JSON.stringify(p));
  }

  // Versions

  current(path: string): Version | undefined {
    const r = this.q.current.get(path);
    return r && toVersion(r);
  }

  blob(id: number): Blob | undefined {
    const r = this.q.blob.get(id);
    return r && { id: r.id, inTree: r.in_tree === 1, loc: r.loc ?? undefined };
  }

  /** Every version at `path` or below it (`''`: all), in path order then capture order. */
  versionsUnder(path: string): Version[] {
    const rows =
      path === ''
        ? this.db
            .prepare<[], VersionRow>('SELECT * FROM versions ORDER BY path, captured, id')
            .all()
        : this.db
            .prepare<[string, string, string], VersionRow>(
              // A range, not LIKE: SQLite's index ignores LIKE 'prefix%' (STACK.md). '0' follows '/'.
              'SELECT * FROM versions WHERE path = ? OR (path >= ? AND path < ?) ORDER BY path, captured, id',
            )
            .all(path, `${path}/`, `${path}0`);
    return rows.map(toVersion);
  }

  /** The versions that were B's view right after run `runId`, at `path` or below. */
  liveAt(path: string, runId: number): Version[] {
    return this.versionsUnder(path).filter(
      (v) => v.captured <= runId && (v.displaced === undefined || v.displaced > runId),
    );
  }

  /** Every current version (B's view now, as recorded). */
  currentAll(): Version[] {
    return this.db
      .prepare<[], VersionRow>('SELECT * FROM versions WHERE displaced IS NULL ORDER BY path')
      .all()
      .map(toVersion);
  }

  /** Runs one function in one transaction (all its rows, or none). */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /**
   * `path` now holds `now`, which replaced `old` (absent: nothing was there), whose bytes
   * went to `storedAt` (a path under history/) when it was a file or a symlink.
   */
  replaced(run: number, path: string, old: Entry | undefined, now: Entry, storedAt?: string): void {
    this.record(() => {
      this.displaceCurrent(run, path, old, storedAt);
      this.insertRow(run, path, now, this.treeBlob(now, path));
    });
  }

  /** `path` was removed; its bytes went to `storedAt` (files and symlinks). */
  removed(run: number, path: string, old: Entry | undefined, storedAt?: string): void {
    this.record(() => this.displaceCurrent(run, path, old, storedAt));
  }

  /**
   * Only the metadata of `path` changed (same inode): the old version stays restorable with
   * its own mtime and mode, pointing at the same bytes as the new one, so nothing is copied.
   */
  metaChanged(run: number, path: string, now: Entry): void {
    this.record(() => {
      const cur = this.current(path);
      if (cur === undefined) {
        this.insertRow(run, path, now, this.treeBlob(now, path));
        return;
      }
      if (cur.kind !== now.kind) {
        this.displaceCurrent(run, path, undefined, undefined);
        this.insertRow(run, path, now, this.treeBlob(now, path));
        return;
      }
      if (cur.mtimeNs === now.mtimeNs && cur.mode === now.mode && cur.size === now.size) return;
      if (cur.captured === run) {
        // Never a finished run's view (e.g. a directory's times set after its children).
        this.q.updateMeta.run(now.size, String(now.mtimeNs), now.mode, String(now.ino), cur.id);
        return;
      }
      this.q.displace.run(run, cur.id);
      this.insertRow(run, path, now, cur.blob);
    });
  }

  /** `from` (and everything below it) was renamed to `to`: new versions share the old bytes. */
  moved(run: number, from: string, to: string): void {
    this.record(() => {
      for (const v of this.versionsUnder(from)) {
        if (v.displaced !== undefined) continue;
        const path = to + v.path.slice(from.length);
        // `to` was absent on disk; a row the catalog still holds there is stale.
        this.displaceCurrent(run, path, undefined, undefined);
        this.q.displace.run(run, v.id);
        this.insertRow(run, path, v, v.blob);
        if (v.blob !== undefined) this.q.moveBlob.run(1, path, v.blob);
      }
    });
  }

  /** Marks the current version of `path` displaced by `run`; see `replaced`. */
  private displaceCurrent(
    run: number,
    path: string,
    old: Entry | undefined,
    storedAt: string | undefined,
  ): void {
    const cur = this.current(path);
    // Without `old`, what is displaced is the version we knew (the caller found it on disk).
    const matches = cur !== undefined && (old === undefined || sameVersion(cur, old));
    if (cur !== undefined) {
      this.q.displace.run(run, cur.id);
      if (cur.blob !== undefined) {
        // The bytes went where the endpoint put them, or, when what was there is not the
        // version we knew (changed by hand since), the version we knew is gone.
        this.q.moveBlob.run(0, matches ? (storedAt ?? null) : null, cur.blob);
      }
    }
    if (old !== undefined && !matches) {
      // An entry no backup wrote: it counts as seen by this run, and its bytes are kept.
      const blob = old.kind === 'dir' ? undefined : this.newBlob(false, storedAt);
      const id = this.insertRow(run, path, old, blob);
      this.q.displace.run(run, id);
    }
  }

  private treeBlob(e: Entry, path: string): number | undefined {
    return e.kind === 'dir' ? undefined : this.newBlob(true, path);
  }

  private newBlob(inTree: boolean, loc: string | undefined): number {
    return Number(this.q.newBlob.run(inTree ? 1 : 0, loc ?? null).lastInsertRowid);
  }

  private insertRow(
    run: number,
    path: string,
    e: Pick<Entry, 'kind' | 'size' | 'mode' | 'target' | 'ino'> & { mtimeNs: bigint },
    blob: number | undefined,
  ): number {
    const r = this.q.insert.run(
      path,
      e.kind,
      e.size,
      String(e.mtimeNs),
      e.mode,
      e.target ?? null,
      String(e.ino),
      blob ?? null,
      run,
    );
    return Number(r.lastInsertRowid);
  }

  /** Deletes version rows (retention); returns the blobs no version refers to any more. */
  dropVersions(ids: readonly number[]): Blob[] {
    return this.tx(() => {
      const blobs = new Set<number>();
      const get = this.db.prepare<[number], { blob: number | null }>(
        'SELECT blob FROM versions WHERE id = ?',
      );
      const del = this.db.prepare<[number]>('DELETE FROM versions WHERE id = ?');
      for (const id of ids) {
        const b = get.get(id)?.blob;
        if (b !== null && b !== undefined) blobs.add(b);
        del.run(id);
      }
      const used = this.db.prepare<[number]>('SELECT 1 FROM versions WHERE blob = ? LIMIT 1');
      const orphans: Blob[] = [];
      for (const b of blobs) {
        if (used.get(b) !== undefined) continue;
        const blob = this.blob(b);
        this.db.prepare('DELETE FROM blobs WHERE id = ?').run(b);
        if (blob) orphans.push(blob);
      }
      return orphans;
    });
  }

  /** Absolute path of a blob's bytes (undefined: lost). */
  blobPath(root: string, b: Blob): string | undefined {
    if (b.loc === undefined) return undefined;
    return b.inTree ? join(root, b.loc) : join(this.historyDir, b.loc);
  }
}

/** The entry on disk is still the version the catalog recorded (not replaced by hand since). */
export function sameVersion(v: Version, e: Entry): boolean {
  if (v.kind !== e.kind) return false;
  if (v.kind === 'dir') return true;
  if (v.ino !== e.ino) return false;
  return v.kind === 'symlink'
    ? v.target === e.target
    : v.size === e.size && v.mtimeNs === e.mtimeNs;
}

function toVersion(r: VersionRow): Version {
  return {
    id: r.id,
    path: r.path,
    kind: r.kind as Kind,
    size: r.size,
    mtimeNs: BigInt(r.mtime_ns),
    mode: r.mode,
    target: r.target ?? undefined,
    ino: BigInt(r.ino),
    blob: r.blob ?? undefined,
    captured: r.captured,
    displaced: r.displaced ?? undefined,
  };
}

/**
 * A run killed before its last commit finished leaves the rollback journal beside the catalog
 * ("hot"): the next reader must roll it back first, and a read-only connection cannot, so
 * `versions` and the checks of `backup` and `restore` failed with SQLITE_READONLY_ROLLBACK
 * ("attempt to write a readonly database") until something wrote. A read on a read-write
 * connection rolls it back: the catalog is then as of the last commit, which the next run
 * settles against the tree (settle.ts). Found by test/e2e/crash-inject.test.ts.
 */
function rollBackHotJournal(file: string): void {
  if (!((statSync(`${file}-journal`, { throwIfNoEntry: false })?.size ?? 0) > 0)) return;
  const db = new Database(file, { timeout: 5000, fileMustExist: true });
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } finally {
    db.close();
  }
}
