import { existsSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { FilterRule, FilterSpec } from './core/filter.ts';
import { LocalEndpoint } from './endpoint/local/local.ts';
import { WorkerPool } from './endpoint/local/pool.ts';
import { resolveSource } from './engine/roots.ts';
import { ConcordError } from './errors.ts';
import type { FileIndex } from './index/file-index.ts';
import { concordHome, STATE_DB } from './index/home.ts';
import { ensureRootId, indexedAt, type Location, readRootId } from './index/location.ts';
import { acquireLocks, rootLockKeys } from './index/lock.ts';
import { openStateDb, type StateDb, stateError } from './index/state-db.ts';
import { cacheOf, filterSpec, leaveStateDirOut } from './run-state.ts';
import type { HashCache } from './scan/hash-cache.ts';
import { type IndexCounts, refreshIndex } from './scan/refresh.ts';
import { type Change, rootStatus } from './scan/status.ts';

export interface StateOptions {
  /** The state directory (default: concordHome()). */
  home?: string | undefined;
  /** Milliseconds since the epoch; tests inject their own clock. */
  now?: (() => number) | undefined;
  rules?: FilterRule[] | undefined;
  /** Use worker threads for walking and hashing (default true). */
  workers?: boolean | undefined;
  /** How long to wait for another run's lock (ms, default 3000). */
  lockWaitMs?: number | undefined;
}

export interface IndexResult extends IndexCounts {
  root: string;
  rootId: string;
  /** Entries the index holds for the root now. */
  entries: number;
  /** With --rebuild, a damaged database: where it went, and the tables it could not give back. */
  rebuilt?: { aside: string; lost: string[] } | undefined;
}

/** A root with its state: the open database, its location row and its file index. */
export interface OpenRoot {
  abs: string;
  /** The root's filter, read before anything is written (a refused ignore file writes nothing). */
  filter: FilterSpec;
  db: StateDb;
  location: Location;
  index: FileIndex;
  cache: HashCache;
  ep: LocalEndpoint;
  close(): Promise<void>;
}

/**
 * `concord index ROOT`: builds or refreshes the root's file index and returns the counts.
 * `rebuild` drops what the index held for this root first (every file is read again); a
 * corrupt database is moved aside, and what is not a cache (the list of locations) is carried
 * over into the new one.
 */
export async function indexLocal(
  root: string,
  o: StateOptions & { rebuild?: boolean } = {},
): Promise<IndexResult> {
  const home = o.home ?? concordHome();
  const rebuilt = o.rebuild ? rebuildDatabase(home) : undefined;
  const r = openRoot(root, o, home, true);
  try {
    const release = await acquireLocks(r.db, rootLockKeys(r.abs, r.location.rootId, root), {
      command: 'index',
      waitMs: o.lockWaitMs,
    });
    try {
      if (o.rebuild) r.index.removeTree('');
      const counts = await refreshIndex(r.ep, r.cache, r.filter);
      const { entries } = r.index.counts();
      return { ...counts, root, rootId: r.location.rootId, entries, rebuilt };
    } finally {
      release();
    }
  } catch (err) {
    throw asStateError(home, err);
  } finally {
    await r.close();
  }
}

/** `concord status ROOT`: what changed since the index last saw the root. Writes nothing. */
export async function statusLocal(
  root: string,
  o: StateOptions = {},
): Promise<{ changes: Change[]; problems: IndexCounts['problems']; indexedMs: number }> {
  const home = o.home ?? concordHome();
  const r = openRoot(root, o, home, false);
  try {
    const indexedMs = indexedAt(r.db, r.location);
    if (indexedMs === undefined) {
      throw new ConcordError('usage', 'this root has no index yet', {
        path: root,
        hint: `run concord index ${root} first`,
      });
    }
    const s = await rootStatus(r.ep, r.index, r.cache.dev, r.filter);
    return { ...s, indexedMs };
  } catch (err) {
    throw asStateError(home, err);
  } finally {
    await r.close();
  }
}

/**
 * Opens the state of an existing root. `create` writes the root's marker when it has none;
 * without it, a root without a marker is an error naming the command that makes one.
 */
export function openRoot(root: string, o: StateOptions, home: string, create: boolean): OpenRoot {
  const abs = resolveSource(root);
  const rules = filterSpec(abs, o.rules);
  const rootId = rootIdOf(abs, create);
  const now = o.now ?? Date.now;
  const db = openStateDb(home);
  const filter = leaveStateDirOut(rules, home, [abs]);
  try {
    const cache = cacheOf(db, rootId, abs, now);
    const { index } = cache;
    const { location } = index;
    const pool = o.workers === false ? undefined : new WorkerPool(2);
    const ep = new LocalEndpoint({
      root: abs,
      uri: root,
      pool,
      walkThread: o.workers !== false,
      copiesBeforePool: 0,
    });
    const close = async () => {
      await Promise.all([ep.close(), pool?.close()]);
      db.close();
    };
    return { abs, filter, db, location, index, cache, ep, close };
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * The root's id: its marker, made when `create` allows. A root we may not write into (a
 * read-only mount, another user's tree) is indexed under its path instead, as one-way runs
 * key a source without a marker: nothing is written into it, and its index does not follow
 * it when it moves.
 */
function rootIdOf(abs: string, create: boolean): string {
  const marker = readRootId(abs);
  if (marker) return marker;
  if (!create) return `path:${abs}`;
  try {
    return ensureRootId(abs);
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') return `path:${abs}`;
    throw err;
  }
}

/** Database errors (SqliteError) as one line naming the file; other errors pass through. */
function asStateError(home: string, err: unknown): unknown {
  if (err instanceof Error && err.name === 'SqliteError')
    return stateError(join(home, STATE_DB), err);
  return err;
}

/**
 * Moves a corrupt database aside (never deleting it) and starts a new one holding what could be
 * read from the old one: every table that is not a cache (the file index and the directory
 * digests are rebuilt by scans; locks belong to runs). A healthy database is left as it is.
 * Returns the aside file and the tables it could not be read back from.
 */
function rebuildDatabase(home: string): { aside: string; lost: string[] } | undefined {
  const file = join(home, STATE_DB);
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) return undefined;
  // One of 0 bytes was cut short (openStateDb refuses it): aside with it, as with any damage.
  if (st.size > 0) {
    try {
      const db = openStateDb(home);
      try {
        // quick_check reads every page: a count(*) was answered from the smallest index alone,
        // so damage anywhere else passed for health, and the fix the error named did nothing.
        const verdict = db.pragma('quick_check', { simple: true });
        if (verdict === 'ok') return undefined; // healthy: the caller rebuilds the root's rows
      } finally {
        db.close();
      }
    } catch (err) {
      // openStateDb wraps SQLite's error as a ConcordError with it as the cause; a database of
      // a newer Concord is refused as it is, never moved aside.
      if (!isCorrupt(err instanceof ConcordError ? err.cause : err)) throw err;
    }
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  let aside = `${file}.corrupt-${stamp}`;
  for (let n = 2; existsSync(aside); n++) aside = `${file}.corrupt-${stamp}-${n}`;
  for (const ext of ['', '-wal', '-shm'])
    if (existsSync(file + ext)) renameSync(file + ext, aside + ext);
  const db = openStateDb(home);
  try {
    return { aside, lost: salvage(aside, db) };
  } finally {
    db.close();
  }
}

function isCorrupt(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return (
    typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'))
  );
}

/** What is not a cache, parents before the rows that refer to them. */
const KEPT_TABLES = [
  'locations',
  'pairs',
  'ancestors',
  'ancestor_dirs',
  'oneway_runs',
  'opened_dirs',
] as const;

/**
 * Copies the rows that can still be read from a damaged database, table by table (a table
 * whose pages are damaged comes back whole or not at all); returns the tables that could not.
 */
function salvage(from: string, into: StateDb): string[] {
  try {
    into.exec(`ATTACH DATABASE '${from.replaceAll("'", "''")}' AS old`);
  } catch {
    return [...KEPT_TABLES];
  }
  const lost: string[] = [];
  try {
    for (const table of KEPT_TABLES) {
      try {
        into.exec(`INSERT OR IGNORE INTO main.${table} SELECT * FROM old.${table}`);
      } catch {
        lost.push(table);
      }
    }
  } finally {
    into.exec('DETACH DATABASE old');
  }
  return lost;
}
