import { Executor, runPlan } from '../apply/execute.ts';
import { COPY_MTIME_ERROR_NS } from '../core/compare.ts';
import type { FilterSpec } from '../core/filter.ts';
import type { OneWayMode } from '../core/oneway.ts';
import { ABSENT, countPlan, deletions, type Operation, orderPlan, Phase } from '../core/plan.ts';
import type { Problem } from '../core/problem.ts';
import { exceedsMaxDelete } from '../core/safety.ts';
import type { Endpoint } from '../endpoint/endpoint.ts';
import { ConcordError, errText } from '../errors.ts';
import type { Emit } from '../jobs/events.ts';
import type { HashCache } from '../scan/hash-cache.ts';
import { detectMoves } from './oneway-moves.ts';
import { type DirSeen, scanAndPlan } from './scan-plan.ts';

export interface OneWayOptions {
  mode: OneWayMode;
  checksum: boolean;
  /** --modify-window, in nanoseconds. */
  modifyWindowNs: bigint;
  filter: FilterSpec;
  dryRun: boolean;
  maxDelete?: number | undefined;
  concurrency: number;
  signal?: AbortSignal | undefined;
  /** Directories walked on the calling thread before walker threads start. */
  walkAheadAfter?: number | undefined;
  /**
   * Return the whole plan in the result (default true). Without it, operations applied while
   * the scan went on are not kept: the CLI saves their memory (~1 KB per operation).
   */
  keepPlan?: boolean | undefined;
  /**
   * When the last run between these roots that left no file behind started, less a margin
   * (ns since the epoch); see CompareOptions.racySinceNs. Used only where mtimes compare
   * coarser than a copy keeps them. Undefined: no such run is known, and the quick check is
   * trusted as rsync trusts it.
   */
  racySinceNs?: bigint | undefined;
  /** The roots' file indexes, for --checksum. */
  caches?: { src?: HashCache | undefined; dst?: HashCache | undefined } | undefined;
  /** Mirror: rename extras on B that hold what is new on A, instead of delete + copy (default true). */
  moves?: boolean | undefined;
  /** Creations held back for move detection, at most (default HELD_MAX; tests set less). */
  holdMax?: number | undefined;
  /**
   * Called once the run has made B, before anything is written into it: the run lock on B's
   * directory, which could not be taken while B did not exist (S18). Throws when another run
   * took it first.
   */
  onRootMade?: (() => void) | undefined;
}

/**
 * Creations held back from streaming for move detection, at most: past it they are all
 * applied at once and the run detects no moves, so memory stays bounded. Measured: 52,000
 * held creations took the small tree's copy from 132 to 179 MB (~0.9 KB each).
 */
const HELD_MAX = 50_000;

export interface Deps {
  emit: Emit;
  /** Milliseconds since the epoch (injected: the engine reads no clock of its own). */
  now: () => number;
  jobId: string;
}

/** The `--json` summary line (DESIGN.md, command-line contract). */
export interface Summary {
  type: 'summary';
  jobId: string;
  mode: OneWayMode | 'two-way' | 'backup';
  dryRun: boolean;
  created: number;
  updated: number;
  deleted: number;
  moved: number;
  metadataUpdated: number;
  conflicts: number;
  skipped: number;
  bytesCopied: number;
  durationMs: number;
  /** Files read to compare content (--checksum), and files whose indexed hash was reused. */
  hashed: number;
  hashReused: number;
  problems: Problem[];
}

export interface OneWayResult {
  summary: Summary;
  /** The ordered plan (what was done, or with --dry-run what would be). */
  plan: Operation[];
}

/**
 * Plans a one-way run; changes nothing (unless `onDir` does). `applied`: operations `onDir`
 * has handed to the executor (no move may take them).
 */
export async function planOneWay(
  src: Endpoint,
  dst: Endpoint,
  opts: OneWayOptions,
  deps: Deps,
  onDir?: (ops: readonly Operation[], at: DirSeen) => Promise<readonly Operation[]>,
  applied: ReadonlySet<Operation> = new Set(),
) {
  const caps = await dst.capabilities();
  const tolerance = maxBig(opts.modifyWindowNs, caps.mtimePrecisionNs);
  deps.emit({ type: 'phase', jobId: deps.jobId, phase: 'scan' });
  // A target that cannot keep modes (FAT, exFAT) would differ in mode from every file forever.
  const compare = {
    checksum: opts.checksum,
    mtimeToleranceNs: tolerance,
    ignoreModes: !caps.keepsModes,
    racySinceNs: tolerance > COPY_MTIME_ERROR_NS ? opts.racySinceNs : undefined,
  };
  const moves = detectsMoves(opts);
  const scanned = await scanAndPlan(
    src,
    dst,
    {
      mode: opts.mode,
      compare,
      caseInsensitive: caps.caseInsensitive,
      filter: opts.filter,
      trackMoves: moves,
      walkAheadAfter: opts.walkAheadAfter,
      onDir,
      caches: opts.caches,
      signal: opts.signal,
    },
    deps.emit,
    deps.jobId,
    deps.now,
  );
  // An interrupted scan saw only part of the trees: no pairs from half the evidence.
  if (!moves || opts.signal?.aborted)
    return {
      ...scanned,
      ops: orderPlan(scanned.ops),
      fallbacks: new Map<Operation, Operation[]>(),
    };
  const moved = await detectMoves(src, dst, scanned, compare, applied);
  return {
    ...scanned,
    ops: orderPlan(moved.ops),
    fallbacks: moved.fallbacks,
    hashed: scanned.hashed + moved.hashed,
  };
}

function detectsMoves(opts: OneWayOptions): boolean {
  return opts.mode === 'mirror' && opts.moves !== false;
}

/** Scan, plan, check the guard rails, apply: `concord copy` and `concord mirror`. */
export async function runOneWay(
  src: Endpoint,
  dst: Endpoint,
  options: OneWayOptions,
  deps: Deps,
): Promise<OneWayResult> {
  const { opts, stop } = stoppable(options);
  const started = deps.now();
  let fallbacks = new Map<Operation, Operation[]>();
  const ex = new Executor(
    src,
    dst,
    {
      concurrency: opts.concurrency,
      signal: opts.signal,
      now: deps.now,
      keepDone: opts.keepPlan !== false,
      fallback: (op) => fallbacks.get(op),
      onStop: stop,
    },
    deps.emit,
    deps.jobId,
  );
  // Copying starts while the scan goes on, as long as nothing has to be known about the whole
  // plan first: a --max-delete limit must refuse before any change, and a kind change must
  // clear its path (children first) before anything is written there. Writes only create or
  // replace single entries, each under its own precondition, so starting them early changes
  // no outcome.
  let streaming = !opts.dryRun && opts.maxDelete === undefined;
  const keepPlan = opts.keepPlan !== false;
  const streamed = new Set<Operation>();
  let rootReady = false;
  // Moves pair creations with extras found anywhere in the walk, so creations wait for its
  // end, unless B's root is empty (nothing there can move) or too many are waiting.
  let holding = detectsMoves(opts);
  let held: Operation[] = [];
  const onDir = async (ops: readonly Operation[], at: DirSeen): Promise<readonly Operation[]> => {
    if (!streaming) return ops;
    if (ops.some((o) => o.phase === Phase.Clear)) {
      streaming = false;
      return ops;
    }
    if (at.dir === '' && at.dstEntries === 0) holding = false;
    if (!rootReady) {
      rootReady = true;
      deps.emit({ type: 'phase', jobId: deps.jobId, phase: 'apply' });
      if ((await dst.stat('')) === undefined) await createRoot(dst, opts.onRootMade);
    }
    const rest: Operation[] = [];
    for (const op of ops) {
      if (op.phase !== Phase.Write) {
        rest.push(op);
        continue;
      }
      if (holding && op.reason === 'new') {
        rest.push(op);
        held.push(op);
        if (held.length <= (opts.holdMax ?? HELD_MAX)) continue;
        holding = false;
        // In emission order, parents first: everything held goes, this one last.
        for (const h of held) {
          streamed.add(h);
          await ex.add(h);
        }
        held = [];
        continue;
      }
      if (keepPlan) {
        streamed.add(op);
        rest.push(op);
      }
      await ex.add(op);
    }
    return rest;
  };
  const planned = await planOneWay(src, dst, opts, deps, onDir, streamed);
  fallbacks = planned.fallbacks;
  const toDelete = deletions(planned.ops);
  if (exceedsMaxDelete(toDelete, opts.maxDelete)) {
    throw new ConcordError(
      'guard',
      `the run would delete ${toDelete} ${toDelete === 1 ? 'entry' : 'entries'}, more than --max-delete ${opts.maxDelete}`,
      {
        path: dst.uri,
        hint: 'nothing was changed; check the roots, or raise --max-delete',
      },
    );
  }
  for (const p of planned.problems) deps.emit({ type: 'problem', jobId: deps.jobId, problem: p });
  if (!opts.dryRun) {
    if (!rootReady) {
      deps.emit({ type: 'phase', jobId: deps.jobId, phase: 'apply' });
      if ((await dst.stat('')) === undefined) await createRoot(dst, opts.onRootMade);
    }
    for (const path of planned.leftovers) await dst.discard(path).catch(() => {});
    await ex.drain();
    // Interrupted during the scan: the plan is partial, and only what was applied stands.
    if (!opts.signal?.aborted)
      await runPlan(
        ex,
        planned.ops.filter((op) => !streamed.has(op)),
      );
  }
  deps.emit({ type: 'phase', jobId: deps.jobId, phase: 'done' });
  const problems = [...planned.problems, ...ex.result.problems];
  const counts = opts.dryRun ? countPlan(planned.ops) : ex.result.counts;
  return {
    plan: planned.ops,
    summary: {
      type: 'summary',
      jobId: deps.jobId,
      mode: opts.mode,
      dryRun: opts.dryRun,
      created: counts.created,
      updated: counts.updated,
      deleted: counts.deleted,
      moved: counts.moved,
      metadataUpdated: counts.metadataUpdated,
      conflicts: 0,
      skipped: problems.length,
      bytesCopied: opts.dryRun ? counts.bytesToCopy : ex.result.bytesCopied,
      durationMs: deps.now() - started,
      hashed: planned.hashed,
      hashReused: planned.hashReused,
      problems,
    },
  };
}

async function createRoot(dst: Endpoint, made?: () => void): Promise<void> {
  try {
    await dst.mkdir('', ABSENT);
  } catch (err) {
    throw new ConcordError('bad-root', `cannot create the destination: ${errText(err)}`, {
      path: dst.uri,
      hint: 'check that its parent is writable',
      cause: err,
    });
  }
  made?.();
}

/** Math.max does not take bigints. */
function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/**
 * `opts` with a signal that also fires on `stop()`: an executor that finds its target root
 * gone stops the scan and the rest of the run as an interruption would, consistent and
 * without deletions from half the evidence.
 */
export function stoppable<T extends { signal?: AbortSignal | undefined }>(
  options: T,
): { opts: T; stop: () => void } {
  const c = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, c.signal]) : c.signal;
  return { opts: { ...options, signal }, stop: () => c.abort() };
}
