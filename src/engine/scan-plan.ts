import type { CompareOptions } from '../core/compare.ts';
import type { Entry } from '../core/entry.ts';
import { type Filter, type FilterSpec, makeFilter, NO_FILTER } from '../core/filter.ts';
import {
  type Descend,
  diffOneWay,
  diffOneWayInSync,
  type OneWayDir,
  type OneWayMode,
} from '../core/oneway.ts';
import {
  KIND_DIR,
  KIND_FILE,
  type PackedEntries,
  packedCount,
  packedEntry,
  packedNames,
  unpackEntries,
  W_KIND,
  WORDS,
} from '../core/packed.ts';
import { basename, join, type RelPath } from '../core/path.ts';
import type { Operation } from '../core/plan.ts';
import type { Problem } from '../core/problem.ts';
import type { Endpoint, Listing, PackedListing } from '../endpoint/endpoint.ts';
import type { Emit } from '../jobs/events.ts';
import { DirCache, finishScan, type HashCache, indexedHashes } from '../scan/hash-cache.ts';
import { hashOrReport } from '../scan/hash-entry.ts';
import { HASH_BATCH, inBatches } from '../scan/in-batches.ts';

export interface ScanPlanOptions {
  mode: OneWayMode;
  compare: CompareOptions;
  /** The target finds names in any case (Capabilities.caseInsensitive): S23 applies. */
  caseInsensitive?: boolean | undefined;
  filter: FilterSpec;
  /** Directories walked on this thread before walker threads start (default 1). */
  walkAheadAfter?: number | undefined;
  /**
   * Called with each directory's operations as soon as they are decided (to start applying);
   * returns those the plan must still hold (the ones it did not take).
   */
  onDir?: ((ops: readonly Operation[], at: DirSeen) => Promise<readonly Operation[]>) | undefined;
  /** Note the directories move detection cannot take whole (ScanPlanResult.irregular). */
  trackMoves?: boolean | undefined;
  /** Stops the walk between directories (SIGINT, SIGTERM): the plan is then partial. */
  signal?: AbortSignal | undefined;
  /** File indexes of the roots: with --checksum, hashes are reused from them and kept there. */
  caches?: { src?: HashCache | undefined; dst?: HashCache | undefined } | undefined;
}

export interface ScanPlanResult {
  /** In emission order: parent-first (orderPlan makes the execution order). */
  ops: Operation[];
  problems: Problem[];
  /** Our temporary files on the target, left by an interrupted run. */
  leftovers: RelPath[];
  dirsScanned: number;
  entriesScanned: number;
  /** Files read to be hashed, and files whose indexed hash was reused. */
  hashed: number;
  hashReused: number;
  /**
   * With trackMoves: directories new on A (extra on B) whose listing held something the plan
   * does not stand for (excluded, unreadable, special or leftover entries): a rename of the
   * whole directory would carry it along or leave it out, so it never moves whole.
   */
  irregular: { A: Set<RelPath>; B: Set<RelPath> };
}

/** What onDir learns of the directory besides its operations. */
export interface DirSeen {
  dir: RelPath;
  /** Entries of the directory on B that the filter keeps (0 when B lacks it). */
  dstEntries: number;
}

/**
 * Directories walked on this thread before walker threads start. Starting them later (after
 * 64 directories) saved ~100 ms on small trees but doubled the no-op time on 50,000 files:
 * the walkers then trail the engine instead of running ahead of it. Measure before changing.
 */
const WALK_AHEAD_AFTER = 1;

/**
 * Directories whose files may be being hashed while the walk goes on (--checksum, or same
 * size with different mtimes): enough to keep the hashing threads fed, few enough to bound
 * what waits in memory.
 */
const HASHING_DIRS_IN_FLIGHT = 16;

interface Visit {
  dir: RelPath;
  srcSelf: Entry | undefined;
  dstSelf: Entry | undefined;
  descend: Descend;
  /** Started when the directory was found, so listing runs ahead of deciding. */
  listings: Promise<[AnyListing | undefined, AnyListing | undefined]>;
}

type AnyListing = Listing | PackedListing;

/**
 * Walks both roots directory by directory (rclone's march) and asks the core to decide each
 * directory. Memory holds the plan and the stack of directories still to visit, never a whole
 * listing of either tree.
 */
export async function scanAndPlan(
  src: Endpoint,
  dst: Endpoint,
  opts: ScanPlanOptions,
  emit: Emit,
  jobId: string,
  now: () => number,
): Promise<ScanPlanResult> {
  const out: ScanPlanResult = {
    ops: [],
    problems: [],
    leftovers: [],
    dirsScanned: 0,
    entriesScanned: 0,
    hashed: 0,
    hashReused: 0,
    irregular: { A: new Set(), B: new Set() },
  };
  // The index is consulted only to compare content: size + mtime compare without it.
  const caches = opts.compare.checksum ? opts.caches : undefined;
  const srcRoot = await src.stat('');
  const dstRoot = await dst.stat('');
  const filter = makeFilter(opts.filter);
  const listBoth = (dir: RelPath, d: Descend) => {
    const p = Promise.all([
      d.src ? listOf(src, dir) : undefined,
      d.dst ? listOf(dst, dir) : undefined,
    ]);
    p.catch(() => {}); // handled when the visit is reached
    return p;
  };
  const rootDescend: Descend = { name: '', src: true, dst: dstRoot !== undefined };
  // A walk that costs no thread starts before the root is listed: the root is then listed
  // once, on libuv's pool, both sides at once. Listed here first, it was listed again by the
  // walk, A's then B's on this thread: a root of 100,000 files took 2.5 s a no-op, now 1.2 s.
  if (opts.walkAheadAfter === undefined) {
    src.walkAhead?.(opts.filter, { ifCheap: true });
    if (dstRoot) dst.walkAhead?.(opts.filter, { ifCheap: true });
  }
  const stack: Visit[] = [
    {
      dir: '',
      srcSelf: srcRoot,
      dstSelf: dstRoot,
      descend: rootDescend,
      listings: listBoth('', rootDescend),
    },
  ];
  let lastEmit = 0;
  /** Directories decided or being hashed, whose operations are emitted in walk order. */
  const inOrder: { seen: DirSeen; decided?: OneWayDir; hashing?: Promise<unknown> }[] = [];
  /**
   * Emits the decided directories at the head of the queue; waits for the head's hashes only
   * while more than `waiting` directories are queued.
   */
  const emitDecided = async (waiting: number) => {
    for (let head = inOrder[0]; head; head = inOrder[0]) {
      if (!head.decided) {
        if (inOrder.length <= waiting) return;
        await head.hashing;
        continue;
      }
      inOrder.shift();
      const { decided, seen } = head;
      out.ops.push(...(opts.onDir ? await opts.onDir(decided.ops, seen) : decided.ops));
      out.problems.push(...decided.problems);
    }
  };
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    if (opts.signal?.aborted) break;
    const { dir, descend } = visit;
    const [srcList, dstList] = await visit.listings;
    out.dirsScanned++;
    if (out.dirsScanned === (opts.walkAheadAfter ?? WALK_AHEAD_AFTER)) {
      // What a walker lists after this thread already did is never taken.
      src.walkAhead?.(opts.filter);
      if (dstRoot) dst.walkAhead?.(opts.filter);
    }
    collect(out.problems, srcList, 'A');
    collect(out.problems, dstList, 'B');
    if (dstList?.leftovers) out.leftovers.push(...dstList.leftovers);
    // Only subtrees new on A or extra on B can move; others need no note.
    const movable = opts.trackMoves && (descend.removing === 'extra' || !descend.dst);
    if (movable && srcList && !wholeListing(srcList)) out.irregular.A.add(dir);
    if (movable && dstList && !wholeListing(dstList)) out.irregular.B.add(dir);
    // An unreadable target directory cannot be written into safely; an unreadable source
    // directory says nothing about what its target counterpart should hold (S17).
    if (
      srcList &&
      !srcList.complete &&
      countOf(srcList) === 0 &&
      srcList.problems.some((p) => p.path === dir)
    )
      continue;
    if (dstList && !dstList.complete && dstList.problems.some((p) => p.path === dir)) continue;

    const input = {
      dir,
      srcSelf: visit.srcSelf,
      dstSelf: visit.dstSelf,
      protectedNames: new Set<string>(),
      mode: opts.mode,
      opts: opts.compare,
      removing: descend.removing,
      caseInsensitive: opts.caseInsensitive,
    };
    // Most directories of a re-run are in sync: decided on the packed listings, without an
    // Entry per child.
    const srcPacked = srcList && 'packed' in srcList ? srcList.packed : undefined;
    const dstPacked = dstList && 'packed' in dstList ? dstList.packed : undefined;
    if (
      srcPacked &&
      dstPacked &&
      keepsAll(filter, dir, srcPacked) &&
      keepsAll(filter, dir, dstPacked)
    ) {
      // With --checksum, in sync by size, mtime and mode, and by the hashes the index
      // still vouches for on both sides.
      // Object.assign, not spreads: V8 (Node 20) gives every object a spread makes a hidden
      // class of its own, and the core's reads of them, one per directory, went megamorphic.
      const inSync = diffOneWayInSync(
        Object.assign({}, input, {
          opts: caches ? Object.assign({}, input.opts, { checksum: false }) : input.opts,
          src: srcPacked,
          dst: dstPacked,
        }),
      );
      if (inSync && (!caches || sameIndexedContent(caches, dir, srcPacked, dstPacked, out))) {
        out.entriesScanned += packedCount(srcPacked) + packedCount(dstPacked);
        // Entries for the subdirectories only, which diffOneWayInSync descends in order.
        const srcDirs = new Map<string, Entry>();
        const dstDirs = new Map<string, Entry>();
        dirIndices(srcPacked).forEach((i, k) => {
          const name = (inSync.descend[k] as Descend).name;
          srcDirs.set(name, packedEntry(srcPacked, i, name));
          dstDirs.set(name, packedEntry(dstPacked, i, name));
        });
        pushVisits(dir, inSync, srcDirs, dstDirs);
        progress(dir);
        continue;
      }
    }

    const keep = (e: Entry) => !filter(join(dir, e.name), e.kind === 'dir');
    const srcAll = srcList && entriesOf(srcList);
    const dstAll = dstList && entriesOf(dstList);
    const srcEntries = srcAll?.filter(keep);
    const dstEntries = dstAll?.filter(keep);
    if (movable && srcAll && srcEntries && srcEntries.length < srcAll.length)
      out.irregular.A.add(dir);
    if (movable && dstAll && dstEntries && dstEntries.length < dstAll.length)
      out.irregular.B.add(dir);
    out.entriesScanned += (srcEntries?.length ?? 0) + (dstEntries?.length ?? 0);
    for (const p of srcList?.problems ?? [])
      if (p.path !== dir) input.protectedNames.add(basename(p.path));

    const full = Object.assign({}, input, { src: srcEntries, dst: dstEntries });
    const srcCache = caches?.src && srcEntries ? new DirCache(caches.src, dir) : undefined;
    const dstCache = caches?.dst && dstEntries ? new DirCache(caches.dst, dir) : undefined;
    if (srcCache && srcEntries) srcCache.fill(srcEntries);
    if (dstCache && dstEntries) dstCache.fill(dstEntries);
    out.hashReused += (srcCache?.reused ?? 0) + (dstCache?.reused ?? 0);
    const first = diffOneWay(full);
    const recordSeen = (decided: OneWayDir) => {
      if (srcCache && srcEntries && srcList)
        srcCache.record(srcEntries, srcList.complete, srcPacked);
      if (dstCache && dstEntries && dstList)
        dstCache.record(dstEntries, dstList.complete, dstPacked);
      return decided;
    };
    // Only files wait for hashes: which subdirectories to visit is known now, so the walk goes
    // on while this directory's files are read, and its operations follow in walk order.
    const queued: (typeof inOrder)[number] = { seen: { dir, dstEntries: dstEntries?.length ?? 0 } };
    if (first.needsHash.length === 0) queued.decided = recordSeen(first);
    else {
      queued.hashing = hashBoth(
        [src, srcCache],
        [dst, dstCache],
        dir,
        first.needsHash,
        srcEntries ?? [],
        dstEntries ?? [],
        out.problems,
      ).then((n) => {
        out.hashed += n;
        // Files that could not be hashed stay undecided: left alone this run (reported).
        queued.decided = recordSeen(diffOneWay(full));
      });
      queued.hashing.catch(() => {}); // thrown where emitDecided awaits it
    }
    inOrder.push(queued);
    await emitDecided(HASHING_DIRS_IN_FLIGHT);
    pushVisits(dir, first, byName(srcEntries), byName(dstEntries));
    progress(dir);
  }
  await emitDecided(0);
  emit({ type: 'scan', jobId, dirs: out.dirsScanned, entries: out.entriesScanned });
  if (caches?.src) finishScan(caches.src);
  if (caches?.dst) finishScan(caches.dst);
  return out;

  function pushVisits(
    dir: RelPath,
    decided: OneWayDir,
    srcByName: Map<string, Entry>,
    dstByName: Map<string, Entry>,
  ): void {
    for (let k = decided.descend.length - 1; k >= 0; k--) {
      const d = decided.descend[k] as Descend;
      const child = join(dir, d.name);
      stack.push({
        dir: child,
        listings: listBoth(child, d),
        srcSelf: d.src ? srcByName.get(d.name) : undefined,
        dstSelf: d.dst ? dstByName.get(d.name) : undefined,
        descend: d,
      });
    }
  }

  function progress(dir: RelPath): void {
    const t = now();
    if (t - lastEmit > 100) {
      lastEmit = t;
      emit({
        type: 'scan',
        jobId,
        dirs: out.dirsScanned,
        entries: out.entriesScanned,
        current: dir,
      });
    }
  }
}

/** Whether the index holds, for every file of both packed listings, the same valid hash. */
function sameIndexedContent(
  caches: NonNullable<ScanPlanOptions['caches']>,
  dir: RelPath,
  src: PackedEntries,
  dst: PackedEntries,
  out: ScanPlanResult,
): boolean {
  if (!caches.src || !caches.dst) return false;
  const a = indexedHashes(caches.src, dir, src);
  if (a === undefined || a !== indexedHashes(caches.dst, dir, dst)) return false;
  let files = 0;
  const n = packedCount(src);
  for (let i = 0; i < n; i++) if (src.words[i * WORDS + W_KIND] === KIND_FILE) files++;
  out.hashReused += 2 * files;
  return true;
}

function listOf(ep: Endpoint, dir: RelPath): Promise<AnyListing> {
  return ep.listPacked ? ep.listPacked(dir) : ep.list(dir);
}

/** A listing read in full, with nothing in it left out of the plan. */
function wholeListing(l: AnyListing): boolean {
  return l.complete && l.problems.length === 0 && (l.leftovers?.length ?? 0) === 0;
}

function countOf(l: AnyListing): number {
  return 'packed' in l ? packedCount(l.packed) : l.entries.length;
}

function entriesOf(l: AnyListing): Entry[] {
  return 'packed' in l ? unpackEntries(l.packed) : l.entries;
}

/** Whether the filter keeps every entry of a packed listing. */
export function keepsAll(filter: Filter, dir: RelPath, p: PackedEntries): boolean {
  if (filter === NO_FILTER) return true;
  const names = packedNames(p);
  for (let i = 0; i < names.length; i++) {
    const isDir = p.words[i * WORDS + W_KIND] === KIND_DIR;
    if (filter(join(dir, names[i] as string), isDir)) return false;
  }
  return true;
}

/** The indices of the directories in a packed listing. */
export function dirIndices(p: PackedEntries): number[] {
  const out: number[] = [];
  const n = packedCount(p);
  for (let i = 0; i < n; i++) if (p.words[i * WORDS + W_KIND] === KIND_DIR) out.push(i);
  return out;
}

function collect(into: Problem[], listing: AnyListing | undefined, side: 'A' | 'B'): void {
  if (listing) for (const p of listing.problems) into.push({ ...p, side });
}

function byName(entries: readonly Entry[] | undefined): Map<string, Entry> {
  const m = new Map<string, Entry>();
  for (const e of entries ?? []) m.set(e.name, e);
  return m;
}

/**
 * Fills in the hashes of same-named files on both sides, so the core can compare content;
 * through the side's index when it has one. Returns how many files were read.
 */
async function hashBoth(
  src: [Endpoint, DirCache | undefined],
  dst: [Endpoint, DirCache | undefined],
  dir: RelPath,
  names: readonly string[],
  srcEntries: Entry[],
  dstEntries: Entry[],
  problems: Problem[],
): Promise<number> {
  const wanted = new Set(names);
  let hashed = 0;
  const wants = (e: Entry) => wanted.has(e.name) && e.hash === undefined;
  // One reader per side, not a closure per file.
  const readerOf = ([ep, cache]: [Endpoint, DirCache | undefined]) => {
    const read = (p: RelPath, x: Entry) => ep.hash(p, x);
    return cache ? cache.through(read) : read;
  };
  const readers = { A: readerOf(src), B: readerOf(dst) };
  // Both sides at once: one side after the other left a hashing thread idle. A's files come
  // first in `todo`; not an [entry, side] pair per file (~13 MB for 200,000 files).
  const todo = srcEntries.filter(wants);
  const fromA = todo.length;
  for (const e of dstEntries) if (wants(e)) todo.push(e);
  const hashOne = (e: Entry, i: number) => {
    const side = i < fromA ? 'A' : 'B';
    return hashOrReport(e, join(dir, e.name), readers[side], problems, side).then((ok) => {
      if (ok) hashed++;
    });
  };
  await inBatches(todo, hashOne, HASH_BATCH);
  return hashed;
}
