import { Executor } from '../apply/execute.ts';
import { caseConflicts } from '../core/case-fold.ts';
import { changesEntries, closedToOwner, leftOpened, openedToOwner } from '../core/closed-dir.ts';
import { type Choice, choose, type Policy, resolve } from '../core/conflict.ts';
import type { Entry } from '../core/entry.ts';
import { type FilterSpec, makeFilter } from '../core/filter.ts';
import { isRacyListed } from '../core/hash-reuse.ts';
import {
  type PackedEntries,
  packedCount,
  packedEntry,
  packedNamesAt,
  unpackEntries,
} from '../core/packed.ts';
import { basename, isWithin, join, parent, type RelPath } from '../core/path.ts';
import {
  ABSENT,
  ANY_DIR,
  countOp,
  noCounts,
  type Operation,
  Phase,
  type PlanCounts,
} from '../core/plan.ts';
import { type Problem, problem } from '../core/problem.ts';
import {
  type Base,
  baseOf,
  type Conflict,
  conflictName,
  keepAside,
  other,
  type Record,
  reconcileDir,
  type Side,
  type TwoWayDescend,
  type TwoWayOp,
} from '../core/reconcile.ts';
import {
  applyMoves,
  confirmed,
  confirmedBoth,
  hashesWanted,
  type MoveCandidate,
  moveCandidates,
  movedOnBoth,
} from '../core/twoway-moves.ts';
import type { Endpoint, Listing, PackedListing } from '../endpoint/endpoint.ts';
import { ConcordError } from '../errors.ts';
import type { AncestorStore } from '../index/ancestors.ts';
import { hashOrReport } from '../scan/hash-entry.ts';
import { HASH_BATCH, inBatches } from '../scan/in-batches.ts';
import { listingDigest } from '../scan/listing-digest.ts';
import { type Deps, type Summary, stoppable } from './oneway.ts';
import { dirIndices, keepsAll } from './scan-plan.ts';

export interface TwoWayOptions {
  checksum: boolean;
  modifyWindowNs: bigint;
  filter: FilterSpec;
  dryRun: boolean;
  /** Refuse a run deleting more entries than this (S20); default: half of a side's files. */
  maxDelete?: number | undefined;
  /** Go on past the default mass-delete guard. */
  force?: boolean | undefined;
  concurrency: number;
  signal?: AbortSignal | undefined;
  policy: Policy;
  /** With `prompt` and nobody to ask: this policy instead (else the run is refused). */
  fallback?: Exclude<Policy, 'prompt'> | undefined;
  /** Asks a person about one conflict (`prompt` on a TTY). */
  ask?: ((c: Conflict, index: number, total: number) => Promise<Choice>) | undefined;
  ancestors: AncestorStore;
}

export interface TwoWayPlan {
  /** In execution order. */
  ops: TwoWayOp[];
  /** Conflicts with the choice made for each ('skip': left alone). */
  conflicts: { conflict: Conflict; choice: Choice }[];
  records: Record[];
  problems: Problem[];
  files: { A: number; B: number };
  hashed: number;
  firstRun: boolean;
  /** Our temporary files left by an interrupted run, per side: removed before applying. */
  leftovers: { A: RelPath[]; B: RelPath[] };
  /** Directories with nothing to do on either side, and their listings' digests. */
  quietDirs: { dir: RelPath; a: string; b: string }[];
  /** Directories where this plan changes something: looked at again once it is applied. */
  changedDirs: Set<RelPath>;
  /** Directory moves planned: their subtrees are reconciled again once they are done. */
  dirMoves: MoveCandidate[];
  /** Deletions the second look at moved directories will plan, per side (S20 counts them). */
  laterDeletes: { A: number; B: number };
}

/**
 * A later pass of the same run: only the subtrees at `starts` (directories just moved) are
 * walked; `dirMoves: false` leaves directory moves there as planned (no further pass).
 */
export interface TwoWayPass {
  starts: RelPath[];
  dirMoves: boolean;
}

export interface TwoWayResult {
  summary: Summary;
  plan: TwoWayPlan;
}

/** A directory as one side will have it: there now, made by the plan, or missing. */
interface DirCtx {
  side: Side;
  path: RelPath;
  present: boolean;
  parent: DirCtx | undefined;
  /** A file or symlink of this side standing where the directory was. */
  occupant?: Entry | undefined;
  cancel?: TwoWayOp[] | undefined;
  /** The other side's directory: what a resurrection makes. */
  model?: Entry | undefined;
  /** Names in the parent directory, for a conflict copy of the occupant. */
  taken?: Set<string> | undefined;
  /** The directory's entry in its parent's listing on this side, made when asked for. */
  self?: (() => Entry | undefined) | undefined;
}

type AnyListing = Listing | PackedListing;

interface Visit {
  dir: RelPath;
  ctx: { A: DirCtx; B: DirCtx };
  descend: TwoWayDescend;
  listings: Promise<[AnyListing | undefined, AnyListing | undefined]>;
}

function unpacked(l: AnyListing): Listing {
  if (!('packed' in l)) return l;
  const { packed, ...rest } = l;
  return { ...rest, entries: unpackEntries(packed) };
}

/**
 * Plans a two-way run: walks both roots and the ancestor directory by directory, asks the core
 * to decide each directory, and resolves the conflicts by the policy. Changes nothing.
 */
export async function planTwoWay(
  a: Endpoint,
  b: Endpoint,
  opts: TwoWayOptions,
  deps: Deps,
  /** Takes operations to apply at once (first syncs only); they are not in the plan then. */
  stream?: (op: TwoWayOp) => Promise<void>,
  pass: TwoWayPass = { starts: [''], dirMoves: true },
): Promise<TwoWayPlan> {
  const rOpts = await reconcileOptions(a, b, opts);
  // The side that cannot hold names equal but for case (S23); B when both cannot.
  const foldSide: Side = (await b.capabilities()).caseInsensitive ? 'B' : 'A';
  const filter = makeFilter(opts.filter);
  const ends = { A: a, B: b };
  const firstRun = opts.ancestors.isEmpty();
  let streaming = firstRun && stream !== undefined;
  const plan: TwoWayPlan = {
    ops: [],
    conflicts: [],
    records: [],
    problems: [],
    files: { A: 0, B: 0 },
    hashed: 0,
    firstRun,
    quietDirs: [],
    changedDirs: new Set(),
    leftovers: { A: [], B: [] },
    dirMoves: [],
    laterDeletes: { A: 0, B: 0 },
  };
  const emitted: TwoWayOp[] = [];
  const conflicts: Conflict[] = [];
  const inline: Conflict[] = [];
  // Entries the filter leaves out, where a listing held them: a directory holding one is never
  // renamed whole, since the rename would carry it along, where delete + create leaves it (S24).
  const leftOut: RelPath[] = [];
  const list = (ep: Endpoint, dir: RelPath): Promise<AnyListing> =>
    ep.listPacked ? ep.listPacked(dir) : ep.list(dir);
  const listBoth = (dir: RelPath, d: { a: boolean; b: boolean }) => {
    const p = Promise.all([d.a ? list(a, dir) : undefined, d.b ? list(b, dir) : undefined]);
    p.catch(() => {});
    return p;
  };
  const rootCtx = (side: Side, path: RelPath, self: Entry | undefined): DirCtx => ({
    side,
    path,
    present: true,
    parent: undefined,
    self: () => self,
  });
  const whole = pass.starts.length === 1 && pass.starts[0] === '';
  // A later pass starts at directories just renamed: gone again meanwhile, they have no entry.
  const selfOf = (ep: Endpoint, dir: RelPath) =>
    whole ? ep.stat(dir) : ep.stat(dir).catch(() => undefined);
  const selves = await Promise.all(
    pass.starts.map((dir) => Promise.all([selfOf(a, dir), selfOf(b, dir)])),
  );
  // As in one-way runs: a walk that costs no thread starts before the roots are listed.
  if (whole) {
    if (selves[0]?.[0]) a.walkAhead?.(opts.filter, { ifCheap: true });
    if (selves[0]?.[1]) b.walkAhead?.(opts.filter, { ifCheap: true });
  }
  const stack: Visit[] = pass.starts.map((dir, i) => {
    const [aSelf, bSelf] = selves[i] as [Entry | undefined, Entry | undefined];
    return {
      dir,
      ctx: { A: rootCtx('A', dir, aSelf), B: rootCtx('B', dir, bSelf) },
      descend: { name: basename(dir), a: true, b: true },
      // A root that does not exist yet (a plan into a B the sync would make) is empty.
      listings: listBoth(dir, {
        a: !whole || aSelf !== undefined,
        b: !whole || bSelf !== undefined,
      }),
    };
  });
  deps.emit({ type: 'phase', jobId: deps.jobId, phase: 'scan' });
  let dirs = 0;
  let entries = 0;
  /** The operations that open a closed directory for the run and close it again. */
  const openings = new Set<TwoWayOp>();
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    if (opts.signal?.aborted) break;
    const { dir, descend } = visit;
    const [pa, pb] = await visit.listings;
    dirs++;
    plan.leftovers.A.push(...(pa?.leftovers ?? []));
    plan.leftovers.B.push(...(pb?.leftovers ?? []));
    if (dirs === 1 && whole) {
      // Walker threads list both roots ahead of this loop (as in one-way runs).
      a.walkAhead?.(opts.filter);
      b.walkAhead?.(opts.filter);
    }
    // Most directories of a re-run are quiet: equal digests of both listings settle them.
    const quiet = quietDir(dir, pa, pb, visit);
    if (quiet) {
      const dirIdx = dirIndices(quiet.a);
      entries += 2 * packedCount(quiet.a);
      plan.files.A += packedCount(quiet.a) - dirIdx.length;
      plan.files.B += packedCount(quiet.b) - dirIdx.length;
      const names = packedNamesAt(quiet.a, dirIdx);
      // Equal names on both sides: the same index in either listing.
      const { a: qa, b: qb } = quiet;
      for (let k = names.length - 1; k >= 0; k--) {
        const name = names[k] as string;
        const child = join(dir, name);
        const d = { name, a: true, b: true };
        const at = dirIdx[k] as number;
        stack.push({
          dir: child,
          ctx: {
            A: {
              side: 'A',
              path: child,
              present: true,
              parent: visit.ctx.A,
              self: () => packedEntry(qa, at, name),
            },
            B: {
              side: 'B',
              path: child,
              present: true,
              parent: visit.ctx.B,
              self: () => packedEntry(qb, at, name),
            },
          },
          descend: d,
          listings: listBoth(child, d),
        });
      }
      if (dirs % 256 === 0)
        deps.emit({ type: 'scan', jobId: deps.jobId, dirs, entries, current: dir });
      continue;
    }
    const la = pa && unpacked(pa);
    const lb = pb && unpacked(pb);
    for (const [l, side] of [
      [la, 'A'],
      [lb, 'B'],
    ] as const)
      for (const p of l?.problems ?? []) plan.problems.push({ ...p, side });
    // A directory that cannot be read on a side says nothing about what it holds: nothing
    // below it is decided, so nothing there is deleted on the other side (S17).
    if ((la && !la.complete && !la.entries.length) || (lb && !lb.complete && !lb.entries.length))
      continue;
    const keep = (e: { name: string; kind: string }) =>
      !filter(join(dir, e.name), e.kind === 'dir');
    const ea = la?.entries.filter(keep);
    const eb = lb?.entries.filter(keep);
    if (!firstRun)
      for (const [l, kept] of [
        [la, ea],
        [lb, eb],
      ] as const)
        if (l && kept && kept.length !== l.entries.length)
          for (const e of l.entries) if (!keep(e)) leftOut.push(join(dir, e.name));
    // S21: an ancestor row that the filter now excludes is untracked, not deleted.
    const base = opts.ancestors.dir(dir).filter(keep);
    const protectedNames = new Set<string>();
    for (const l of [la, lb])
      for (const p of l?.problems ?? []) if (p.path !== dir) protectedNames.add(basename(p.path));
    const clashes = rOpts.caseInsensitive ? caseConflicts(ea ?? [], eb ?? [], base) : undefined;
    for (const [name, others] of clashes ?? []) {
      protectedNames.add(name);
      const shown = others.map((n) => JSON.stringify(n)).join(', ');
      plan.problems.push(
        problem(
          join(dir, name),
          'case-conflict',
          `differs from ${shown} only in case, and ${foldSide} does not tell case apart: left as it is on both sides`,
          {
            side: foldSide,
            hint: 'rename all but one of them',
          },
        ),
      );
    }
    for (const e of ea ?? []) if (e.kind === 'file') plan.files.A++;
    for (const e of eb ?? []) if (e.kind === 'file') plan.files.B++;
    entries += (ea?.length ?? 0) + (eb?.length ?? 0);
    const input = {
      dir,
      base,
      a: ea,
      b: eb,
      protectedNames,
      clearing: descend.clearing,
      opts: rOpts,
    };
    let decided = reconcileDir(input);
    if (decided.needsHash.A.length + decided.needsHash.B.length > 0) {
      plan.hashed += await hashNames(ends.A, dir, ea ?? [], decided.needsHash.A, 'A');
      plan.hashed += await hashNames(ends.B, dir, eb ?? [], decided.needsHash.B, 'B');
      decided = reconcileDir(input);
      // What could not be hashed is still undecided: left alone this run (reported above).
    }
    for (const side of decided.writesInto) resurrect(visit.ctx[side]);
    if (!rOpts.ignoreModes)
      // A conflict's resolution writes on both sides (a rename aside, a copy over the loser);
      // a crashed run's temporary file is removed too.
      for (const side of ['A', 'B'] as const)
        if (
          decided.conflicts.length > 0 ||
          decided.ops.some((o) => o.side === side && changesEntries(o)) ||
          ((side === 'A' ? pa : pb)?.leftovers?.length ?? 0) > 0
        )
          await openToOwner(side, dir, visit.ctx[side]);
    if (
      decided.ops.length + decided.records.length + decided.conflicts.length === 0 &&
      !clashes?.size &&
      la?.complete &&
      lb?.complete &&
      la.problems.length + lb.problems.length === 0 &&
      ea?.length === la.entries.length &&
      eb?.length === lb.entries.length &&
      pa &&
      pb &&
      'packed' in pa &&
      'packed' in pb &&
      !descend.clearing
    )
      noteQuiet(dir, pa.packed, pb.packed, [...la.entries, ...lb.entries]);
    else if (!hasRacy(la, lb)) plan.changedDirs.add(dir);
    // (A directory holding a racy entry cannot be found quiet right after this run either:
    // looking at it again would only cost a listing.)
    // Streaming stops for good at the first directory that clears a path or has a conflict:
    // what is written after must wait for those moves and deletions (as in one-way runs).
    if (
      streaming &&
      (decided.conflicts.length > 0 || decided.ops.some((o) => o.phase === Phase.Clear))
    )
      streaming = false;
    for (const op of decided.ops) {
      if (streaming && stream && op.phase === Phase.Write) await stream(op);
      else emitted.push(op);
    }
    plan.records.push(...decided.records);
    for (const c of decided.conflicts) {
      // File against directory is settled where it is found (the directory keeps the name).
      if (c.a.kind === 'dir' || c.b.kind === 'dir') inline.push(c);
      else conflicts.push(c);
    }
    const taken = new Set<string>();
    for (const l of [ea ?? [], eb ?? [], base]) for (const e of l) taken.add(e.name);
    for (let k = decided.descend.length - 1; k >= 0; k--) {
      const d = decided.descend[k] as TwoWayDescend;
      const child = join(dir, d.name);
      // A side that does not list the directory either gets it from this plan (a mkdir:
      // present) or lost it (absentOn: made again only if something must go in there).
      const ctxOf = (side: Side): DirCtx =>
        d.absentOn === side
          ? {
              side,
              path: child,
              present: false,
              parent: visit.ctx[side],
              occupant: d.occupant,
              cancel: d.cancelOnResurrect,
              model: d.model,
              taken,
            }
          : {
              side,
              path: child,
              present: true,
              parent: visit.ctx[side],
              self: () => (side === 'A' ? ea : eb)?.find((e) => e.name === d.name),
            };
      stack.push({
        dir: child,
        ctx: { A: ctxOf('A'), B: ctxOf('B') },
        descend: d,
        listings: listBoth(child, d),
      });
    }
    if (dirs % 256 === 0)
      deps.emit({ type: 'scan', jobId: deps.jobId, dirs, entries, current: dir });
  }
  deps.emit({ type: 'scan', jobId: deps.jobId, dirs, entries });

  // Conflicts: decided by the policy, or by a person.
  for (const c of inline) plan.conflicts.push({ conflict: c, choice: 'both' });
  let asked = 0;
  for (const c of conflicts) {
    let choice: Choice;
    if (opts.policy !== 'prompt') choice = choose(opts.policy, c);
    else if (opts.ask) choice = await opts.ask(c, ++asked, conflicts.length);
    else if (opts.fallback) choice = choose(opts.fallback, c);
    else
      throw new ConcordError(
        'usage',
        `${conflicts.length} ${conflicts.length === 1 ? 'conflict needs' : 'conflicts need'} a decision, and there is no terminal to ask (first: ${c.path})`,
        {
          hint: 'run it in a terminal, or give --conflict-fallback POLICY, e.g. keep-both',
        },
      );
    plan.conflicts.push({ conflict: c, choice });
    emitted.push(...resolve(c, choice));
  }
  plan.ops = order(withoutStaleOpenings(await withMoves(emitted.filter((o) => !o.cancelled))));
  return plan;

  /**
   * Deletions and creations that are moves (core/twoway-moves.ts), confirmed by hashing where
   * needed, become renames; paths moved on both sides differently are named as conflicts.
   */
  async function withMoves(live: TwoWayOp[]): Promise<TwoWayOp[]> {
    if (firstRun) return live;
    const troubled = [...plan.problems.map((p) => p.path), ...leftOut];
    const found = moveCandidates(live, troubled, pass.dirMoves);
    await inBatches(found, async (c) => {
      const want = hashesWanted(c);
      if (want.here) await hashQuietly(other(c.side), c.to, c.here);
      if (want.there) await hashQuietly(c.side, c.from, c.there);
    });
    const moved = applyMoves(live, found.filter(confirmed), rOpts);
    plan.dirMoves = moved.dirs;
    plan.laterDeletes = moved.laterDeletes;
    const both = movedOnBoth(moved.ops, plan.records);
    await inBatches(both, async (m) => {
      if (m.conflict.a.kind !== 'file') return;
      await hashQuietly('A', m.toB.path, m.conflict.a);
      await hashQuietly('B', m.toA.path, m.conflict.b);
    });
    for (const m of both)
      if (confirmedBoth(m)) plan.conflicts.push({ conflict: m.conflict, choice: 'both' });
    return moved.ops;
  }

  /** Hashes an entry for a move's confirmation; a file that cannot be read is no move. */
  async function hashQuietly(side: Side, path: RelPath, e: Entry): Promise<void> {
    if (e.hash !== undefined) return;
    try {
      e.hash = await ends[side].hash(path, e);
      plan.hashed++;
    } catch {
      // Left unhashed: unconfirmed, so planned as a copy, which reports its own trouble.
    }
  }

  /**
   * The packed listings of a directory found quiet by the last run and unchanged since on both
   * sides (same digests): nothing to decide there. Only for directories both sides have, read
   * whole, with nothing filtered out.
   */
  function quietDir(
    dir: RelPath,
    pa: AnyListing | undefined,
    pb: AnyListing | undefined,
    visit: Visit,
  ): { a: PackedEntries; b: PackedEntries } | undefined {
    if (!pa || !pb || !('packed' in pa) || !('packed' in pb)) return undefined;
    if (!pa.complete || !pb.complete || pa.problems.length + pb.problems.length > 0)
      return undefined;
    if (visit.descend.clearing || !visit.ctx.A.present || !visit.ctx.B.present) return undefined;
    if (pa.packed.names !== pb.packed.names) return undefined;
    const stored = opts.ancestors.digests(dir);
    if (!stored) return undefined;
    if (stored.a !== listingDigest(pa.packed) || stored.b !== listingDigest(pb.packed))
      return undefined;
    if (!keepsAll(filter, dir, pa.packed)) return undefined;
    return { a: pa.packed, b: pb.packed };
  }

  function hasRacy(...lists: (Listing | undefined)[]): boolean {
    const racy = racyNow(deps);
    return lists.some((l) => l?.entries.some(racy));
  }

  /** Remembers the digests of a directory decided quiet, unless an entry is racy. */
  function noteQuiet(dir: RelPath, x: PackedEntries, y: PackedEntries, all: Entry[]): void {
    if (all.some(racyNow(deps))) return;
    plan.quietDirs.push({ dir, a: listingDigest(x), b: listingDigest(y) });
  }

  /**
   * A directory closed to its owner on `side` (core/closed-dir.ts) is opened before entries
   * inside it are created, deleted or renamed there, and given its mode back once they are
   * (DirTimes, children first: before any mode change its parent plans for it). Openings run
   * first of all (order(): a rename into another directory, planned where the new name is, or
   * a Clear deletion, may come before this directory's own operations), parents first.
   * The ancestor records nothing: the mode it ends with is the one it had, or the one its
   * parent's decision gives it; the mode to give back is kept (opened_dirs) until the run
   * ends, for the next run to close it if this one never does (closeLeftOpen). Its entry comes
   * from its parent's listing: a directory the plan makes, or where a file stands, has none,
   * and nothing to open.
   */
  async function openToOwner(side: Side, path: RelPath, ctx: DirCtx): Promise<void> {
    const self = ctx.present ? ctx.self?.() : undefined;
    if (!self || !closedToOwner(self)) return;
    const set = (source: Entry, phase: Phase): TwoWayOp => ({
      side,
      op: 'set-meta',
      path,
      source,
      pre: ANY_DIR,
      reason: 'dir-times',
      phase,
      why: `closed to its owner on ${side}: opened while entries inside change`,
    });
    const opening: TwoWayOp = { ...set(openedToOwner(self), Phase.Clear), closedMode: self.mode };
    const closing = set(self, Phase.DirTimes);
    openings.add(opening);
    openings.add(closing);
    if (streaming && stream) await stream(opening);
    else emitted.push(opening);
    emitted.push(closing);
  }

  /**
   * The openings and closings of directories that this plan renames away (a closing would
   * find the old path gone, or another directory there) and the closings of those it deletes
   * (gone by DirTimes): dropped. A deleted directory is still opened: its entries go first.
   */
  function withoutStaleOpenings(ops: TwoWayOp[]): TwoWayOp[] {
    if (openings.size === 0) return ops;
    const moved = { A: new Set<RelPath>(), B: new Set<RelPath>() };
    const deleted = { A: new Set<RelPath>(), B: new Set<RelPath>() };
    for (const o of ops) {
      if (o.op === 'move' && o.from !== undefined && o.source?.kind === 'dir')
        moved[o.side].add(o.from);
      const pre = o.pre;
      if (
        o.op === 'delete' &&
        (pre.type === 'dir' || (pre.type === 'same' && pre.entry.kind === 'dir'))
      )
        deleted[o.side].add(o.path);
    }
    const under = (set: Set<RelPath>, path: RelPath) => {
      for (let p = path; ; p = parent(p)) {
        if (set.has(p)) return true;
        if (p === '') return false;
      }
    };
    return ops.filter(
      (o) =>
        !openings.has(o) ||
        !(
          under(moved[o.side], o.path) ||
          (o.phase === Phase.DirTimes && under(deleted[o.side], o.path))
        ),
    );
  }

  /** Makes directory `ctx` exist again on its side, so something can be written into it (S10). */
  function resurrect(ctx: DirCtx): void {
    if (ctx.present) return;
    if (ctx.parent) resurrect(ctx.parent);
    ctx.present = true;
    for (const o of ctx.cancel ?? []) o.cancelled = true;
    const name = basename(ctx.path);
    const why = `changed on ${other(ctx.side)} inside a directory deleted on ${ctx.side}: kept`;
    if (ctx.occupant) {
      // The file that replaced the directory on this side becomes a conflict copy.
      const occ = ctx.occupant;
      const aside = conflictName(name, ctx.side, occ.mtimeNs, ctx.taken ?? new Set());
      emitted.push(...keepAside(parent(ctx.path), name, aside, ctx.side, occ));
      inline.push({
        dir: parent(ctx.path),
        name,
        path: ctx.path,
        a: ctx.side === 'A' ? occ : (ctx.model as Entry),
        b: ctx.side === 'B' ? occ : (ctx.model as Entry),
        base: undefined,
        changeA: ctx.side === 'A' ? 'kind' : 'none',
        changeB: ctx.side === 'B' ? 'kind' : 'none',
        taken: ctx.taken ?? new Set(),
      });
    }
    const model = ctx.model as Entry;
    emitted.push(
      {
        side: ctx.side,
        op: 'mkdir',
        path: ctx.path,
        source: model,
        pre: ABSENT,
        reason: 'new',
        phase: Phase.Write,
        why,
      },
      {
        side: ctx.side,
        op: 'set-meta',
        path: ctx.path,
        source: model,
        pre: ANY_DIR,
        reason: 'dir-times',
        phase: Phase.DirTimes,
        record: { type: 'put', path: ctx.path, base: baseOf(model, undefined, undefined) },
        why,
      },
    );
  }

  async function hashNames(
    ep: Endpoint,
    dir: RelPath,
    list: Entry[],
    names: string[],
    side: Side,
  ): Promise<number> {
    const wanted = new Set(names);
    let n = 0;
    const hashFile = (p: RelPath, x: Entry) => ep.hash(p, x);
    const todo = list.filter(
      (e) => wanted.has(e.name) && e.kind === 'file' && e.hash === undefined,
    );
    await inBatches(
      todo,
      (e) =>
        hashOrReport(e, join(dir, e.name), hashFile, plan.problems, side).then((ok) => {
          if (ok) n++;
        }),
      HASH_BATCH,
    );
    return n;
  }
}

/**
 * Execution order: phase by phase; writes parent-first, deletions and times children-first.
 * The openings of closed directories (`closedMode`) come first of all, parents first, so that
 * every rename and deletion finds its directory open.
 */
function order(ops: TwoWayOp[]): TwoWayOp[] {
  const by: TwoWayOp[][] = [[], [], [], []];
  for (const o of ops) (by[o.phase] as TwoWayOp[]).push(o);
  const [clear, write, del, times] = by as [TwoWayOp[], TwoWayOp[], TwoWayOp[], TwoWayOp[]];
  const openings = clear.filter((o) => o.closedMode !== undefined);
  // A move aside (Clear) must run before the deletions that clear its directory's siblings,
  // and in any order among themselves: keep them first, in emission order.
  const moves = clear.filter((o) => o.op === 'move');
  const clears = clear.filter((o) => o.op !== 'move' && o.closedMode === undefined).reverse();
  return [...openings, ...moves, ...clears, ...write, ...del.reverse(), ...times.reverse()];
}

/**
 * Deletions per side that the mass-delete guard counts (S20): moves are not deletions (S24),
 * but what the second look at a moved directory will delete below it is.
 */
function deletionsBySide(plan: TwoWayPlan): { A: number; B: number } {
  const n = { ...plan.laterDeletes };
  for (const o of plan.ops) if (o.op === 'delete') n[o.side]++;
  return n;
}

/** Remembers the modes of the folders `ops` open, before they are opened (S15). */
function noteOpenings(store: AncestorStore, ops: readonly TwoWayOp[]): void {
  const opened: { side: Side; path: RelPath; mode: number }[] = [];
  for (const o of ops)
    if (o.closedMode !== undefined) opened.push({ side: o.side, path: o.path, mode: o.closedMode });
  store.noteOpened(opened);
}

/**
 * Folders a crashed or interrupted run opened and never closed get their modes back before
 * anything is scanned: left open, the scan would find their mode changed on that side and
 * carry it to the other. Only a folder still as the run left it (its mode the opened one) is
 * closed; deepest first, as a closed parent may deny the way to its children.
 */
async function closeLeftOpen(store: AncestorStore, ends: { A: Endpoint; B: Endpoint }) {
  const left = store.opened();
  if (left.length === 0) return;
  left.sort((x, y) => y.path.length - x.path.length);
  for (const d of left) {
    const ep = ends[d.side];
    const e = await ep.stat(d.path).catch(() => undefined);
    if (!leftOpened(e, d.mode)) continue;
    await ep.setMeta(d.path, 'dir', { mode: d.mode, mtimeNs: e.mtimeNs }, ANY_DIR).catch(() => {});
  }
  store.clearOpened();
}

/** Passes of one run: the first, and the looks at directories moved by the one before. */
const MAX_PASSES = 4;

/** Scan, plan, check the guard rails, apply on both sides, record the ancestor (S15). */
export async function runTwoWay(
  a: Endpoint,
  b: Endpoint,
  options: TwoWayOptions,
  deps: Deps,
): Promise<TwoWayResult> {
  const { opts, stop } = stoppable(options);
  const started = deps.now();
  const aborted = () => opts.signal?.aborted ?? false;
  const store = opts.ancestors;
  const ends = { A: a, B: b };
  /** Directories renamed by this pass, whose subtrees the next pass reconciles again. */
  const movedDirs: RelPath[] = [];
  /**
   * Hashes of the bytes copies wrote, taken on the way: the ancestor keeps them, so a later
   * change of the copy's ctime or inode alone (a rename away and back, a restore from a
   * backup) is found to be no change of content, and does not beat a deletion on the other side.
   */
  const copiedHashes = new WeakMap<Operation, string>();
  const record = async (op: Operation & Partial<TwoWayOp>) => {
    const r = op.record;
    if (!r || !op.side) return;
    if (r.type === 'drop') {
      store.drop(r.path);
      return;
    }
    if (r.type === 'move') {
      // The rename is done: the ancestor of `from` (and below) now describes `path`.
      store.move(r.from, r.path);
      if (r.base) {
        const fresh = await stamped(r.base, r.path, op.side, ends);
        if (fresh) store.put(r.path, fresh, false);
      } else if (op.source?.kind === 'dir') movedDirs.push(r.path);
      return;
    }
    const fresh = await stamped(r.base, r.path, op.side, ends);
    const copied = copiedHashes.get(op);
    if (fresh && copied !== undefined && fresh.kind === 'file') fresh.hash ??= copied;
    // Only a write over a directory leaves ancestor rows below the path.
    const pre = op.pre;
    const overDir =
      op.reason === 'kind-changed' || (pre.type === 'same' && pre.entry.kind === 'dir');
    if (fresh) store.put(r.path, fresh, overDir);
  };
  const { ignoreModes } = await reconcileOptions(a, b, opts);
  // The executor names its source A and its target B: toA's are the other way round.
  const flip = (p: Problem): Problem =>
    p.side === undefined ? p : { ...p, side: p.side === 'A' ? 'B' : 'A' };
  const exec = (from: Endpoint, to: Endpoint, flipped: boolean) =>
    new Executor(
      from,
      to,
      {
        concurrency: opts.concurrency,
        signal: opts.signal,
        now: deps.now,
        keepDone: false,
        onDone: record,
        onHash: (op, hash) => copiedHashes.set(op, hash),
        ignoreModes,
        onStop: stop,
      },
      flipped
        ? (e) => deps.emit(e.type === 'problem' ? { ...e, problem: flip(e.problem) } : e)
        : deps.emit,
      deps.jobId,
    );
  const toA = exec(b, a, true);
  const toB = exec(a, b, false);
  let applying = false;
  // A first sync deletes nothing (S13), so no guard rail can refuse it: its copies start while
  // the scan goes on, and are not kept in memory (a 50,000-file first sync peaked at 230 MB).
  const stream = async (op: TwoWayOp) => {
    if (!applying) {
      applying = true;
      deps.emit({ type: 'phase', jobId: deps.jobId, phase: 'apply' });
    }
    if (op.closedMode !== undefined) noteOpenings(store, [op]);
    await (op.side === 'A' ? toA : toB).add(op);
  };
  if (!opts.dryRun) await closeLeftOpen(store, ends);
  const plan = await planTwoWay(a, b, opts, deps, opts.dryRun ? undefined : stream);
  /**
   * A crashed run's temporary files never held a version of anything (S14): they go, after
   * the closed directories that hold them were opened (Clear phase, or streamed; as non-root,
   * unlinking in a 0555 directory fails) and before DirTimes closes them again.
   */
  const discardLeftovers = async (p: TwoWayPlan): Promise<void> => {
    for (const path of p.leftovers.A) await a.discard(path).catch(() => {});
    for (const path of p.leftovers.B) await b.discard(path).catch(() => {});
  };
  /** Records what a pass found by scanning alone, then applies its operations, phase by phase. */
  const applyPass = async (p: TwoWayPlan) => {
    // Facts found by the scan alone (equal on both sides, deleted on both) hold already.
    for (const r of p.records) {
      if (r.type === 'drop') store.drop(r.path);
      else if (r.type === 'put') {
        const fresh =
          r.base.kind === 'dir' ? r.base : await stamped(r.base, r.path, undefined, ends);
        if (fresh) store.put(r.path, fresh);
      }
    }
    await Promise.all([toA.drain(), toB.drain()]);
    noteOpenings(store, p.ops);
    let phase = p.ops[0]?.phase;
    let discarded = false;
    for (const op of p.ops) {
      if (aborted()) break;
      if (op.phase !== phase) {
        await Promise.all([toA.drain(), toB.drain()]);
        if (!discarded && op.phase === Phase.DirTimes) {
          await discardLeftovers(p);
          discarded = true;
        }
        phase = op.phase;
      }
      await (op.side === 'A' ? toA : toB).add(op);
    }
    await Promise.all([toA.drain(), toB.drain()]);
    if (!discarded && !aborted()) await discardLeftovers(p);
    // Quiet directories are settled by digest next time; an interrupted run proves nothing.
    if (!aborted()) for (const q of p.quietDirs) store.putDigests(q.dir, q.a, q.b);
  };
  checkMassDelete(plan, opts, a, b);
  for (const p of plan.problems) deps.emit({ type: 'problem', jobId: deps.jobId, problem: p });
  let counts: PlanCounts = noCounts();
  let bytes = 0;
  const problems = [...plan.problems];
  if (!opts.dryRun && !aborted()) {
    if (!applying) deps.emit({ type: 'phase', jobId: deps.jobId, phase: 'apply' });
    await applyPass(plan);
    // What the first pass saw below moved directories is the next pass's to look at: the old
    // names are gone, and the new ones are walked again right away.
    for (const d of plan.changedDirs)
      if (plan.dirMoves.some((m) => isWithin(d, m.from) || isWithin(d, m.to)))
        plan.changedDirs.delete(d);
    // A moved directory was renamed whole, as the ancestor knew it; what changed inside it
    // since (on the moving side, or on either during the run) is decided now, against the
    // ancestor re-keyed to its new name: the outcome of a deletion plus a creation (S24).
    for (let n = 2; movedDirs.length > 0 && n <= MAX_PASSES && !aborted(); n++) {
      await Promise.all([a.endWalk?.(), b.endWalk?.()]);
      const starts = movedDirs.splice(0);
      const next = await planTwoWay(a, b, opts, deps, undefined, {
        starts,
        dirMoves: n < MAX_PASSES,
      });
      for (const p of next.problems) deps.emit({ type: 'problem', jobId: deps.jobId, problem: p });
      await applyPass(next);
      problems.push(...next.problems);
      plan.ops.push(...next.ops);
      plan.conflicts.push(...next.conflicts);
      plan.hashed += next.hashed;
      for (const d of next.changedDirs) plan.changedDirs.add(d);
    }
    store.flush();
    // Every folder the run opened was closed again in its DirTimes phase.
    if (!aborted()) store.clearOpened();
    if (!aborted()) await settle(plan, a, b, opts, deps);
  }
  if (!opts.dryRun) {
    // Also when the run stopped early: what the streamed copies did, and why it stopped.
    await Promise.all([toA.drain(), toB.drain()]);
    counts = sumCounts(toA.result.counts, toB.result.counts);
    bytes = toA.result.bytesCopied + toB.result.bytesCopied;
    problems.push(...toA.result.problems.map(flip), ...toB.result.problems);
  } else {
    for (const op of plan.ops) countOp(counts, op);
    bytes = counts.bytesToCopy;
  }
  deps.emit({ type: 'phase', jobId: deps.jobId, phase: 'done' });
  const skipped = plan.conflicts.filter((c) => c.choice === 'skip');
  for (const { conflict: c } of skipped)
    problems.push(
      problem(c.path, 'conflict-skipped', 'conflict left unresolved: both sides changed it', {
        hint: 'both versions are untouched; run again to decide',
      }),
    );
  return {
    plan,
    summary: {
      type: 'summary',
      jobId: deps.jobId,
      mode: 'two-way',
      dryRun: opts.dryRun,
      created: counts.created,
      updated: counts.updated,
      deleted: counts.deleted,
      moved: counts.moved,
      metadataUpdated: counts.metadataUpdated,
      conflicts: plan.conflicts.length - skipped.length,
      skipped: problems.length,
      bytesCopied: bytes,
      durationMs: deps.now() - started,
      hashed: plan.hashed,
      hashReused: 0,
      problems,
    },
  };
}

/** The racy test against this moment (core/hash-reuse.ts says why by mtime). */
function racyNow(deps: Deps): (e: Entry) => boolean {
  const nowNs = BigInt(deps.now()) * 1_000_000n;
  return (e) => isRacyListed(e, nowNs);
}

/** Compare options of a run: mtimes equal within --modify-window and both roots' precision. */
async function reconcileOptions(a: Endpoint, b: Endpoint, opts: TwoWayOptions) {
  const [ca, cb] = await Promise.all([a.capabilities(), b.capabilities()]);
  let tolerance = opts.modifyWindowNs;
  for (const p of [ca.mtimePrecisionNs, cb.mtimePrecisionNs]) if (p > tolerance) tolerance = p;
  // Modes travel only between roots that both keep them: a FAT drive's fixed 0777 must never
  // reach the other root (it would make every file there world-writable).
  const ignoreModes = !ca.keepsModes || !cb.keepsModes;
  const caseInsensitive = ca.caseInsensitive || cb.caseInsensitive;
  return { mtimeToleranceNs: tolerance, checksum: opts.checksum, ignoreModes, caseInsensitive };
}

/**
 * Looks again at the directories this run changed, now that it is applied: those that are
 * quiet now (listings and ancestor agree, nothing racy) get their digests, so the next run
 * settles them by one point read instead of reading every row. Made for the run after a first
 * sync, which would otherwise read every row of the tree. Read from the disk, not the walkers.
 */
async function settle(
  plan: TwoWayPlan,
  a: Endpoint,
  b: Endpoint,
  opts: TwoWayOptions,
  deps: Deps,
): Promise<void> {
  if (plan.changedDirs.size === 0) return;
  await Promise.all([a.endWalk?.(), b.endWalk?.()]);
  const dirs = new Set(plan.changedDirs);
  // Directories this run made are new rows of their parents' ancestors: settle them too.
  for (const op of plan.ops) if (op.op === 'mkdir') dirs.add(op.path);
  const filter = makeFilter(opts.filter);
  const rOpts = await reconcileOptions(a, b, opts);
  const racy = racyNow(deps);
  const list = (ep: Endpoint, dir: RelPath): Promise<AnyListing> =>
    (ep.listPacked ? ep.listPacked(dir) : ep.list(dir)).catch(() => ({
      entries: [],
      problems: [],
      complete: false,
    }));
  for (const dir of dirs) {
    if (opts.signal?.aborted) return;
    const [pa, pb] = await Promise.all([list(a, dir), list(b, dir)]);
    if (!('packed' in pa) || !('packed' in pb) || !pa.complete || !pb.complete) continue;
    if (pa.problems.length + pb.problems.length > 0 || pa.packed.names !== pb.packed.names)
      continue;
    if (!keepsAll(filter, dir, pa.packed)) continue;
    const ea = unpackEntries(pa.packed);
    const eb = unpackEntries(pb.packed);
    if (ea.some(racy) || eb.some(racy)) continue;
    const d = reconcileDir({
      dir,
      base: opts.ancestors.dir(dir),
      a: ea,
      b: eb,
      protectedNames: new Set(),
      opts: rOpts,
    });
    const busy = d.ops.length + d.records.length + d.conflicts.length;
    if (busy + d.needsHash.A.length + d.needsHash.B.length > 0) continue;
    opts.ancestors.putDigests(dir, listingDigest(pa.packed), listingDigest(pb.packed));
  }
  opts.ancestors.flush();
}

/**
 * The ancestor row with fresh stamps: the side an operation wrote is read again (its inode or
 * ctime changed), and any side the row has no stamp for. Undefined when a side no longer
 * holds what the row says (changed right after): then nothing is recorded, and the next run
 * looks at the path again.
 */
async function stamped(
  base: Base,
  path: RelPath,
  wrote: Side | undefined,
  ends: { A: Endpoint; B: Endpoint },
): Promise<Base | undefined> {
  // Object.assign, not { ...base }: V8 (Node 20) gives every object a spread makes a hidden
  // class of its own, and this runs once per file a run writes or finds equal.
  const out: Base = Object.assign({}, base);
  if (base.kind === 'dir') {
    // Only the inode counts for a directory (its ctime moves with every write inside): it is
    // what finds the directory again once it is renamed (core/twoway-moves.ts).
    for (const side of ['A', 'B'] as const) {
      const key = side === 'A' ? 'stampA' : 'stampB';
      if (side !== wrote && out[key]) continue;
      const e = await ends[side].stat(path);
      if (e?.kind === 'dir') out[key] = { ino: e.ino, ctimeNs: e.ctimeNs };
    }
    return out;
  }
  for (const side of ['A', 'B'] as const) {
    const key = side === 'A' ? 'stampA' : 'stampB';
    if (side !== wrote && out[key]) continue;
    const ep = ends[side];
    const e = ep.statQuick ? ep.statQuick(path) : await ep.stat(path);
    if (!e || e.kind !== base.kind || e.size !== base.size) return undefined;
    out[key] = { ino: e.ino, ctimeNs: e.ctimeNs };
  }
  return out;
}

function checkMassDelete(plan: TwoWayPlan, opts: TwoWayOptions, a: Endpoint, b: Endpoint) {
  const del = deletionsBySide(plan);
  if (opts.maxDelete !== undefined) {
    const total = del.A + del.B;
    if (total > opts.maxDelete)
      throw new ConcordError(
        'guard',
        `the run would delete ${total} ${total === 1 ? 'entry' : 'entries'}, more than --max-delete ${opts.maxDelete}`,
        {
          path: `${a.uri} <-> ${b.uri}`,
          hint: 'nothing was changed; check the roots, or raise --max-delete',
        },
      );
    return;
  }
  if (opts.force) return;
  for (const side of ['A', 'B'] as const) {
    const files = plan.files[side];
    const n = del[side];
    if (files > 10 && n > files / 2) {
      throw new ConcordError(
        'guard',
        `the run would delete ${n} of the ${files} files on ${side}, more than half`,
        {
          path: (side === 'A' ? a : b).uri,
          hint: 'nothing was changed; if the deletions on the other side are meant, run again with --force (or --max-delete N)',
        },
      );
    }
  }
}

function sumCounts(x: PlanCounts, y: PlanCounts): PlanCounts {
  return {
    created: x.created + y.created,
    updated: x.updated + y.updated,
    deleted: x.deleted + y.deleted,
    metadataUpdated: x.metadataUpdated + y.metadataUpdated,
    moved: x.moved + y.moved,
    bytesToCopy: x.bytesToCopy + y.bytesToCopy,
  };
}
