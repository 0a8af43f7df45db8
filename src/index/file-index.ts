import type { Statement } from 'better-sqlite3';
import type { Entry, Kind } from '../core/entry.ts';
import type { Known } from '../core/hash-reuse.ts';
import type { RelPath } from '../core/path.ts';
import type { Location } from './location.ts';
import { type StateDb, sqlTime, WriteBatch } from './state-db.ts';

/** One entry of a location's file index, as a scan reads it back. */
export interface IndexRow extends Known {
  name: string;
  kind: Kind;
  size: number;
  mode: number;
  target?: string | undefined;
}

const KIND_CODE: Record<Kind, number> = { file: 0, dir: 1, symlink: 2 };
const KIND_OF: readonly Kind[] = ['file', 'dir', 'symlink'];

/** name, kind, size, mode, target, stat key, hash, hashed_ns (as text: exact 64 bits). */
type RawRow = [string, number, number, number, string | null, string, string | null, string | null];

// Perf: one string per row for the stat check (hash-reuse.ts statKey), built by SQL, and no
// BigInt column: reading 40,000 rows as objects with six BigInts cost 280 ms, most of a
// --checksum no-op.
const READ = `name, kind, size, mode, target,
  dev || ':' || ino || ':' || size || ':' || mtime_ns || ':' || ctime_ns,
  hash, CAST(hashed_ns AS TEXT)`;

const WRITE =
  'name, kind, size, mtime_ns, ctime_ns, ino, dev, mode, target, hash, hashed_ns, seen_ms';

/**
 * The file index of one location: what a scan last saw of every entry, with the content hash
 * when one was computed. A cache: any of it may be dropped and rebuilt by a scan. Rows are
 * keyed (dir, name), so one directory is one range read. 64-bit values come back as BigInt.
 */
export class FileIndex {
  readonly location: Location;
  private readonly db: StateDb;
  private readonly selectDir: Statement<[number, string], RawRow>;
  private readonly selectInode: Statement<[number, bigint, bigint], [string, ...RawRow]>;
  private readonly selectDigest: Statement<[number, string], [string, string]>;
  private readonly upsertDigest: Statement<[number, string, string, string]>;
  private readonly deleteDigest: Statement<[number, string]>;
  private readonly deleteDigestTree: Statement<[number, string, string, string]>;
  private readonly upsert: Statement;
  private readonly deleteOne: Statement<[number, string, string]>;
  private readonly deleteTree: Statement<[number, string, string, string]>;
  private readonly batch: WriteBatch;
  /**
   * No row at all when opened (a first scan): byInode can find nothing until the scan's rows
   * are committed, and asking cost a first --checksum run of 50,000 files ~150 ms.
   */
  private emptyAtOpen: boolean;

  constructor(db: StateDb, location: Location) {
    this.db = db;
    this.location = location;
    this.batch = WriteBatch.of(db);
    this.emptyAtOpen =
      db.prepare('SELECT 1 FROM files WHERE location = ? LIMIT 1').get(location.id) === undefined;
    this.selectDir = db
      .prepare<[number, string], RawRow>(
        `SELECT ${READ} FROM files WHERE location = ? AND dir = ? ORDER BY name`,
      )
      .raw(true);
    this.selectInode = db
      .prepare<[number, bigint, bigint], [string, ...RawRow]>(
        // Without INDEXED BY, SQLite (no ANALYZE statistics) scans the location's whole primary-key
        // range instead: 0.5 ms per lookup at 40,000 rows, growing with the index.
        `SELECT dir, ${READ} FROM files INDEXED BY files_by_inode
         WHERE location = ? AND dev = ? AND ino = ? LIMIT 1`,
      )
      .raw(true);
    this.selectDigest = db
      .prepare<[number, string], [string, string]>(
        'SELECT shape, hashes FROM dir_digests WHERE location = ? AND dir = ?',
      )
      .raw(true);
    this.upsertDigest = db.prepare(
      'INSERT OR REPLACE INTO dir_digests (location, dir, shape, hashes) VALUES (?, ?, ?, ?)',
    );
    this.deleteDigest = db.prepare('DELETE FROM dir_digests WHERE location = ? AND dir = ?');
    this.deleteDigestTree = db.prepare(
      'DELETE FROM dir_digests WHERE location = ? AND (dir = ? OR (dir >= ? AND dir < ?))',
    );
    this.upsert = db.prepare(
      `INSERT OR REPLACE INTO files (location, dir, ${WRITE})
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.deleteOne = db.prepare('DELETE FROM files WHERE location = ? AND dir = ? AND name = ?');
    // A directory's subtree: its own rows, and every dir below it ('/' + 1 is '0').
    this.deleteTree = db.prepare(
      'DELETE FROM files WHERE location = ? AND (dir = ? OR (dir >= ? AND dir < ?))',
    );
  }

  /** The rows of one directory, by name. */
  dir(dir: RelPath): Map<string, IndexRow> {
    const out = new Map<string, IndexRow>();
    for (const r of this.selectDir.all(this.location.id, dir)) out.set(r[0], fromRaw(r));
    return out;
  }

  /**
   * A directory's digest, written when every file in it had a hash that holds: digests of its
   * shape (core/shape.ts) and of its files' hashes in entry order. One point read decides a
   * --checksum no-op directory (reading its ~25 rows cost 0.3-0.45 s per 100,000 entries).
   */
  digest(dir: RelPath): { shape: string; hashes: string } | undefined {
    const r = this.selectDigest.get(this.location.id, dir);
    return r && { shape: r[0], hashes: r[1] };
  }

  putDigest(dir: RelPath, shape: string, hashes: string): void {
    this.upsertDigest.run(this.location.id, dir, shape, hashes);
    this.tick();
  }

  dropDigest(dir: RelPath): void {
    this.deleteDigest.run(this.location.id, dir);
    this.tick();
  }

  /** A row with this identity anywhere in the location (a file whose directory was renamed). */
  byInode(dev: bigint, ino: bigint): (IndexRow & { dir: RelPath }) | undefined {
    if (this.emptyAtOpen) return undefined;
    const r = this.selectInode.get(this.location.id, dev, BigInt.asIntN(64, ino));
    if (!r) return undefined;
    const [dir, ...rest] = r;
    return Object.assign(fromRaw(rest), { dir }); // a spread: a hidden class per row
  }

  /** Records what a scan saw of `e` (under the root's device), with its hash when known. */
  put(dir: RelPath, e: Entry, dev: bigint, seenMs: number, hash?: Hashed): void {
    this.upsert.run(
      this.location.id,
      dir,
      e.name,
      KIND_CODE[e.kind],
      e.size,
      sqlTime(e.mtimeNs),
      sqlTime(e.ctimeNs),
      // SQLite integers are signed: an inode of 2^63 or more is kept as its two's complement
      // (its key then never matches, and the file is read again: slower, never wrong).
      BigInt.asIntN(64, e.ino),
      dev,
      e.mode,
      e.target ?? null,
      hash?.hash ?? null,
      hash?.hashedNs ?? null,
      seenMs,
    );
    this.tick();
  }

  remove(dir: RelPath, name: string): void {
    this.deleteOne.run(this.location.id, dir, name);
    this.tick();
  }

  /** Forgets a directory and everything under it. */
  removeTree(path: RelPath): void {
    if (path === '') {
      this.db.prepare('DELETE FROM files WHERE location = ?').run(this.location.id);
      this.db.prepare('DELETE FROM dir_digests WHERE location = ?').run(this.location.id);
    } else {
      this.deleteTree.run(this.location.id, path, `${path}/`, `${path}0`);
      this.deleteDigestTree.run(this.location.id, path, `${path}/`, `${path}0`);
    }
    this.tick();
  }

  private tick(): void {
    this.batch.tick();
  }

  /** Commits what was written; call at the end of a scan. */
  flush(): void {
    this.batch.flush();
    this.emptyAtOpen = false;
  }

  /** Rolls back unflushed writes (a failed scan leaves the index as it was at the last flush). */
  abandon(): void {
    this.batch.abandon();
  }

  markIndexed(nowMs: number): void {
    this.flush();
    this.db
      .prepare('UPDATE locations SET indexed_ms = ? WHERE id = ?')
      .run(nowMs, this.location.id);
  }

  counts(): { entries: number; hashed: number } {
    const r = this.db
      .prepare<[number], { entries: number; hashed: number }>(
        'SELECT count(*) AS entries, count(hash) AS hashed FROM files WHERE location = ?',
      )
      .get(this.location.id);
    return r ?? { entries: 0, hashed: 0 };
  }
}

/** A hash and when its bytes were read (ns since the epoch). */
export interface Hashed {
  hash: string;
  hashedNs: bigint;
}

function fromRaw([name, kind, size, mode, target, stat, hash, hashedNs]: RawRow): IndexRow {
  return {
    name,
    kind: KIND_OF[kind] ?? 'file',
    size,
    mode,
    target: target ?? undefined,
    stat,
    hash: hash ?? undefined,
    hashedNs: hashedNs === null ? undefined : BigInt(hashedNs),
  };
}
