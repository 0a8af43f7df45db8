import { type Entry, sameMode, sameMtime } from './entry.ts';
import { basename, isWithin, parent, type RelPath } from './path.ts';
import { Phase, same } from './plan.ts';
import {
  type Base,
  baseOf,
  type Conflict,
  other,
  type ReconcileOptions,
  type Record,
  type Side,
  type TwoWayOp,
} from './reconcile.ts';

/**
 * Moves in two-way runs (issue 5): the side that moved a path still has the inode the ancestor
 * recorded for it. A move found here replaces "delete `from` + create `to`" on the other side
 * by one rename there, and only where that gives the same final state (S24):
 * - the other side's copy of `from` is unchanged since the last sync (its deletion was planned
 *   as a plain propagation; for a directory, so was everything below it), so renaming it
 *   moves exactly the ancestor's version, which the moving side held at `from`;
 * - `to` is new on the moving side and absent on the other (its creation was planned);
 * - a file's content is confirmed by size and hash (inode numbers are reused); a symlink's by
 *   its target; a directory's content is not confirmed at all: the engine reconciles the
 *   moved subtree once more against the re-keyed ancestor, which turns the ancestor's version
 *   (now at `to` on the other side) into the moving side's, as a creation would have.
 * Everything else stays as planned: never a loss, at worst a copy.
 */
export interface MoveCandidate {
  /** Where the rename is done: the side that still has `from`. */
  side: Side;
  from: RelPath;
  to: RelPath;
  /** The ancestor row of `from`. */
  base: Base;
  /** `from` on `side`, unchanged since the last sync. */
  there: Entry;
  /** `to` on the moving side. */
  here: Entry;
  del: TwoWayOp;
  make: TwoWayOp;
}

const stampOn = (b: Base, s: Side) => (s === 'A' ? b.stampA : b.stampB);

/**
 * Pairs each planned deletion of an unchanged copy with a planned creation whose entry on the
 * moving side has the inode the ancestor recorded there. One move per deletion and per
 * creation (a hard link's second name stays a copy). Directories must be moved whole: every
 * operation at or below `from` a plain deletion on `side`, none below `to` on the moving
 * side, and no problem reported below either (`troubled`). A move nested in a directory move
 * is left out: the second look at the moved directory finds it, or it stays a copy.
 */
export function moveCandidates(
  ops: readonly TwoWayOp[],
  troubled: readonly RelPath[],
  /** Whether directories may move whole (else what is below them is paired on its own). */
  dirMoves = true,
): MoveCandidate[] {
  const byIno = new Map<string, TwoWayOp>();
  for (const o of ops) {
    if (o.op !== 'delete' || !o.gone) continue;
    const s = stampOn(o.gone.base, other(o.side));
    if (!s || o.gone.entry.kind !== o.gone.base.kind) continue;
    const key = `${o.side}:${s.ino}`;
    if (!byIno.has(key)) byIno.set(key, o);
  }
  if (byIno.size === 0) return [];
  const found: MoveCandidate[] = [];
  for (const make of ops) {
    if (!make.created || !make.source || (make.op !== 'copy' && make.op !== 'mkdir')) continue;
    const key = `${make.side}:${make.source.ino}`;
    const del = byIno.get(key);
    if (!del?.gone) continue;
    const { base, entry: there } = del.gone;
    const here = make.source;
    if (here.kind !== base.kind) continue;
    if (here.kind === 'file' && here.size !== base.size) continue;
    if (here.kind === 'symlink' && (here.target !== base.target || there.target !== base.target))
      continue;
    byIno.delete(key);
    found.push({ side: make.side, from: del.path, to: make.path, base, there, here, del, make });
  }
  // Outermost directories first: a directory moved inside a moved one goes with it.
  const depth = (p: RelPath) => p.split('/').length;
  const dirCands = found
    .filter((c) => c.here.kind === 'dir')
    .sort((x, y) => depth(x.to) - depth(y.to));
  const froms = new Set<RelPath>();
  const tos = new Set<RelPath>();
  const inMoved = (c: MoveCandidate) => below(c.from, froms) || below(c.to, tos);
  const index = pathIndex(ops);
  // A directory renamed into a parent this run makes or replaces on that side moves entry by
  // entry instead. Why: the second look at a moved directory may trash entries below it, and
  // their places in the trash pass through what the run trashed at the parent's path. The
  // property soak found a symlink to itself there (ELOOP); the endpoint now refuses such a
  // trash place (local.ts checkTrashParents), which would leave the run unfinished (exit 3).
  const remade = new Set<string>();
  for (const o of ops)
    if (o.op === 'mkdir' || o.op === 'delete' || o.reason === 'kind-changed')
      remade.add(`${o.side}:${o.path}`);
  const underRemade = (c: MoveCandidate) => {
    for (let q = parent(c.to); q !== ''; q = parent(q))
      if (remade.has(`${c.side}:${q}`)) return true;
    return false;
  };
  const dirAllowed = (c: MoveCandidate) => dirMoves && !underRemade(c);
  const dirs = new Set<MoveCandidate>();
  for (const c of dirCands) {
    if (inMoved(c) || !dirAllowed(c) || !wholeDir(c, index, troubled)) continue;
    dirs.add(c);
    froms.add(c.from);
    tos.add(c.to);
  }
  return found.filter((c) => (c.here.kind === 'dir' ? dirs.has(c) : !inMoved(c)));
}

/** Whether a proper ancestor directory of `p` is in `dirs`. */
function below(p: RelPath, dirs: ReadonlySet<RelPath>): boolean {
  if (dirs.size === 0) return false;
  for (let q = parent(p); q !== ''; q = parent(q)) if (dirs.has(q)) return true;
  return false;
}

/** The operations sorted by path, so that a subtree's are one range (`${dir}/` to `${dir}0`). */
function pathIndex(ops: readonly TwoWayOp[]): (dir: RelPath) => TwoWayOp[] {
  const sorted = [...ops].sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
  const lower = (key: string) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] as TwoWayOp).path < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return (dir) => {
    const out: TwoWayOp[] = [];
    for (let i = lower(dir); i < sorted.length && (sorted[i] as TwoWayOp).path === dir; i++)
      out.push(sorted[i] as TwoWayOp);
    return out.concat(sorted.slice(lower(`${dir}/`), lower(`${dir}0`)));
  };
}

function wholeDir(
  c: MoveCandidate,
  within: (dir: RelPath) => TwoWayOp[],
  troubled: readonly RelPath[],
) {
  if (troubled.some((p) => isWithin(p, c.from) || isWithin(p, c.to))) return false;
  // Inode numbers of what was below `from` on the moving side, by path relative to it.
  const inos = new Map<string, bigint>();
  for (const o of within(c.from)) {
    if (o.side !== c.side || o.op !== 'delete' || o.reason !== 'deleted') return false;
    // Only deletions of copies unchanged since the last sync (`gone`): a directory whose mode
    // changed on this side loses to the deletion, but a rename would carry the new mode to
    // `to`, not the final state of a deletion plus a creation (S24).
    if (!o.gone) return false;
    const s = o.gone && stampOn(o.gone.base, other(c.side));
    if (o.path !== c.from && s) inos.set(o.path.slice(c.from.length), s.ino);
  }
  const made = within(c.to);
  if (made.some((o) => o.side !== c.side)) return false;
  if (inos.size === 0) return true;
  // A directory's inode reused by an unrelated one would rename the other side's copy only
  // for the second look to empty it: one entry below must have kept its inode and its place.
  return made.some(
    (o) =>
      o.created &&
      o.source &&
      o.path !== c.to &&
      inos.get(o.path.slice(c.to.length)) === o.source.ino,
  );
}

/** What a file candidate still needs hashed, per side, before it can be confirmed. */
export function hashesWanted(c: MoveCandidate): { here: boolean; there: boolean } {
  if (c.here.kind !== 'file') return { here: false, there: false };
  return { here: c.here.hash === undefined, there: c.base.hash === undefined };
}

/** Whether the content at `to` is the ancestor's version of `from` (see moveCandidates). */
export function confirmed(c: MoveCandidate): boolean {
  if (c.here.kind !== 'file') return true;
  const want = c.base.hash ?? c.there.hash;
  return want !== undefined && c.here.hash === want;
}

export interface MovedPlan {
  ops: TwoWayOp[];
  /** Directory moves: their subtrees are reconciled again once the moves are done. */
  dirs: MoveCandidate[];
  /**
   * Deletions per side that the second look at moved directories will plan (entries below
   * `from` without a namesake below `to`): counted by the mass-delete guard now (S20).
   */
  laterDeletes: { A: number; B: number };
}

/**
 * The plan with each confirmed move in place of its deletion and creation. The rename takes
 * the creation's place in the write phase, so a new parent is made before it; a directory's
 * operations below `from` and `to` go (the second look plans what is still needed), and its
 * times and mode are still set from the moving side, as for a created directory. A file whose
 * times or mode differ from the renamed copy's gets them set right after the rename.
 */
export function applyMoves(
  ops: readonly TwoWayOp[],
  moves: readonly MoveCandidate[],
  opts: Pick<ReconcileOptions, 'mtimeToleranceNs' | 'ignoreModes'>,
): MovedPlan {
  const out: MovedPlan = { ops: [], dirs: [], laterDeletes: { A: 0, B: 0 } };
  if (moves.length === 0) {
    out.ops = [...ops];
    return out;
  }
  const replaced = new Map<TwoWayOp, TwoWayOp[]>();
  const dropped = new Set<TwoWayOp>();
  const within = pathIndex(ops);
  for (const m of moves) {
    dropped.add(m.del);
    replaced.set(m.make, moveOps(m, opts));
    if (m.here.kind !== 'dir') continue;
    out.dirs.push(m);
    const madeBelow = new Set<string>();
    for (const o of within(m.to)) {
      if (o === m.make || o.side !== m.side || o.path === m.to) continue;
      madeBelow.add(o.path.slice(m.to.length));
      dropped.add(o);
    }
    for (const o of within(m.from)) {
      if (o === m.del || o.side !== m.side) continue;
      dropped.add(o);
      if (!madeBelow.has(o.path.slice(m.from.length))) out.laterDeletes[m.side]++;
    }
  }
  for (const o of ops) {
    const r = replaced.get(o);
    if (r) out.ops.push(...r);
    else if (!dropped.has(o)) out.ops.push(o);
  }
  return out;
}

function moveOps(
  m: MoveCandidate,
  opts: Pick<ReconcileOptions, 'mtimeToleranceNs' | 'ignoreModes'>,
): TwoWayOp[] {
  const mover = other(m.side);
  const why = `moved on ${mover} since the last sync`;
  const here = m.here;
  const isFile = here.kind !== 'dir';
  const metaSame =
    here.kind === 'symlink' ||
    (sameMode(here.mode, m.there.mode, opts) &&
      sameMtime(here.mtimeNs, m.there.mtimeNs, opts.mtimeToleranceNs));
  const rowAfter = baseOf(
    here,
    mover === 'A' ? here : undefined,
    mover === 'B' ? here : undefined,
    here.hash ?? m.base.hash,
  );
  const record: Record = {
    type: 'move',
    from: m.from,
    path: m.to,
    ...(isFile && metaSame ? { base: rowAfter } : {}),
  };
  const move: TwoWayOp = {
    side: m.side,
    op: 'move',
    path: m.to,
    from: m.from,
    source: here,
    pre: same(m.there),
    reason: 'moved',
    phase: Phase.Write,
    record,
    why,
  };
  if (!isFile || metaSame) return [move];
  // The renamed copy keeps its inode, size and mtime: the same precondition holds at `to`.
  const meta: TwoWayOp = {
    side: m.side,
    op: 'set-meta',
    path: m.to,
    source: here,
    pre: same({ ...m.there, name: basename(m.to) }),
    reason: 'metadata',
    phase: Phase.Write,
    record: { type: 'put', path: m.to, base: rowAfter },
    why: `${why}, its times or mode changed`,
  };
  return [move, meta];
}

/**
 * A path deleted on both sides whose ancestor inodes turn up at two new names, one per side:
 * moved on both sides differently. Both creations stay planned, so both names end on both
 * sides (keep-both, nothing lost); this only names the conflict. Files must agree in size
 * (and, once hashed, content: `confirmedBoth`).
 */
export interface BothMoved {
  conflict: Conflict;
  /** The creation of A's new name on B, and of B's new name on A. */
  toB: TwoWayOp;
  toA: TwoWayOp;
}

export function movedOnBoth(ops: readonly TwoWayOp[], records: readonly Record[]): BothMoved[] {
  const gone = new Map<string, { path: RelPath; base: Base }>();
  for (const r of records) {
    if (r.type !== 'drop' || !r.base) continue;
    for (const s of ['A', 'B'] as const) {
      const st = stampOn(r.base, s);
      if (st) gone.set(`${s}:${st.ino}`, { path: r.path, base: r.base });
    }
  }
  if (gone.size === 0) return [];
  const made = new Map<string, { A?: TwoWayOp; B?: TwoWayOp }>();
  for (const o of ops) {
    if (!o.created || !o.source) continue;
    const mover = other(o.side);
    const g = gone.get(`${mover}:${o.source.ino}`);
    if (!g || g.base.kind !== o.source.kind) continue;
    if (o.source.kind === 'file' && o.source.size !== g.base.size) continue;
    const slot = made.get(g.path) ?? {};
    slot[mover] ??= o;
    made.set(g.path, slot);
  }
  const out: BothMoved[] = [];
  for (const [path, { A, B }] of made) {
    if (!A?.source || !B?.source) continue;
    const base = gone.get(`A:${A.source.ino}`)?.base as Base;
    const name = basename(path);
    out.push({
      toB: A,
      toA: B,
      conflict: {
        dir: parent(path),
        name,
        path,
        a: A.source,
        b: B.source,
        base,
        changeA: 'deleted',
        changeB: 'deleted',
        taken: new Set(),
        moved: { a: A.path, b: B.path },
      },
    });
  }
  return out;
}

/** Both new names hold the ancestor's content (files: equal hashes, once known). */
export function confirmedBoth(m: BothMoved): boolean {
  const { a, b, base } = m.conflict;
  if (a.kind !== 'file') return a.kind !== 'symlink' || a.target === b.target;
  if (a.hash === undefined || a.hash !== b.hash) return false;
  return base?.hash === undefined || base.hash === a.hash;
}
