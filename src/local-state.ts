import { existsSync, renameSync } from 'node:fs';
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
import { cacheOf, filterSpec } from './run-state.ts';
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
  if (o.rebuild) rebuildDatabase(home);
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
      return { ...counts, root, rootId: r.location.rootId, entries };
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
  const filter = filterSpec(abs, o.rules);
  const rootId = rootIdOf(abs, create);
  const now = o.now ?? Date.now;
  const db = openStateDb(home);
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
 * Moves a corrupt database aside (never deleting it) and starts a new one holding the
 * locations that could be read from the old one. A healthy database is left as it is.
 */
function rebuildDatabase(home: string): void {
  const file = join(home, STATE_DB);
  if (!existsSync(file)) return;
  try {
    const db = openStateDb(home);
    try {
      db.prepare('SELECT count(*) FROM files').get();
    } finally {
      db.close();
    }
    // Healthy enough to use: the caller rebuilds the root's rows.
    return;
  } catch (err) {
    // openStateDb wraps SQLite's error as a ConcordError with it as the cause.
    if (!isCorrupt(err instanceof ConcordError ? err.cause : err)) throw err;
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  let aside = `${file}.corrupt-${stamp}`;
  for (let n = 2; existsSync(aside); n++) aside = `${file}.corrupt-${stamp}-${n}`;
  for (const ext of ['', '-wal', '-shm'])
    if (existsSync(file + ext)) renameSync(file + ext, aside + ext);
  const db = openStateDb(home);
  try {
    salvageLocations(aside, db);
  } finally {
    db.close();
  }
}

function isCorrupt(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT');
}

/** Copies the location rows that can still be read from a damaged database. */
function salvageLocations(from: string, into: StateDb): void {
  try {
    into.exec(`ATTACH DATABASE '${from.replaceAll("'", "''")}' AS old`);
    try {
      into.exec(
        'INSERT OR IGNORE INTO locations (id, root_id, path, created_ms) SELECT id, root_id, path, created_ms FROM old.locations',
      );
    } finally {
      into.exec('DETACH DATABASE old');
    }
  } catch {
    // Nothing readable: the locations come back as their roots are seen again.
  }
}
