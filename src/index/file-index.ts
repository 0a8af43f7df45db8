import type { Statement } from 'better-sqlite3';
import type { Entry, Kind } from '../core/entry.ts';
import type { Known } from '../core/hash-reuse.ts';
import type { RelPath } from '../core/path.ts';
import type { Location } from './location.ts';
import { type StateDb, WriteBatch } from './state-db.ts';

/** One entry of a location's file index. */
export interface IndexRow extends Known {
  name: string;
  kind: Kind;
  mode: number;
  target?: string | undefined;
  /** When a scan last saw it (ms since the epoch). */
  seenMs: number;
}

const KIND_CODE: Record<Kind, number> = { file: 0, dir: 1, symlink: 2 };
const KIND_OF: readonly Kind[] = ['file', 'dir', 'symlink'];

type RawRow = {
  name: string;
  kind: bigint;
  size: bigint;
  mtime_ns: bigint;
  ctime_ns: bigint;
  ino: bigint;
  dev: bigint;
  mode: bigint;
  target: string | null;
  hash: string | null;
  hashed_ns: bigint | null;
  seen_ms: bigint;
};

const COLUMNS =
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
  private readonly selectInode: Statement<[number, bigint, bigint], RawRow & { dir: string }>;
  private readonly upsert: Statement;
  private readonly deleteOne: Statement<[number, string, string]>;
  private readonly deleteTree: Statement<[number, string, string, string]>;
  private readonly batch: WriteBatch;

  constructor(db: StateDb, location: Location) {
    this.db = db;
    this.location = location;
    this.batch = WriteBatch.of(db);
    this.selectDir = db
      .prepare<[number, string], RawRow>(
        `SELECT ${COLUMNS} FROM files WHERE location = ? AND dir = ? ORDER BY name`,
      )
      .safeIntegers(true);
    this.selectInode = db
      .prepare<[number, bigint, bigint], RawRow & { dir: string }>(
        `SELECT dir, ${COLUMNS} FROM files WHERE location = ? AND dev = ? AND ino = ? LIMIT 1`,
      )
      .safeIntegers(true);
    this.upsert = db.prepare(
      `INSERT OR REPLACE INTO files (location, dir, ${COLUMNS})
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
    for (const r of this.selectDir.iterate(this.location.id, dir)) out.set(r.name, fromRaw(r));
    return out;
  }

  /** A row with this identity anywhere in the location (a file whose directory was renamed). */
  byInode(dev: bigint, ino: bigint): (IndexRow & { dir: RelPath }) | undefined {
    const r = this.selectInode.get(this.location.id, dev, ino);
    return r && { ...fromRaw(r), dir: r.dir };
  }

  put(dir: RelPath, row: IndexRow): void {
    this.upsert.run(
      this.location.id,
      dir,
      row.name,
      KIND_CODE[row.kind],
      row.size,
      row.mtimeNs,
      row.ctimeNs,
      row.ino,
      row.dev,
      row.mode,
      row.target ?? null,
      row.hash ?? null,
      row.hashedNs ?? null,
      row.seenMs,
    );
    this.tick();
  }

  remove(dir: RelPath, name: string): void {
    this.deleteOne.run(this.location.id, dir, name);
    this.tick();
  }

  /** Forgets a directory and everything under it. */
  removeTree(path: RelPath): void {
    if (path === '') this.db.prepare('DELETE FROM files WHERE location = ?').run(this.location.id);
    else this.deleteTree.run(this.location.id, path, `${path}/`, `${path}0`);
    this.tick();
  }

  private tick(): void {
    this.batch.tick();
  }

  /** Commits what was written; call at the end of a scan. */
  flush(): void {
    this.batch.flush();
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

function fromRaw(r: RawRow): IndexRow {
  return {
    name: r.name,
    kind: KIND_OF[Number(r.kind)] ?? 'file',
    size: Number(r.size),
    mtimeNs: r.mtime_ns,
    ctimeNs: r.ctime_ns,
    ino: r.ino,
    dev: r.dev,
    mode: Number(r.mode),
    target: r.target ?? undefined,
    hash: r.hash ?? undefined,
    hashedNs: r.hashed_ns ?? undefined,
    seenMs: Number(r.seen_ms),
  };
}

/** An index row for what a scan saw, carrying a hash when one is known. */
export function rowOf(
  e: Entry,
  dev: bigint,
  seenMs: number,
  hash?: { hash: string; hashedNs: bigint },
): IndexRow {
  return {
    name: e.name,
    kind: e.kind,
    size: e.size,
    mtimeNs: e.mtimeNs,
    ctimeNs: e.ctimeNs,
    ino: e.ino,
    dev,
    mode: e.mode,
    target: e.target,
    hash: hash?.hash,
    hashedNs: hash?.hashedNs,
    seenMs,
  };
}
