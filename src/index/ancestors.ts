import type { Statement } from 'better-sqlite3';
import type { Kind } from '../core/entry.ts';
import { basename, parent, type RelPath } from '../core/path.ts';
import type { Base, Stamp } from '../core/reconcile.ts';
import { type StateDb, sqlTime, WriteBatch } from './state-db.ts';

const KIND_CODE: Record<Kind, number> = { file: 0, dir: 1, symlink: 2 };
const KIND_OF: readonly Kind[] = ['file', 'dir', 'symlink'];

/** name, kind, size, mtime, mode, target, hash, a_ino, a_ctime, b_ino, b_ctime. */
type Raw = [
  string,
  number,
  number,
  string,
  number,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
  string | null,
];

/**
 * The ancestor of a pair: per path, what both roots agreed on after the last sync that applied
 * it, with each root's stamp. Rows are keyed (dir, name): one directory is one range read, in
 * byte order of the names (SQLite's BINARY collation compares UTF-8 bytes, as compareNames
 * does). `swapped` reads and writes a pair whose first run named its roots the other way.
 */
export class AncestorStore {
  readonly pair: number;
  private readonly swapped: boolean;
  private readonly db: StateDb;
  private readonly selectDir: Statement<[number, string], Raw>;
  private readonly upsert: Statement;
  private readonly deleteOne: Statement<[number, string, string]>;
  private readonly deleteDir: Statement<[number, string]>;
  private readonly deleteRange: Statement<[number, string, string]>;
  private readonly batch: WriteBatch;
  private digestCache: Map<RelPath, [string, string]> | undefined;
  /** Whether opened_dirs may hold rows of this pair (unknown until opened() or noteOpened()). */
  private mayHaveOpened = true;
  private readonly upsertDigests: Statement;
  /** Called once, before the first row is changed (S27: the roots' sync tokens are renewed). */
  private beforeChange: (() => void) | undefined;

  constructor(db: StateDb, pair: number, swapped = false, beforeChange?: () => void) {
    this.db = db;
    this.pair = pair;
    this.swapped = swapped;
    this.beforeChange = beforeChange;
    this.batch = WriteBatch.of(db);
    this.selectDir = db
      .prepare<[number, string], Raw>(
        // The 64-bit columns as text, the rest as numbers: safeIntegers made every column a
        // BigInt, garbage that the first sync's second look at its directories piled up.
        `SELECT name, kind, size, CAST(mtime_ns AS TEXT), mode, target, hash,
           CAST(a_ino AS TEXT), CAST(a_ctime_ns AS TEXT), CAST(b_ino AS TEXT), CAST(b_ctime_ns AS TEXT)
         FROM ancestors WHERE pair = ? AND dir = ? ORDER BY name`,
      )
      .raw(true);
    this.upsert = db.prepare(
      `INSERT OR REPLACE INTO ancestors
       (pair, dir, name, kind, size, mtime_ns, mode, target, hash, a_ino, a_ctime_ns, b_ino, b_ctime_ns)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.deleteOne = db.prepare('DELETE FROM ancestors WHERE pair = ? AND dir = ? AND name = ?');
    this.upsertDigests = db.prepare(
      'INSERT OR REPLACE INTO ancestor_dirs (pair, dir, a_digest, b_digest) VALUES (?, ?, ?, ?)',
    );
    // Everything below a directory: its own rows, and every dir below it ('/' + 1 is '0').
    // Two statements: with OR, SQLite scanned all the pair's rows (50 s for a 50,000-file sync).
    this.deleteDir = db.prepare('DELETE FROM ancestors WHERE pair = ? AND dir = ?');
    this.deleteRange = db.prepare('DELETE FROM ancestors WHERE pair = ? AND dir >= ? AND dir < ?');
  }

  /** The rows of one directory, sorted by name. */
  dir(dir: RelPath): Base[] {
    const out: Base[] = [];
    for (const [name, kind, size, mtime, mode, target, hash, ai, ac, bi, bc] of this.selectDir.all(
      this.pair,
      dir,
    )) {
      const b: Base = {
        name,
        kind: KIND_OF[kind] ?? 'file',
        size,
        mtimeNs: BigInt(mtime),
        mode,
      };
      if (target !== null) b.target = target;
      if (hash !== null) b.hash = hash;
      const sa = stampOf(ai, ac);
      const sb = stampOf(bi, bc);
      const [first, second] = this.swapped ? [sb, sa] : [sa, sb];
      if (first) b.stampA = first;
      if (second) b.stampB = second;
      out.push(b);
    }
    return out;
  }

  /**
   * Records `path` as in sync. `replacesDir`: it was a directory, and is not any more: what
   * was below it goes (two range deletes per put cost ~1 s per 50,000 files otherwise).
   */
  put(path: RelPath, b: Base, replacesDir = true): void {
    if (this.beforeChange) this.changing();
    const [sa, sb] = this.swapped ? [b.stampB, b.stampA] : [b.stampA, b.stampB];
    if (b.kind !== 'dir' && replacesDir) this.dropBelow(path);
    this.upsert.run(
      this.pair,
      parent(path),
      basename(path),
      KIND_CODE[b.kind],
      b.size,
      sqlTime(b.mtimeNs),
      b.mode,
      b.target ?? null,
      b.hash ?? null,
      sa ? BigInt.asIntN(64, sa.ino) : null,
      sa ? sqlTime(sa.ctimeNs) : null,
      sb ? BigInt.asIntN(64, sb.ino) : null,
      sb ? sqlTime(sb.ctimeNs) : null,
    );
    this.batch.tick();
  }

  /**
   * Re-keys the rows of `from` and everything below it (and the digests of the directories
   * there) to `to`, after a rename of `from` on a side (S15: called once it is done). Whatever
   * the ancestor held at `to` goes first: `to` was new, so there should be nothing.
   */
  move(from: RelPath, to: RelPath): void {
    if (this.beforeChange) this.changing();
    this.drop(to);
    // Digests of a directory deleted at `to` by an earlier run are still there.
    this.db.prepare('DELETE FROM ancestor_dirs WHERE pair = ? AND dir = ?').run(this.pair, to);
    this.db
      .prepare('DELETE FROM ancestor_dirs WHERE pair = ? AND dir >= ? AND dir < ?')
      .run(this.pair, `${to}/`, `${to}0`);
    this.db
      .prepare('UPDATE ancestors SET dir = ?, name = ? WHERE pair = ? AND dir = ? AND name = ?')
      .run(parent(to), basename(to), this.pair, parent(from), basename(from));
    // substr() counts characters (code points) of TEXT, not UTF-16 units or bytes.
    const keep = [...from].length + 1;
    for (const table of ['ancestors', 'ancestor_dirs']) {
      this.db
        .prepare(`UPDATE ${table} SET dir = ? || substr(dir, ?) WHERE pair = ? AND dir = ?`)
        .run(to, keep, this.pair, from);
      this.db
        .prepare(
          `UPDATE ${table} SET dir = ? || substr(dir, ?) WHERE pair = ? AND dir >= ? AND dir < ?`,
        )
        .run(to, keep, this.pair, `${from}/`, `${from}0`);
    }
    if (this.digestCache) {
      const under = (d: string, p: string) => d === p || d.startsWith(`${p}/`);
      const moved: [string, [string, string]][] = [];
      for (const [d, v] of [...this.digestCache]) {
        if (under(d, to)) this.digestCache.delete(d);
        else if (under(d, from)) {
          this.digestCache.delete(d);
          moved.push([to + d.slice(from.length), v]);
        }
      }
      for (const [d, v] of moved) this.digestCache.set(d, v);
    }
    this.batch.tick();
  }

  /** The first change: what is pending is committed first, so beforeChange's writes stand alone. */
  private changing(): void {
    const before = this.beforeChange as () => void;
    this.beforeChange = undefined;
    this.batch.flush();
    before();
  }

  /** Forgets `path` and everything below it. */
  drop(path: RelPath): void {
    if (this.beforeChange) this.changing();
    this.deleteOne.run(this.pair, parent(path), basename(path));
    this.dropBelow(path);
    this.batch.tick();
  }

  private dropBelow(path: RelPath): void {
    if (path === '') {
      this.db.prepare('DELETE FROM ancestors WHERE pair = ?').run(this.pair);
      this.db.prepare('DELETE FROM ancestor_dirs WHERE pair = ?').run(this.pair);
    } else {
      this.deleteDir.run(this.pair, path);
      this.deleteRange.run(this.pair, `${path}/`, `${path}0`);
    }
  }

  /**
   * The digests of a directory's two listings when the last run found it quiet (every entry
   * as the ancestor has it, on both sides): equal digests now settle it with one point read.
   */
  digests(dir: RelPath): { a: string; b: string } | undefined {
    // All of them at the first call: one read of a few hundred KB instead of a point read
    // (~50 us) per directory.
    if (!this.digestCache) {
      this.digestCache = new Map();
      const rows = this.db
        .prepare<[number], [string, string, string]>(
          'SELECT dir, a_digest, b_digest FROM ancestor_dirs WHERE pair = ?',
        )
        .raw(true)
        .all(this.pair);
      for (const [d, x, y] of rows) this.digestCache.set(d, [x, y]);
    }
    const r = this.digestCache.get(dir);
    if (!r) return undefined;
    return this.swapped ? { a: r[1], b: r[0] } : { a: r[0], b: r[1] };
  }

  putDigests(dir: RelPath, a: string, b: string): void {
    const [x, y] = this.swapped ? [b, a] : [a, b];
    this.upsertDigests.run(this.pair, dir, x, y);
    this.batch.tick();
  }

  /** Whether the ancestor holds nothing (the next run is a first run). */
  isEmpty(): boolean {
    return (
      this.db.prepare('SELECT 1 FROM ancestors WHERE pair = ? LIMIT 1').pluck().get(this.pair) ===
      undefined
    );
  }

  /** Whether the ancestor holds at least `n` paths. */
  holdsAtLeast(n: number): boolean {
    const got = this.db
      .prepare('SELECT count(*) FROM (SELECT 1 FROM ancestors WHERE pair = ? LIMIT ?)')
      .pluck()
      .get(this.pair, n);
    return Number(got) >= n;
  }

  /** How many paths the ancestor holds. */
  count(): number {
    return Number(
      this.db.prepare('SELECT count(*) FROM ancestors WHERE pair = ?').pluck().get(this.pair),
    );
  }

  /** Commits what was recorded. */
  flush(): void {
    this.batch.flush();
  }

  /**
   * Remembers, before a run opens folders closed to their owner, the modes to give them back
   * (committed at once: a crash right after the chmod must still find it).
   */
  noteOpened(dirs: readonly { side: 'A' | 'B'; path: RelPath; mode: number }[]): void {
    if (dirs.length === 0) return;
    this.mayHaveOpened = true;
    const put = this.db.prepare(
      'INSERT OR REPLACE INTO opened_dirs (pair, side, path, mode) VALUES (?, ?, ?, ?)',
    );
    this.flush();
    this.db.transaction(() => {
      for (const d of dirs) put.run(this.pair, this.column(d.side), d.path, d.mode);
    })();
  }

  /** The folders a run opened and did not close (it was interrupted), with their modes. */
  opened(): { side: 'A' | 'B'; path: RelPath; mode: number }[] {
    const rows = this.db
      .prepare<[number], [string, string, number]>(
        'SELECT side, path, mode FROM opened_dirs WHERE pair = ? ORDER BY side, path',
      )
      .raw(true)
      .all(this.pair);
    this.mayHaveOpened = rows.length > 0;
    return rows.map(([side, path, mode]) => ({
      side: (side === 'a') !== this.swapped ? 'A' : 'B',
      path,
      mode,
    }));
  }

  /** Forgets every opened folder of the pair (they are closed again). */
  clearOpened(): void {
    // Most runs open nothing: no write for them.
    if (!this.mayHaveOpened) return;
    this.mayHaveOpened = false;
    this.flush();
    this.db.prepare('DELETE FROM opened_dirs WHERE pair = ?').run(this.pair);
  }

  private column(side: 'A' | 'B'): 'a' | 'b' {
    return (side === 'A') !== this.swapped ? 'a' : 'b';
  }
}

function stampOf(ino: string | null, ctime: string | null): Stamp | undefined {
  if (ino === null || ctime === null) return undefined;
  return { ino: BigInt.asUintN(64, BigInt(ino)), ctimeNs: BigInt(ctime) };
}

/** Forgets a pair's ancestor: its next sync is a first sync (S13), a merge that deletes nothing. */
export function forgetAncestor(db: StateDb, pairId: number): void {
  const store = new AncestorStore(db, pairId);
  store.drop('');
  store.flush();
}
