import { type Entry, sameMode, sameMtime } from './entry.ts';
import { compareNames, cutUtf8, join, NAME_MAX, type RelPath, utf8Length } from './path.ts';
import { ABSENT, ANY_DIR, type Operation, Phase, type Reason, same } from './plan.ts';

export type Side = 'A' | 'B';

export const other = (s: Side): Side => (s === 'A' ? 'B' : 'A');

/** What identifies a file's inode state on one side: a change of either means "look again". */
export interface Stamp {
  ino: bigint;
  ctimeNs: bigint;
}

/**
 * The ancestor of one path: what both sides held after the last sync that applied it (S15),
 * plus each side's stamp then, so a side's change is found by stat alone (S1: a ctime that
 * moved means the content may have changed, even with size and mtime restored).
 */
export interface Base {
  name: string;
  kind: Entry['kind'];
  size: number;
  mtimeNs: bigint;
  mode: number;
  target?: string | undefined;
  hash?: string | undefined;
  stampA?: Stamp | undefined;
  stampB?: Stamp | undefined;
}

/** How one side's entry differs from the ancestor. */
export type Change =
  | 'none' // the same (or absent, and absent before)
  | 'created' // no ancestor
  | 'deleted' // the ancestor had it, the side does not
  | 'content' // bytes (or a link's target) differ
  | 'meta' // mtime or mode only: the content is the ancestor's (S3: a touch is not a change)
  | 'kind' // file, directory and symlink swapped
  | 'unknown'; // same size, other stamp: only the content's hash can tell

export interface ReconcileOptions {
  /** Largest mtime difference still counted as equal. */
  mtimeToleranceNs: bigint;
  /** New files on both sides are compared by hash, not by size + mtime. */
  checksum: boolean;
  /** Permission bits are not compared: a root cannot keep them (Capabilities.keepsModes). */
  ignoreModes?: boolean | undefined;
  /** A root finds names in any case (Capabilities.caseInsensitive): see caseConflicts (S23). */
  caseInsensitive?: boolean | undefined;
}

/**
 * A record to write into the ancestor once the operation carrying it is done on both sides.
 * `drop` keeps the row it drops when both sides deleted the path (a move on both sides may
 * explain it); `move` re-keys the rows of `from` and below to `path`, then puts `base` if any.
 */
export type Record =
  | { type: 'put'; path: RelPath; base: Base }
  | { type: 'drop'; path: RelPath; base?: Base | undefined }
  | { type: 'move'; from: RelPath; path: RelPath; base?: Base | undefined };

/** An operation of a two-way plan: it acts on `side`, reading from the other side. */
export interface TwoWayOp extends Operation {
  side: Side;
  /** The ancestor update this operation completes (S15: written only after it succeeded). */
  record?: Record;
  /** Why, for `concord plan`: "modified on A since the last sync". */
  why: string;
  /** Set when a later decision made the operation unnecessary (a resurrected directory). */
  cancelled?: boolean;
  /**
   * A deletion propagated from the other side while this side's copy is unchanged: the
   * ancestor row and this side's entry, which a move found at the end of the scan may reuse.
   */
  gone?: { base: Base; entry: Entry } | undefined;
  /** A creation propagated from the other side (no ancestor): a move may stand for it. */
  created?: boolean | undefined;
  /**
   * The opening of a folder closed to its owner (core/closed-dir.ts): the mode it is given
   * back, remembered before it is opened in case the run never gets to close it.
   */
  closedMode?: number | undefined;
}

/** Both sides changed one path in different ways: a policy decides (core/conflict.ts). */
export interface Conflict {
  dir: RelPath;
  name: string;
  path: RelPath;
  a: Entry;
  b: Entry;
  base: Base | undefined;
  changeA: Change;
  changeB: Change;
  /** Every name of the directory on either side, and conflict names given out: never reused. */
  taken: Set<string>;
  /** Moved on both sides to different names (`path` is the old name): both names are kept. */
  moved?: { a: RelPath; b: RelPath } | undefined;
}

/**
 * A subdirectory to visit. `a`/`b`: list it on that side. When it is missing on one side
 * (`absentOn`) and something below has to be written there, the engine makes it again
 * ("resurrects" it: S10) and cancels `cancelOnResurrect`; `occupant` is the non-directory
 * that took its place on that side, which then becomes a conflict copy.
 */
export interface TwoWayDescend {
  name: string;
  a: boolean;
  b: boolean;
  /** Deletions inside go before writes: the directory is being replaced by a file. */
  clearing?: Side | undefined;
  absentOn?: Side | undefined;
  cancelOnResurrect?: TwoWayOp[] | undefined;
  occupant?: Entry | undefined;
  /** The directory entry to create from, when resurrected. */
  model?: Entry | undefined;
}

export interface TwoWayDir {
  ops: TwoWayOp[];
  conflicts: Conflict[];
  descend: TwoWayDescend[];
  /** Names whose content decides: hash them on that side and decide again. */
  needsHash: { A: string[]; B: string[] };
  /** Ancestor updates needing no operation (equal on both sides, deleted on both). */
  records: Record[];
  /** Sides on which an operation writes into this directory itself: it must exist there. */
  writesInto: Set<Side>;
}

export interface ReconcileInput {
  dir: RelPath;
  /** Ancestor rows of this directory, sorted by name (filtered like the listings). */
  base: readonly Base[];
  /** Children per side, sorted by name; undefined when the side lacks the directory. */
  a: readonly Entry[] | undefined;
  b: readonly Entry[] | undefined;
  /** Names that could not be read on a side: nothing is decided for them (S17). */
  protectedNames: ReadonlySet<string>;
  /** Deletions on this side clear the way for a file replacing this directory. */
  clearing?: Side | undefined;
  opts: ReconcileOptions;
}

/** A side's change against the ancestor, by stat, and by hash when the stat cannot tell. */
export function changeOf(
  x: Entry | undefined,
  o: Base | undefined,
  side: Side,
  opts: ReconcileOptions,
): Change {
  if (!x) return o ? 'deleted' : 'none';
  if (!o) return 'created';
  if (x.kind !== o.kind) return 'kind';
  switch (x.kind) {
    case 'dir':
      // A directory's mtime moves with every write inside it: only its mode is its own.
      return sameMode(x.mode, o.mode, opts) ? 'none' : 'meta';
    case 'symlink':
      return x.target === o.target ? 'none' : 'content';
    case 'file': {
      if (x.size !== o.size) return 'content';
      const stamp = side === 'A' ? o.stampA : o.stampB;
      const metaSame =
        sameMode(x.mode, o.mode, opts) && sameMtime(x.mtimeNs, o.mtimeNs, opts.mtimeToleranceNs);
      // S1: tools restore mtimes (tar, cp -p, rsync -t), but no tool can restore a ctime, and
      // a rewrite in place keeps the inode: size, mtime, inode and ctime unchanged means the
      // bytes are the ones the last sync saw. Anything else is settled by content.
      if (metaSame && stamp && stamp.ino === x.ino && stamp.ctimeNs === x.ctimeNs) return 'none';
      if (x.hash !== undefined && o.hash !== undefined) {
        if (x.hash !== o.hash) return 'content';
        return metaSame ? 'none' : 'meta';
      }
      return 'unknown';
    }
  }
}

/**
 * Decides one directory of a two-way sync against its ancestor (DESIGN.md, "Two-way
 * reconciliation"). Laws: a path changed on neither side is left alone (S4); a path changed
 * on one side gets that side's state on both (S5); equal sides are not a conflict (S8); a
 * modification beats a deletion (S9), also below a deleted directory (S10, with the engine);
 * both sides changed differently is a conflict for the policy (S6); with no ancestor nothing
 * is deleted (S13). Swapping A and B swaps the plan (S11).
 */
export function reconcileDir(input: ReconcileInput): TwoWayDir {
  const { dir, opts, protectedNames } = input;
  const a = input.a ?? [];
  const b = input.b ?? [];
  const base = input.base;
  const out: TwoWayDir = {
    ops: [],
    conflicts: [],
    descend: [],
    needsHash: { A: [], B: [] },
    records: [],
    writesInto: new Set(),
  };
  const taken = new Set<string>();
  for (const list of [a, b, base]) for (const e of list) taken.add(e.name);

  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length || j < b.length || k < base.length) {
    // The smallest name among the three heads.
    let name: string | undefined;
    for (const e of [a[i], b[j], base[k]])
      if (e && (name === undefined || compareNames(e.name, name) < 0)) name = e.name;
    if (name === undefined) break;
    const x = a[i]?.name === name ? a[i++] : undefined;
    const y = b[j]?.name === name ? b[j++] : undefined;
    const o = base[k]?.name === name ? base[k++] : undefined;
    if (protectedNames.has(name)) continue;
    decide(name, x, y, o);
  }
  return out;

  function decide(name: string, x: Entry | undefined, y: Entry | undefined, o: Base | undefined) {
    const path = join(dir, name);
    let ca = changeOf(x, o, 'A', opts);
    let cb = changeOf(y, o, 'B', opts);
    if (ca === 'unknown' || cb === 'unknown') {
      const settled = settleUnknown(name, x, y, o, ca, cb);
      if (!settled) return;
      [ca, cb] = settled;
    }
    const quiet = (c: Change) => c === 'none';
    if (quiet(ca) && quiet(cb)) {
      if (x?.kind === 'dir' && y?.kind === 'dir') out.descend.push({ name, a: true, b: true });
      // Stamps that moved with unchanged content: keep them, so the next run does not hash.
      if (x && y && o && x.kind === 'file' && (stale(x, o.stampA) || stale(y, o.stampB)))
        out.records.push({ type: 'put', path, base: baseOf(x, x, y, o.hash ?? x.hash) });
      return;
    }
    if (quiet(cb)) return propagate('A', path, name, x, y, ca, undefined, o);
    if (quiet(ca)) return propagate('B', path, name, y, x, cb, undefined, o);

    // Both sides changed.
    if (!x && !y) {
      out.records.push({ type: 'drop', path, base: o });
      return;
    }
    if (x?.kind === 'dir' && y?.kind === 'dir') {
      out.descend.push({ name, a: true, b: true });
      if (sameMode(x.mode, y.mode, opts))
        out.records.push({ type: 'put', path, base: baseOf(x, x, y) });
      else metaToOlder(path, x, y, o, 'mode changed on both sides');
      return;
    }
    // A directory's mode is no content: a deletion on the other side goes on (what changed
    // inside is kept all the same, S10).
    if (!x && y?.kind === 'dir' && cb === 'meta') return propagate('A', path, name, x, y, ca);
    if (!y && x?.kind === 'dir' && ca === 'meta') return propagate('B', path, name, y, x, cb);
    // S9: a modification beats a deletion; the modified version comes back on the other side.
    if (!x && y) return propagate('B', path, name, y, x, 'created', 'restored');
    if (!y && x) return propagate('A', path, name, x, y, 'created', 'restored');
    if (!x || !y) return;
    const eq = equalContent(x, y);
    if (eq === undefined) {
      out.needsHash.A.push(name);
      out.needsHash.B.push(name);
      return;
    }
    if (eq) {
      // S8: the same on both sides is not a conflict; differing times or modes follow the
      // newer side (S3: touching both sides moves no bytes).
      if (sameMode(x.mode, y.mode, opts) && sameMtime(x.mtimeNs, y.mtimeNs, opts.mtimeToleranceNs))
        out.records.push({ type: 'put', path, base: baseOf(x, x, y, x.hash ?? y.hash) });
      else metaToOlder(path, x, y, o, 'changed the same way on both sides');
      return;
    }
    if (x.kind === 'dir' || y.kind === 'dir') return kindConflict(path, name, x, y, o, ca, cb);
    out.conflicts.push({ dir, name, path, a: x, b: y, base: o, changeA: ca, changeB: cb, taken });
  }

  /** Hashes that settle an 'unknown' change, or undefined after asking for them. */
  function settleUnknown(
    name: string,
    x: Entry | undefined,
    y: Entry | undefined,
    o: Base | undefined,
    ca: Change,
    cb: Change,
  ): [Change, Change] | undefined {
    const want = { A: false, B: false };
    if (ca === 'unknown' && x?.hash === undefined) want.A = true;
    if (cb === 'unknown' && y?.hash === undefined) want.B = true;
    // Without the ancestor's hash, the other side's content stands for it when that side is
    // unchanged by stat (or both are unknown: then they are compared with each other).
    if (o?.hash === undefined) {
      if (ca === 'unknown' && y?.kind === 'file' && y.hash === undefined) want.B = true;
      if (cb === 'unknown' && x?.kind === 'file' && x.hash === undefined) want.A = true;
    }
    if (want.A || want.B) {
      if (want.A) out.needsHash.A.push(name);
      if (want.B) out.needsHash.B.push(name);
      return undefined;
    }
    const settle = (c: Change, e: Entry | undefined, oc: Change, oe: Entry | undefined) => {
      if (c !== 'unknown' || !e || !o) return c;
      const ref = o.hash ?? (oc === 'none' || oc === 'unknown' ? oe?.hash : undefined);
      if (ref === undefined || e.hash !== ref) return 'content';
      const metaSame =
        sameMode(e.mode, o.mode, opts) && sameMtime(e.mtimeNs, o.mtimeNs, opts.mtimeToleranceNs);
      return metaSame ? 'none' : 'meta';
    };
    // Both unknown without an ancestor hash: each stands for the other only when they agree.
    if (ca === 'unknown' && cb === 'unknown' && o?.hash === undefined && x?.hash !== y?.hash)
      return ['content', 'content'];
    return [settle(ca, x, cb, y), settle(cb, y, ca, x)];
  }

  /** Brings side `to` in line with `from`'s entry `f` (undefined: deleted). */
  function propagate(
    fromSide: Side,
    path: RelPath,
    name: string,
    f: Entry | undefined,
    t: Entry | undefined,
    change: Change,
    restored?: 'restored',
    /** The ancestor row, when `to`'s copy is unchanged: a deletion may be half of a move. */
    o?: Base,
  ): void {
    const to = other(fromSide);
    const on = (what: string) => `${what} on ${fromSide} since the last sync`;
    const A = fromSide === 'A';
    if (!f) {
      if (!t) {
        out.records.push({ type: 'drop', path });
        return;
      }
      const phase = input.clearing === to ? Phase.Clear : Phase.Delete;
      const del = op(to, {
        op: 'delete',
        path,
        pre: t.kind === 'dir' ? ANY_DIR : same(t),
        reason: 'deleted',
        phase,
        record: { type: 'drop', path },
        why: on('deleted'),
      });
      // Deletions that clear the way for a file must run before any move: never moved.
      if (o && phase === Phase.Delete) del.gone = { base: o, entry: t };
      if (t.kind === 'dir') {
        out.descend.push({
          name,
          a: !A,
          b: A,
          absentOn: fromSide,
          cancelOnResurrect: [del],
          model: t,
          ...(phase === Phase.Clear ? { clearing: to } : {}),
        });
      }
      return;
    }
    const why = restored
      ? `deleted on ${to}, changed on ${fromSide}: keeping ${fromSide}'s version`
      : change === 'created'
        ? `new on ${fromSide}`
        : on(change === 'meta' ? 'metadata changed' : 'modified');
    const reason: Reason = !t || restored ? 'new' : change === 'meta' ? 'metadata' : 'modified';
    if (f.kind === 'dir') {
      if (t?.kind === 'dir') {
        // Only the mode is a directory's own (see changeOf); the times stay the target's.
        metaOp(to, path, { ...f, mtimeNs: t.mtimeNs }, t, on('mode changed'));
        out.descend.push({ name, a: true, b: true });
        return;
      }
      if (t) {
        op(to, {
          op: 'delete',
          path,
          pre: same(t),
          reason: 'replaced',
          phase: Phase.Clear,
          why: on('replaced by a directory'),
        });
      }
      const mk = makeDir(to, path, f, t ? on('replaced by a directory') : why);
      if (!t && change === 'created' && !restored) mk.created = true;
      out.descend.push({ name, a: A, b: !A });
      return;
    }
    // The target's stamp is read after the operation (the engine does): it changes.
    const entry = baseOf(f, A ? f : undefined, A ? undefined : f, f.hash);
    if (t?.kind === 'dir') {
      // A file took the place of a directory: what is inside goes first, unless something in
      // there changed on `to` (the engine then keeps the directory: a conflict copy of `f`).
      const del = op(to, {
        op: 'delete',
        path,
        pre: ANY_DIR,
        reason: 'replaced',
        phase: Phase.Clear,
        why: on('replaced by a file'),
      });
      const put = op(to, {
        op: 'copy',
        path,
        source: f,
        pre: ABSENT,
        reason: 'kind-changed',
        phase: Phase.Write,
        record: { type: 'put', path, base: entry },
        why: on(`replaced by a ${f.kind}`),
      });
      out.descend.push({
        name,
        a: !A,
        b: A,
        absentOn: fromSide,
        clearing: to,
        occupant: f,
        cancelOnResurrect: [del, put],
        model: t,
      });
      return;
    }
    if (change === 'meta' && t) {
      metaOp(to, path, f, t, why);
      return;
    }
    const put = op(to, {
      op: 'copy',
      path,
      source: f,
      pre: t ? same(t) : ABSENT,
      reason,
      phase: Phase.Write,
      record: { type: 'put', path, base: entry },
      why,
    });
    if (!t && change === 'created' && !restored) put.created = true;
  }

  /** A directory against a file or symlink, both changed: the directory keeps the name. */
  function kindConflict(
    path: RelPath,
    name: string,
    x: Entry,
    y: Entry,
    o: Base | undefined,
    ca: Change,
    cb: Change,
  ): void {
    const c: Conflict = { dir, name, path, a: x, b: y, base: o, changeA: ca, changeB: cb, taken };
    out.conflicts.push(c);
    const dirSide: Side = x.kind === 'dir' ? 'A' : 'B';
    const fileSide = other(dirSide);
    const d = dirSide === 'A' ? x : y;
    const f = dirSide === 'A' ? y : x;
    const aside = conflictName(name, fileSide, f.mtimeNs, taken);
    out.ops.push(...keepAside(dir, name, aside, fileSide, f));
    makeDir(fileSide, path, d, `a directory on ${dirSide}, a ${f.kind} on ${fileSide}`);
    out.descend.push({ name, a: dirSide === 'A', b: dirSide === 'B' });
  }

  /** The mkdir (and its times, set last); returns the mkdir. */
  function makeDir(side: Side, path: RelPath, model: Entry, why: string): TwoWayOp {
    const mk = op(side, {
      op: 'mkdir',
      path,
      source: model,
      pre: ABSENT,
      reason: 'new',
      phase: Phase.Write,
      why,
    });
    // Its mode is set after its children are written, and only then is it recorded.
    op(side, {
      op: 'set-meta',
      path,
      source: model,
      pre: ANY_DIR,
      reason: 'dir-times',
      phase: Phase.DirTimes,
      record: { type: 'put', path, base: baseOf(model, undefined, undefined) },
      why,
    });
    return mk;
  }

  function metaOp(side: Side, path: RelPath, f: Entry, t: Entry, why: string): void {
    const fromA = side === 'B';
    op(side, {
      op: 'set-meta',
      path,
      source: f,
      pre: t.kind === 'dir' ? ANY_DIR : same(t),
      reason: 'metadata',
      phase: t.kind === 'dir' ? Phase.DirTimes : Phase.Write,
      record: {
        type: 'put',
        path,
        base: baseOf(f, fromA ? f : undefined, fromA ? undefined : f, f.hash ?? t.hash),
      },
      why,
    });
  }

  /** Equal content, differing metadata: the newer side's times and mode go to the older. */
  function metaToOlder(path: RelPath, x: Entry, y: Entry, o: Base | undefined, why: string): void {
    // S11: the winner must not depend on which root is A. `>=` made A win every tie of times,
    // e.g. the same file on both roots at a first run, only its mode differing. On a tie the
    // side whose mode moved away from the ancestor's wins (it was changed there), else the
    // lower mode.
    const aNewer =
      x.mtimeNs !== y.mtimeNs
        ? x.mtimeNs > y.mtimeNs
        : o && (x.mode === o.mode) !== (y.mode === o.mode)
          ? y.mode === o.mode
          : x.mode <= y.mode;
    const [f, t, side]: [Entry, Entry, Side] = aNewer ? [x, y, 'B'] : [y, x, 'A'];
    metaOp(side, path, t.kind === 'dir' ? { ...f, mtimeNs: t.mtimeNs } : f, t, why);
  }

  /**
   * Callers pass a fresh literal, given its side here. Not { ...o, side }: V8 gives every object
   * made by that spread a hidden class of its own (~340 bytes each: 34 MB of a first two-way
   * sync of a directory of 100,000 files).
   */
  function op(side: Side, o: Omit<TwoWayOp, 'side'>): TwoWayOp {
    const full = o as TwoWayOp;
    full.side = side;
    out.ops.push(full);
    if (full.op !== 'delete' || full.phase !== Phase.Clear) out.writesInto.add(side);
    return full;
  }

  /** Whether two entries of the same path hold the same content; undefined: hash them. */
  function equalContent(x: Entry, y: Entry): boolean | undefined {
    if (x.kind !== y.kind) return false;
    if (x.kind === 'dir') return true;
    if (x.kind === 'symlink') return x.target === y.target;
    if (x.size !== y.size) return false;
    if (x.hash !== undefined && y.hash !== undefined) return x.hash === y.hash;
    // No quick check (equal size and mtime taken for equal content, as rsync does) here: this
    // is only asked when both sides changed the path or there is no ancestor (a first run), and
    // a wrong "equal" is recorded as in sync, so the roots would differ for good with nothing
    // to tell (S12, S13). Found by test/e2e/twoway.property.test.ts: a first run where B had
    // rewritten a file in place with its mtime put back (same size) left A != B.
    return undefined;
  }
}

/** Two-way operations that keep version `f` of side `side` as `aside` on both sides. */
export function keepAside(
  dir: RelPath,
  name: string,
  aside: string,
  side: Side,
  f: Entry,
): TwoWayOp[] {
  const path = join(dir, name);
  const to = join(dir, aside);
  const why = `conflict: ${side}'s version kept as ${aside}`;
  const moved = { ...f, name: aside };
  return [
    {
      side,
      op: 'move',
      path: to,
      from: path,
      source: f,
      pre: same(f),
      reason: 'moved-aside',
      phase: Phase.Clear,
      why,
    },
    {
      side: other(side),
      op: 'copy',
      path: to,
      from: to,
      source: moved,
      pre: ABSENT,
      reason: 'conflict-copy',
      phase: Phase.Write,
      // Both stamps are read after the copy: the rename moved the original's ctime.
      record: { type: 'put', path: to, base: baseOf(moved, undefined, undefined) },
      why,
    },
  ];
}

/** The ancestor row for an entry, with the stamps of the sides that are known now. */
export function baseOf(
  e: Entry,
  a: Entry | undefined,
  b: Entry | undefined,
  hash?: string | undefined,
): Base {
  const out: Base = { name: e.name, kind: e.kind, size: e.size, mtimeNs: e.mtimeNs, mode: e.mode };
  if (e.target !== undefined) out.target = e.target;
  if (hash !== undefined) out.hash = hash;
  if (a && a.kind === e.kind) out.stampA = { ino: a.ino, ctimeNs: a.ctimeNs };
  if (b && b.kind === e.kind) out.stampB = { ino: b.ino, ctimeNs: b.ctimeNs };
  return out;
}

function stale(e: Entry, s: Stamp | undefined): boolean {
  return !s || s.ino !== e.ino || s.ctimeNs !== e.ctimeNs;
}

/**
 * `<stem>.conflict-<side>-<YYYYMMDD-HHMMSS><ext>` from the version's mtime in UTC, suffixed
 * `-2`, `-3`... when the name is taken, and added to `taken` (S26: names never collide). A
 * name over NAME_MAX bytes loses the end of its stem (see fitName), so a long name still gets
 * a copy the file system takes.
 */
export function conflictName(
  name: string,
  side: Side,
  mtimeNs: bigint,
  taken: Set<string>,
): string {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  // Whole milliseconds rounded down: bigint division rounds toward zero, which put an mtime
  // in the last millisecond before 1970 (-1 ns) at 00:00:00 on 1970-01-01, not 23:59:59.
  const ms = mtimeNs / 1_000_000n - (mtimeNs % 1_000_000n < 0n ? 1n : 0n);
  const iso = new Date(Number(ms)).toISOString();
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
  // Each candidate is fitted with its own counter: `-10` takes one byte more of the stem than
  // `-9`. The tails `<mark>-<n><ext>` differ for every n, so the loop ends. A counter is taken
  // when the other side's name with it is too: else planning (B, A) numbered a copy otherwise
  // than (A, B) next to an older copy named for the other side (S11, found by the property).
  const named = (s: Side, n: number) =>
    fitName(stem, `.conflict-${s}-${stamp}${n === 1 ? '' : `-${n}`}`, ext);
  const other = side === 'A' ? 'B' : 'A';
  let n = 1;
  while (taken.has(named(side, n)) || taken.has(named(other, n))) n++;
  const candidate = named(side, n);
  taken.add(candidate);
  return candidate;
}

/**
 * An extension longer than this is not one (`Minutes.of the meeting on ...`): when a name must
 * be cut, it is cut from the end of the whole name, which keeps the start people recognise.
 */
export const MAX_EXT_BYTES = 32;

/**
 * `<stem><mark><ext>` cut to at most `max` bytes of UTF-8. A name that fits is returned as it
 * is. Otherwise whole code points are dropped from the end of the stem, never bytes of one, so
 * the name stays valid UTF-8; `mark` and `ext` are kept whole, except that an `ext` of more than
 * MAX_EXT_BYTES counts as part of the stem. The result fits when `mark` (and a kept `ext`)
 * leave room, which a conflict mark of 27 bytes plus a counter always does; the stem may
 * shrink to ''.
 */
export function fitName(stem: string, mark: string, ext: string, max = NAME_MAX): string {
  const whole = `${stem}${mark}${ext}`;
  if (utf8Length(whole) <= max) return whole;
  const [s, e] = utf8Length(ext) > MAX_EXT_BYTES ? [stem + ext, ''] : [stem, ext];
  const room = max - utf8Length(mark) - utf8Length(e);
  return `${cutUtf8(s, Math.max(0, room))}${mark}${e}`;
}
