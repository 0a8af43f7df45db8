import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isBackupRoot } from './backup/catalog.ts';
import type { FilterRule } from './core/filter.ts';
import type { OneWayMode } from './core/oneway.ts';
import type { Problem } from './core/problem.ts';
import { LocalEndpoint, STATE_DIR } from './endpoint/local/local.ts';
import { finishMoves } from './endpoint/local/move.ts';
import { WorkerPool } from './endpoint/local/pool.ts';
import { lstatOrUndefined } from './endpoint/local/stat.ts';
import {
  type Deps,
  type OneWayOptions,
  type OneWayResult,
  planOneWay,
  runOneWay,
  type Summary,
} from './engine/oneway.ts';
import { assertWritable, resolveLocalRoots } from './engine/roots.ts';
import { ConcordError, stoppedPartWay } from './errors.ts';
import { concordHome } from './index/home.ts';
import { type Emit, newJobId } from './jobs/events.ts';
import { filterSpec, leaveStateDirOut, openRunState, sourceFilter } from './run-state.ts';
import { expireTrash } from './trash/empty.ts';
import { runDirName } from './trash/layout.ts';

export interface LocalSyncOptions {
  mode: OneWayMode;
  checksum?: boolean;
  modifyWindowNs?: bigint;
  /** gitignore rules in order; `.concordignore` in A's root comes first. */
  rules?: FilterRule[];
  dryRun?: boolean;
  maxDelete?: number | undefined;
  /** Keep removed and overwritten files in B/.concord/trash/ (default true). */
  trash?: boolean;
  /** Backup: the absolute folder that receives removed and overwritten files, not the trash. */
  keepDir?: string | undefined;
  /** Set by `concord backup`: B may be a backup root (its catalog records the run). */
  backup?: boolean | undefined;
  concurrency?: number;
  fsync?: boolean;
  signal?: AbortSignal;
  onEvent?: Emit;
  /** Use worker threads for walking and copying (default true). */
  workers?: boolean | 'at-once';
  /** Milliseconds since the epoch; tests inject their own clock. */
  now?: () => number;
  /** The state directory (default: concordHome()). */
  home?: string | undefined;
  /** Return the whole plan in the result (default true; the CLI saves the memory). */
  keepPlan?: boolean | undefined;
  /** How long to wait for another run's lock on a root (ms, default 3000). */
  lockWaitMs?: number | undefined;
}

export const DEFAULT_CONCURRENCY = 128;

/**
 * Wires a one-way run between two local directories: resolves and checks the roots (throws
 * ConcordError before touching anything), opens the state store, takes the roots' run locks
 * (not for a dry run), builds the endpoints, the filter and the trash.
 */
export async function openLocalRun(a: string, b: string, o: LocalSyncOptions) {
  // The racy check compares this with file ctimes, which the kernel stamps: the real clock,
  // not an injected one.
  const startedMs = Date.now();
  // A destination inside the source is let in when the source's filter leaves it out.
  const roots = resolveLocalRoots(a, b, {
    filterOf: sourceFilter(o.rules),
  });
  if (!o.dryRun && roots.dstExists) assertWritable(roots.dst, b);
  if (!o.backup && roots.dstExists && isBackupRoot(roots.dst))
    throw new ConcordError(
      'guard',
      `is a backup root: ${o.mode} would change it without keeping its history`,
      {
        path: b,
        hint: 'back up into it with concord backup A B; concord restore reads from it',
      },
    );
  // Read before anything is written: a refused ignore file leaves both roots as they were.
  const rules = filterSpec(roots.src, o.rules);
  const state = await openRunState(roots, a, b, {
    command: `${o.backup ? 'backup' : o.mode === 'replica' ? 'copy' : o.mode} ${a} ${b}`,
    dryRun: o.dryRun ?? false,
    checksum: o.checksum ?? false,
    home: o.home,
    now: o.now,
    lockWaitMs: o.lockWaitMs,
  });
  // Under the lock, before the scan: a move a killed run left half done would show as a new file.
  if (!o.dryRun && roots.dstExists) finishMoves(roots.dst);
  const filter = leaveStateDirOut(rules, o.home ?? concordHome(), [roots.src, roots.dst]);
  const now = o.now ?? Date.now;
  const dryRun = o.dryRun ?? false;
  // Two workers: both roots are walked at once, and copies use both cores.
  // Threads start only once a run proves large, unless 'at-once' (tests of the thread paths).
  const pool = o.workers === false ? undefined : new WorkerPool(2);
  const walkThread = o.workers !== false;
  const atOnce = o.workers === 'at-once';
  const src = new LocalEndpoint({ root: roots.src, uri: a, pool, walkThread });
  const copiesBeforePool = atOnce ? 0 : undefined;
  const dst = new LocalEndpoint({
    pool,
    root: roots.dst,
    uri: b,
    trashDir: o.keepDir ?? ((o.trash ?? true) ? trashDir(roots.dst, new Date(now())) : undefined),
    walkThread,
    copiesBeforePool,
    fsync: o.fsync ?? false,
  });
  const opts: OneWayOptions = {
    mode: o.mode,
    checksum: o.checksum ?? false,
    modifyWindowNs: o.modifyWindowNs ?? 0n,
    filter,
    dryRun,
    maxDelete: o.maxDelete,
    concurrency: o.concurrency ?? DEFAULT_CONCURRENCY,
    signal: o.signal,
    walkAheadAfter: atOnce ? 1 : undefined,
    caches: state.caches,
    racySinceNs: state.racySinceNs,
    keepPlan: o.keepPlan,
    onRootMade: () => state.lockMadeDst(),
  };
  const deps: Deps = { emit: o.onEvent ?? (() => {}), now, jobId: newJobId() };
  const close = async () => {
    await Promise.all([src.close(), dst.close(), pool?.close()]);
    state.close();
  };
  // After a finished run (not a dry run, not interrupted): B's trash older than 30 days goes.
  // Also: the run's start, for the next run's racy check, unless it left a file behind.
  const finished = (summary: Summary) =>
    !dryRun && !o.signal?.aborted && !stoppedPartWay(summary.problems);
  const recordRun = (summary: Summary) => {
    if (finished(summary) && !leftFileBehind(summary.problems, roots.src, roots.dst))
      state.recordCleanRun(startedMs);
  };
  const afterRun = (summary: Summary) => {
    if (!finished(summary)) return;
    recordRun(summary);
    summary.problems.push(...expireTrash(roots.dst, now()));
  };
  return { src, dst, opts, deps, close, afterRun, recordRun };
}

/**
 * Whether a run failed to bring a file that B already holds up to date (a failed write, a
 * change during the sync): the next run must look at it again however old its ctime.
 * Failed creations are retried anyway (B lacks the file), and names B's file system refuses
 * fail every run: neither holds the record back.
 */
function leftFileBehind(problems: readonly Problem[], src: string, dst: string): boolean {
  return problems.some(
    (p) =>
      (p.code === 'write-failed' || p.code === 'changed-during-sync') &&
      isFileAt(join(src, p.path)) &&
      isFileAt(join(dst, p.path)),
  );
}

/** A path the run could not reach (too long, say) holds no file it left behind: it fails again. */
function isFileAt(abs: string): boolean {
  try {
    return lstatOrUndefined(abs)?.isFile() === true;
  } catch {
    return false;
  }
}

/** One-way sync of two local directories (`concord copy` / `concord mirror`). */
export async function syncLocal(a: string, b: string, o: LocalSyncOptions): Promise<OneWayResult> {
  const { src, dst, opts, deps, close, afterRun } = await openLocalRun(a, b, o);
  try {
    const result = await runOneWay(src, dst, opts, deps);
    afterRun(result.summary);
    return result;
  } finally {
    await close();
  }
}

/** What `syncLocal` would do; changes nothing. */
export async function planLocal(a: string, b: string, o: LocalSyncOptions) {
  const { src, dst, opts, deps, close } = await openLocalRun(a, b, { ...o, dryRun: true });
  try {
    return await planOneWay(src, dst, opts, deps);
  } finally {
    await close();
  }
}

/** `B/.concord/trash/<UTC yyyymmdd-hhmmss>`, suffixed if a run in the same second made one. */
export function trashDir(root: string, at: Date): string {
  const base = join(root, STATE_DIR, 'trash', runDirName(at));
  let dir = base;
  for (let n = 2; existsSync(dir); n++) dir = `${base}-${n}`;
  return dir;
}
