import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_CONCURRENCY, trashDir } from './api.ts';
import { isBackupRoot } from './backup/catalog.ts';
import type { Choice, Policy } from './core/conflict.ts';
import type { FilterRule } from './core/filter.ts';
import { STATE_DIR } from './core/path.ts';
import type { Conflict } from './core/reconcile.ts';
import { LocalEndpoint } from './endpoint/local/local.ts';
import { finishMoves } from './endpoint/local/move.ts';
import { WorkerPool } from './endpoint/local/pool.ts';
import type { Deps } from './engine/oneway.ts';
import { assertWritable, resolveLocalRoots } from './engine/roots.ts';
import { planTwoWay, runTwoWay, type TwoWayOptions } from './engine/twoway.ts';
import { ConcordError, stoppedPartWay } from './errors.ts';
import { AncestorStore, forgetAncestor } from './index/ancestors.ts';
import { concordHome } from './index/home.ts';
import { ensureRootId, readRootId } from './index/location.ts';
import { acquireLocks, lockMadeRoot, rootLockKeys } from './index/lock.ts';
import {
  createPair,
  type Pair,
  pairOfRoots,
  pairsAtPath,
  recordOutcome,
  updatePairPaths,
} from './index/pairs.ts';
import { openStateDb, type StateDb } from './index/state-db.ts';
import { disagreeing, renewToken } from './index/sync-token.ts';
import { type Emit, newJobId } from './jobs/events.ts';
import { filterSpec, leaveStateDirOut } from './run-state.ts';
import { expireTrash } from './trash/empty.ts';

export interface TwoWayLocalOptions {
  checksum?: boolean;
  modifyWindowNs?: bigint;
  rules?: FilterRule[];
  dryRun?: boolean;
  maxDelete?: number | undefined;
  force?: boolean;
  trash?: boolean;
  concurrency?: number;
  fsync?: boolean;
  signal?: AbortSignal;
  onEvent?: Emit;
  workers?: boolean;
  now?: () => number;
  home?: string | undefined;
  lockWaitMs?: number | undefined;
  policy?: Policy;
  fallback?: Exclude<Policy, 'prompt'> | undefined;
  ask?: ((c: Conflict, index: number, total: number) => Promise<Choice>) | undefined;
  /** The pair's name, when run as `concord sync NAME`. */
  name?: string | undefined;
  /** A line for the person running it, about the run as a whole (S27's first-sync fallback). */
  onNotice?: ((line: string) => void) | undefined;
}

/**
 * What openTwoWayLocal hands back. Spelled out because the declaration build cannot name the
 * inferred type of `db` (TS4058: better-sqlite3's Database), which failed `npm run build`.
 */
export interface TwoWayRun {
  a: LocalEndpoint;
  b: LocalEndpoint;
  opts: TwoWayOptions;
  deps: Deps;
  close: () => Promise<void>;
  finish: (outcome: string) => void;
  pair: Pair | undefined;
  db: StateDb;
}

/**
 * Wires a two-way run between two local directories: checks the roots and the guard rails
 * that need no scan (S19: a root missing, without its marker, or empty while the ancestor
 * says it held files), finds or makes the pair and its ancestor (S27: keyed by the roots'
 * ids), takes both roots' locks (S18), writes the markers (not for a dry run).
 */
export async function openTwoWayLocal(
  a: string,
  b: string,
  o: TwoWayLocalOptions,
): Promise<TwoWayRun> {
  const now = o.now ?? Date.now;
  const dryRun = o.dryRun ?? false;
  const db = openStateDb(o.home ?? concordHome());
  let release: (() => void) | undefined;
  try {
    guardMissing(db, a);
    guardMissing(db, b);
    const roots = resolveLocalRoots(a, b);
    if (!dryRun) {
      // Two-way writes into both roots (their markers first of all).
      assertWritable(roots.src, a);
      if (roots.dstExists) assertWritable(roots.dst, b);
    }
    for (const [abs, shown] of [
      [roots.src, a],
      [roots.dst, b],
    ] as const)
      if (existsSync(abs) && isBackupRoot(abs))
        throw new ConcordError(
          'guard',
          'is a backup root: two-way sync would change it without keeping its history',
          {
            path: shown,
            hint: 'back up into it with concord backup A B; concord restore reads from it',
          },
        );
    // Read before anything is written: a refused ignore file leaves both roots as they were.
    const filter = leaveStateDirOut(
      mergedFilter(roots.src, roots.dst, o.rules),
      o.home ?? concordHome(),
      [roots.src, roots.dst],
    );
    let idA = readRootId(roots.src);
    let idB = roots.dstExists ? readRootId(roots.dst) : undefined;
    if (!idA) guardUnmarked(db, roots.src, a);
    if (!idB && roots.dstExists) guardUnmarked(db, roots.dst, b);
    if (idA !== undefined && idA === idB) {
      throw new ConcordError(
        'bad-root',
        `carries the same root id as ${a} (one was copied from the other with its ${STATE_DIR}/ folder)`,
        {
          path: b,
          hint: `delete ${STATE_DIR}/root-id in the copy: it then gets an id of its own`,
        },
      );
    }
    const found = idA && idB ? pairOfRoots(db, idA, idB) : undefined;
    if (found) guardEmpty(db, found.pair, roots.src, roots.dst, a, b, o.force ?? false);
    if (!dryRun) {
      const keys = [...rootLockKeys(roots.src, idA, a), ...rootLockKeys(roots.dst, idB, b)];
      release = await acquireLocks(db, keys, {
        command: `sync ${a} ${b}`,
        waitMs: o.lockWaitMs,
        now,
      });
      if (!roots.dstExists) {
        mkdirSync(roots.dst);
        const releaseB = lockMadeRoot(roots.dst, b);
        const releaseRest = release;
        release = () => {
          releaseB();
          releaseRest();
        };
      }
      idA = ensureRootId(roots.src);
      idB = ensureRootId(roots.dst);
      // Before the scan: a move a killed run left half done would show as a new file.
      finishMoves(roots.src);
      finishMoves(roots.dst);
    }
    let pair: Pair | undefined = found?.pair;
    let swapped = found?.swapped ?? false;
    if (!pair && idA && idB && !dryRun) {
      const again = pairOfRoots(db, idA, idB);
      pair = again?.pair;
      swapped = again?.swapped ?? false;
      pair ??= createPair(db, {
        name: undefined,
        aRootId: idA,
        bRootId: idB,
        aPath: roots.src,
        bPath: roots.dst,
        mode: 'two-way',
        options: {},
        createdMs: now(),
      });
    }
    if (pair && !dryRun) {
      const [pa, pb] = swapped ? [roots.dst, roots.src] : [roots.src, roots.dst];
      if (pair.aPath !== pa || pair.bPath !== pb) updatePairPaths(db, pair.id, pa, pb);
    }
    // A dry run of a new pair has no ancestor: it plans a first run (pair id -1 has no rows).
    let ancestorOf = pair?.id ?? -1;
    let renew: (() => void) | undefined;
    if (pair && idA && idB) {
      const paired = [
        { abs: roots.src, id: idA, otherId: idB, shown: a },
        { abs: roots.dst, id: idB, otherId: idA, shown: b },
      ];
      const stale = disagreeing(db, pair.id, paired);
      if (stale.length > 0) {
        // S27: the ancestor is not of these trees; a first sync deletes and reverts nothing.
        const names = stale.map((r) => r.shown).join(' and ');
        o.onNotice?.(
          `${names} ${stale.length > 1 ? 'are' : 'is'} not as the last sync of this pair left ${stale.length > 1 ? 'them' : 'it'} (restored from a backup, or a copy?): this sync is a first sync, a merge that deletes nothing`,
        );
        if (dryRun) ancestorOf = -1;
        else {
          // Forgotten and renewed at once: the empty ancestor is of these trees from now on,
          // even if the run then records nothing (two empty roots).
          forgetAncestor(db, pair.id);
          renewToken(db, pair.id, paired);
        }
      } else if (!dryRun) {
        // Renewed when the run first changes the ancestor: a run refused by a guard, or one
        // with nothing to do, writes nothing into either root.
        renew = () => renewToken(db, pair.id, paired);
      }
    }
    const ancestors = new AncestorStore(db, ancestorOf, swapped, renew);
    const pool = o.workers === false ? undefined : new WorkerPool(2);
    const trash = o.trash ?? true;
    const at = new Date(now());
    // Both roots alike: each keeps its own trash, and both share the copy threads.
    const endpoint = (root: string, uri: string) =>
      new LocalEndpoint({
        root,
        uri,
        pool,
        walkThread: o.workers !== false,
        trashDir: trash ? trashDir(root, at) : undefined,
        fsync: o.fsync ?? false,
      });
    const epA = endpoint(roots.src, a);
    const epB = endpoint(roots.dst, b);
    const opts: TwoWayOptions = {
      checksum: o.checksum ?? false,
      modifyWindowNs: o.modifyWindowNs ?? 0n,
      filter,
      dryRun,
      maxDelete: o.maxDelete,
      force: o.force ?? false,
      concurrency: o.concurrency ?? DEFAULT_CONCURRENCY,
      signal: o.signal,
      policy: o.policy ?? 'keep-both',
      fallback: o.fallback,
      ask: o.ask,
      ancestors,
    };
    const deps: Deps = {
      emit: o.onEvent ?? (() => {}),
      now,
      jobId: newJobId(),
    };
    const finish = (outcome: string) => {
      if (pair && !dryRun) recordOutcome(db, pair.id, now(), outcome);
    };
    const close = async () => {
      await Promise.all([epA.close(), epB.close(), pool?.close()]);
      release?.();
      db.close();
    };
    return { a: epA, b: epB, opts, deps, close, finish, pair, db };
  } catch (err) {
    release?.();
    db.close();
    throw err;
  }
}

/** Two-way sync of two local directories (`concord sync A B`). */
export async function syncTwoWayLocal(a: string, b: string, o: TwoWayLocalOptions = {}) {
  const run = await openTwoWayLocal(a, b, o);
  try {
    const result = await runTwoWay(run.a, run.b, run.opts, run.deps);
    const s = result.summary;
    // After a finished run, each root's trash older than 30 days goes.
    const stopped = stoppedPartWay(s.problems);
    if (!o.dryRun && !o.signal?.aborted && !stopped)
      for (const [ep, side] of [
        [run.a, 'A'],
        [run.b, 'B'],
      ] as const)
        s.problems.push(...expireTrash(ep.root, run.deps.now()).map((p) => ({ ...p, side })));
    run.finish(
      o.signal?.aborted || stopped
        ? 'interrupted'
        : s.problems.length > 0
          ? 'unresolved'
          : 'in sync',
    );
    return result;
  } catch (err) {
    run.finish(`failed: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  } finally {
    await run.close();
  }
}

/** What `syncTwoWayLocal` would do; changes nothing. */
export async function planTwoWayLocal(a: string, b: string, o: TwoWayLocalOptions = {}) {
  const run = await openTwoWayLocal(a, b, { ...o, dryRun: true });
  try {
    return await planTwoWay(run.a, run.b, run.opts, run.deps);
  } finally {
    await run.close();
  }
}

/** The rules of both roots' `.concordignore` files and the command line: one filter for both. */
function mergedFilter(rootA: string, rootB: string, rules: FilterRule[] = []) {
  const fa = filterSpec(rootA, rules);
  const fb = filterSpec(rootB, []);
  return {
    rules: fa.rules,
    ignoreFileText: [fa.ignoreFileText, fb.ignoreFileText].filter((t) => t !== '').join('\n'),
  };
}

function ancestorCount(db: StateDb, pair: Pair): number {
  return new AncestorStore(db, pair.id).count();
}

/**
 * How to start over with a root the S19 guards refuse. It said "concord pair remove", which
 * needs a name that the pair of a one-off `concord sync A B` does not have; such a pair is
 * left behind by a new pair of the roots instead (a first sync: a merge, nothing deleted).
 */
function startOver(p: Pair, shown: string): string {
  return p.name !== undefined
    ? `to start over with this root: concord pair remove ${p.name}`
    : `to start over with this root: concord pair add NAME ${shown} OTHER-ROOT, then concord sync NAME`;
}

/** S19: a root that is gone while a pair synced entries there: an unmounted drive, most likely. */
function guardMissing(db: StateDb, root: string): void {
  const abs = resolve(root);
  if (existsSync(abs)) return;
  for (const p of pairsAtPath(db, abs)) {
    const n = ancestorCount(db, p);
    if (n > 0)
      throw new ConcordError(
        'guard',
        `the root is missing, but the last sync of this pair saw ${n} entries there`,
        {
          path: root,
          hint: `nothing was changed; mount or restore it; ${startOver(p, root)}`,
        },
      );
  }
}

/** S19: a root without its marker where a pair synced: an empty mount point, or a new root. */
function guardUnmarked(db: StateDb, abs: string, shown: string): void {
  for (const p of pairsAtPath(db, abs)) {
    const n = ancestorCount(db, p);
    if (n > 0)
      throw new ConcordError(
        'guard',
        `has no ${STATE_DIR}/root-id marker, but the last sync of this pair saw ${n} entries there`,
        {
          path: shown,
          hint: `nothing was changed; is the drive mounted? ${startOver(p, shown)}`,
        },
      );
  }
}

/** S19: a root emptied since the last sync (all of it deleted, or a fresh disk): ask for --force. */
function guardEmpty(
  db: StateDb,
  pair: Pair,
  absA: string,
  absB: string,
  a: string,
  b: string,
  force: boolean,
): void {
  if (force) return;
  // Counting every row costs ~50 ms on 50,000 paths: count only to say how many.
  if (!new AncestorStore(db, pair.id).holdsAtLeast(2)) return;
  for (const [abs, shown] of [
    [absA, a],
    [absB, b],
  ] as const) {
    const names = readdirSync(abs).filter((x) => x !== STATE_DIR);
    const n = names.length === 0 ? ancestorCount(db, pair) : 0;
    if (names.length === 0)
      throw new ConcordError(
        'guard',
        `is empty, but the last sync of this pair saw ${n} entries there`,
        {
          path: shown,
          hint: 'nothing was changed; if emptying it was meant (delete everything on the other side too), run again with --force',
        },
      );
  }
}
