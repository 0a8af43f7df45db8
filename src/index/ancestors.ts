import type { Statement } from 'better-sqlite3';
import type { Kind } from '../core/entry.ts';
import { basename, parent, type RelPath } from '../core/path.ts';
import type { Base, Stamp } from '../core/reconcile.ts';
import { type StateDb, WriteBatch } from './state-db.ts';

const KIND_CODE: Record<Kind, number> = { file: 0, dir: 1, symlink: 2 };
const KIND_OF: readonly Kind[] = ['file', 'dir', 'symlink'];

type Raw = {
  name: string;
  kind: bigint;
  size: bigint;
  mtime_ns: bigint;
  mode: bigint;
  target: string | null;
  hash: string | null;
  a_ino: bigint | null;
  a_ctime_ns: bigint | null;
  b_ino: bigint | null;
  b_ctime_ns: bigint | null;
};

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
  private readonly deleteTree: Statement<[number, string, string, string]>;
  private readonly batch: WriteBatch;

  constructor(db: StateDb, pair: number, swapped = false) {
    this.db = db;
    this.pair = pair;
    this.swapped = swapped;
    this.batch = WriteBatch.of(db);
    this.selectDir = db
      .prepare<[number, string], Raw>(
        `SELECT name, kind, size, mtime_ns, mode, target, hash, a_ino, a_ctime_ns, b_ino, b_ctime_ns
         FROM ancestors WHERE pair = ? AND dir = ? ORDER BY name`,
      )
      .safeIntegers(true);
    this.upsert = db.prepare(
      `INSERT OR REPLACE INTO ancestors
       (pair, dir, name, kind, size, mtime_ns, mode, target, hash, a_ino, a_ctime_ns, b_ino, b_ctime_ns)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.deleteOne = db.prepare('DELETE FROM ancestors WHERE pair = ? AND dir = ? AND name = ?');
    // Everything below a directory ('/' + 1 is '0').
    this.deleteTree = db.prepare(
      'DELETE FROM ancestors WHERE pair = ? AND (dir = ? OR (dir >= ? AND dir < ?))',
    );
  }

  /** The rows of one directory, sorted by name. */
  dir(dir: RelPath): Base[] {
    const out: Base[] = [];
    for (const r of this.selectDir.all(this.pair, dir)) {
      const b: Base = {
        name: r.name,
        kind: KIND_OF[Number(r.kind)] ?? 'file',
        size: Number(r.size),
        mtimeNs: r.mtime_ns,
        mode: Number(r.mode),
      };
      if (r.target !== null) b.target = r.target;
      if (r.hash !== null) b.hash = r.hash;
      const sa = stampOf(r.a_ino, r.a_ctime_ns);
      const sb = stampOf(r.b_ino, r.b_ctime_ns);
      const [first, second] = this.swapped ? [sb, sa] : [sa, sb];
      if (first) b.stampA = first;
      if (second) b.stampB = second;
      out.push(b);
    }
    return out;
  }

  /** Records `path` as in sync; a non-directory has nothing below it any more. */
  put(path: RelPath, b: Base): void {
    const [sa, sb] = this.swapped ? [b.stampB, b.stampA] : [b.stampA, b.stampB];
    if (b.kind !== 'dir') this.dropBelow(path);
    this.upsert.run(
      this.pair,
      parent(path),
      basename(path),
      KIND_CODE[b.kind],
      b.size,
      b.mtimeNs,
      b.mode,
      b.target ?? null,
      b.hash ?? null,
      sa ? BigInt.asIntN(64, sa.ino) : null,
      sa?.ctimeNs ?? null,
      sb ? BigInt.asIntN(64, sb.ino) : null,
      sb?.ctimeNs ?? null,
    );
    this.batch.tick();
  }

  /** Forgets `path` and everything below it. */
  drop(path: RelPath): void {
    this.deleteOne.run(this.pair, parent(path), basename(path));
    this.dropBelow(path);
    this.batch.tick();
  }

  private dropBelow(path: RelPath): void {
    if (path === '') this.db.prepare('DELETE FROM ancestors WHERE pair = ?').run(this.pair);
    else this.deleteTree.run(this.pair, path, `${path}/`, `${path}0`);
  }

  /** How many paths the ancestor holds (0: the next run is a first run). */
  count(): number {
    return Number(
      this.db.prepare('SELECT count(*) FROM ancestors WHERE pair = ?').pluck().get(this.pair),
    );
  }

  /** Commits what was recorded. */
  flush(): void {
    this.batch.flush();
  }
}

function stampOf(ino: bigint | null, ctime: bigint | null): Stamp | undefined {
  if (ino === null || ctime === null) return undefined;
  return { ino: BigInt.asUintN(64, ino), ctimeNs: ctime };
}
