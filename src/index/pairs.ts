import type { RetentionPolicy } from '../core/retention.ts';
import type { StateDb } from './state-db.ts';

/** What a pair remembers besides its roots: the options its runs use. */
export interface PairOptions {
  conflict?: string | undefined;
  conflictFallback?: string | undefined;
  exclude?: string[] | undefined;
  include?: string[] | undefined;
  maxDelete?: number | undefined;
  /** Backup pairs: the retention given to `pair add`. */
  retention?: RetentionPolicy | undefined;
}

export interface Pair {
  id: number;
  /** undefined for the pair of a one-off `concord sync A B`. */
  name: string | undefined;
  aRootId: string;
  bRootId: string;
  aPath: string;
  bPath: string;
  mode: string;
  options: PairOptions;
  createdMs: number;
  lastSyncMs: number | undefined;
  lastOutcome: string | undefined;
}

type Row = {
  id: number;
  name: string | null;
  a_root_id: string;
  b_root_id: string;
  a_path: string;
  b_path: string;
  mode: string;
  options: string;
  created_ms: number;
  last_sync_ms: number | null;
  last_outcome: string | null;
};

const COLUMNS =
  'id, name, a_root_id, b_root_id, a_path, b_path, mode, options, created_ms, last_sync_ms, last_outcome';

function fromRow(r: Row): Pair {
  return {
    id: r.id,
    name: r.name ?? undefined,
    aRootId: r.a_root_id,
    bRootId: r.b_root_id,
    aPath: r.a_path,
    bPath: r.b_path,
    mode: r.mode,
    options: JSON.parse(r.options) as PairOptions,
    createdMs: r.created_ms,
    lastSyncMs: r.last_sync_ms ?? undefined,
    lastOutcome: r.last_outcome ?? undefined,
  };
}

/**
 * The pair of two roots, by their ids in either order (`swapped`: the pair names them B, A).
 * A named pair on the same roots is the same pair: one ancestor per pair of roots.
 */
export function pairOfRoots(
  db: StateDb,
  aRootId: string,
  bRootId: string,
): { pair: Pair; swapped: boolean } | undefined {
  const row = db
    .prepare<[string, string, string, string], Row>(
      `SELECT ${COLUMNS} FROM pairs
       WHERE (a_root_id = ? AND b_root_id = ?) OR (a_root_id = ? AND b_root_id = ?)
       ORDER BY name IS NULL, id LIMIT 1`,
    )
    .get(aRootId, bRootId, bRootId, aRootId);
  return row && { pair: fromRow(row), swapped: row.a_root_id !== aRootId };
}

/** The pairs that have a root at `path` (its marker may be gone: the unmounted-drive case). */
export function pairsAtPath(db: StateDb, path: string): Pair[] {
  return db
    .prepare<[string, string], Row>(`SELECT ${COLUMNS} FROM pairs WHERE a_path = ? OR b_path = ?`)
    .all(path, path)
    .map(fromRow);
}

export function pairByName(db: StateDb, name: string): Pair | undefined {
  const row = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM pairs WHERE name = ?`).get(name);
  return row && fromRow(row);
}

export function listPairs(db: StateDb): Pair[] {
  return db
    .prepare<[], Row>(`SELECT ${COLUMNS} FROM pairs ORDER BY name IS NULL, name, id`)
    .all()
    .map(fromRow);
}

export function createPair(db: StateDb, p: Omit<Pair, 'id' | 'lastSyncMs' | 'lastOutcome'>): Pair {
  const info = db
    .prepare(
      `INSERT INTO pairs (name, a_root_id, b_root_id, a_path, b_path, mode, options, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      p.name ?? null,
      p.aRootId,
      p.bRootId,
      p.aPath,
      p.bPath,
      p.mode,
      JSON.stringify(p.options),
      p.createdMs,
    );
  return { ...p, id: Number(info.lastInsertRowid), lastSyncMs: undefined, lastOutcome: undefined };
}

/** Where the roots were found this time (a moved drive keeps its pair). */
export function updatePairPaths(db: StateDb, id: number, aPath: string, bPath: string): void {
  db.prepare('UPDATE pairs SET a_path = ?, b_path = ? WHERE id = ?').run(aPath, bPath, id);
}

export function recordOutcome(db: StateDb, id: number, ms: number, outcome: string): void {
  db.prepare('UPDATE pairs SET last_sync_ms = ?, last_outcome = ? WHERE id = ?').run(
    ms,
    outcome,
    id,
  );
}

/** Removes a pair and its ancestor (the roots are not touched). */
export function removePair(db: StateDb, id: number): void {
  db.prepare('DELETE FROM pairs WHERE id = ?').run(id);
}
