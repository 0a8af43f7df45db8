import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FilterRule, type FilterSpec, IGNORE_FILE } from './core/filter.ts';
import type { LocalRoots } from './engine/roots.ts';
import { FileIndex } from './index/file-index.ts';
import { concordHome } from './index/home.ts';
import { locationOf, readRootId } from './index/location.ts';
import { acquireLocks, rootLockKeys } from './index/lock.ts';
import { openStateDb, type StateDb } from './index/state-db.ts';
import type { HashCache } from './scan/hash-cache.ts';

export interface RunStateOptions {
  dryRun: boolean;
  checksum: boolean;
  home?: string | undefined;
  now?: (() => number) | undefined;
  lockWaitMs?: number | undefined;
}

export interface RunState {
  caches: { src?: HashCache; dst?: HashCache };
  /**
   * When the last one-way run between these roots that left no file behind started, less
   * RACY_MARGIN_MS, in ns since the epoch: OneWayOptions.racySinceNs. Undefined when none is
   * known.
   */
  racySinceNs: bigint | undefined;
  /** Remembers `startedMs` as the start of a run between these roots that left no file behind. */
  recordCleanRun(startedMs: number): void;
  /** Releases the locks and closes the database. */
  close(): void;
}

/**
 * A file's ctime comes from the kernel's coarse clock, which may trail the wall clock the run
 * start is read from by a tick: a change made just after a run started must still count as
 * after it.
 */
const RACY_MARGIN_MS = 1000;

/**
 * What a sync run keeps in the state store: the roots' ids, the run locks on both roots
 * (S18), and with --checksum the file indexes whose hashes the scan reuses.
 */
export async function openRunState(
  roots: LocalRoots,
  a: string,
  b: string,
  o: RunStateOptions,
): Promise<RunState> {
  const now = o.now ?? Date.now;
  const db = openStateDb(o.home ?? concordHome());
  let release: (() => void) | undefined;
  try {
    // A one-way run writes no marker: it never writes into its source, and a refused or
    // no-op run leaves the destination as it found it. A root's id is its marker when
    // `concord index` (or a two-way run) made one, else its path.
    const srcId = readRootId(roots.src);
    const dstId = roots.dstExists ? readRootId(roots.dst) : undefined;
    if (!o.dryRun) {
      const keys = [...rootLockKeys(roots.src, srcId, a), ...rootLockKeys(roots.dst, dstId, b)];
      release = await acquireLocks(db, keys, {
        command: `sync ${a} ${b}`,
        waitMs: o.lockWaitMs,
        now,
      });
    }
    // A root's id is its marker, else its path (as a file index location is keyed).
    const pairKey = [srcId ?? `path:${roots.src}`, dstId ?? `path:${roots.dst}`] as const;
    const last = db
      .prepare('SELECT clean_started_ms FROM oneway_runs WHERE src = ? AND dst = ?')
      .pluck()
      .get(...pairKey) as number | undefined;
    const caches: RunState['caches'] = {};
    if (o.checksum) {
      caches.src = cacheOf(db, pairKey[0], roots.src, now);
      if (roots.dstExists) caches.dst = cacheOf(db, pairKey[1], roots.dst, now);
    }
    return {
      caches,
      racySinceNs: last === undefined ? undefined : BigInt(last - RACY_MARGIN_MS) * 1_000_000n,
      recordCleanRun(startedMs) {
        db.prepare(
          `INSERT INTO oneway_runs (src, dst, clean_started_ms) VALUES (?, ?, ?)
           ON CONFLICT (src, dst) DO UPDATE SET clean_started_ms = excluded.clean_started_ms`,
        ).run(...pairKey, startedMs);
      },
      close() {
        release?.();
        db.close();
      },
    };
  } catch (err) {
    release?.();
    db.close();
    throw err;
  }
}

/** A root's file index as a scan uses it, under the location of `rootId`. */
export function cacheOf(db: StateDb, rootId: string, root: string, now: () => number): HashCache {
  return {
    index: new FileIndex(db, locationOf(db, rootId, root, now())),
    dev: lstatSync(root, { bigint: true }).dev,
    nowNs: () => BigInt(now()) * 1_000_000n,
    nowMs: now,
  };
}

/** The filter of a root: `.concordignore` at its top first, then `rules` in order. */
export function filterSpec(root: string, rules: FilterRule[] = []): FilterSpec {
  let ignoreFileText = '';
  try {
    ignoreFileText = readFileSync(join(root, IGNORE_FILE), 'utf8');
  } catch {}
  return { rules, ignoreFileText };
}
