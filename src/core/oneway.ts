import { foldOneWay } from './case-fold.ts';
import { changesEntries, closedToOwner, openedToOwner } from './closed-dir.ts';
import { COPY_MTIME_ERROR_NS, type CompareOptions, compareEntries } from './compare.ts';
import type { Entry } from './entry.ts';
import {
  KIND_DIR,
  KIND_FILE,
  KIND_SYMLINK,
  type PackedEntries,
  packedCount,
  packedNamesAt,
  sameMtimePacked,
  timeNs,
  toleranceNumber,
  W_CTIME_S_LO,
  W_KIND,
  W_MODE,
  W_MTIME_S_LO,
  W_SIZE_HI,
  W_SIZE_LO,
  WORDS,
} from './packed.ts';
import { compareNames, join, type RelPath } from './path.ts';
import { ABSENT, ANY_DIR, type Operation, Phase, same } from './plan.ts';
import { type Problem, problem } from './problem.ts';

export type OneWayMode = 'replica' | 'mirror';

/** Which sides the engine lists next for a subdirectory. */
export interface Descend {
  name: string;
  src: boolean;
  dst: boolean;
  /** Set when the target's subtree is being deleted: everything inside goes too. */
  removing?: RemovalReason;
}

type RemovalReason = 'extra' | 'replaced';

export interface OneWayDir {
  ops: Operation[];
  descend: Descend[];
  /** Files of equal size whose content decides: hash both and call again. */
  needsHash: string[];
  problems: Problem[];
}

export interface OneWayInput {
  dir: RelPath;
  /** The directory itself on each side (undefined: absent there). */
  srcSelf: Entry | undefined;
  dstSelf: Entry | undefined;
  /** Children, sorted by name; undefined when the side does not have the directory. */
  src: readonly Entry[] | undefined;
  dst: readonly Entry[] | undefined;
  /** Source names that could not be read: never delete their counterparts (S17). */
  protectedNames: ReadonlySet<string>;
  mode: OneWayMode;
  opts: CompareOptions;
  removing?: RemovalReason | undefined;
  /** The target finds names in any case: see foldOneWay (S23). */
  caseInsensitive?: boolean | undefined;
}

/**
 * Decides one directory of a one-way sync. Law: applying the operations of every directory
 * makes the target hold every source entry (replica), or equal the source (mirror), and a
 * second run on the result decides nothing (S12). Replica never deletes an entry of the target
 * except to replace a file by a directory (into the trash); mirror deletes extras (S25).
 */
const KIND_WORD = { file: 'file', dir: 'directory', symlink: 'symlink' } as const;

export function diffOneWay(input: OneWayInput): OneWayDir {
  const { dir, mode, opts } = input;
  let { src = [], dst = [], protectedNames } = input;
  const out: OneWayDir = { ops: [], descend: [], needsHash: [], problems: [] };
  let touched = false;
  // Callers pass a fresh literal, given its phase here. Not { ...op, phase }: V8 gives every
  // object made by that spread a hidden class of its own (~340 bytes each, 34 MB for 100,000).
  const write = (op: Omit<Operation, 'phase'>, phase: Phase = Phase.Write) => {
    const o = op as Operation;
    o.phase = phase;
    out.ops.push(o);
    touched = true;
  };

  if (input.removing) {
    const reason = input.removing;
    for (const d of dst) remove(d, reason, reason === 'extra' ? Phase.Delete : Phase.Clear);
    if (input.dstSelf) openToOwner(input.dstSelf);
    return out;
  }

  if (input.caseInsensitive) {
    const folded = foldOneWay(src, dst);
    src = folded.src;
    dst = folded.dst;
    if (folded.keep.size > 0) protectedNames = new Set([...protectedNames, ...folded.keep]);
    for (const [name, others] of folded.collisions) {
      const shown = others.map((n) => JSON.stringify(n)).join(', ');
      out.problems.push(
        problem(
          join(dir, name),
          'case-conflict',
          `differs from ${shown} only in case, and B does not tell case apart: none of them is copied`,
          {
            side: 'B',
            hint: 'rename all but one of them on A',
          },
        ),
      );
    }
    for (const { here, there } of folded.kindClashes) {
      out.problems.push(
        problem(
          join(dir, here.name),
          'case-conflict',
          `is a ${KIND_WORD[here.kind]} on A, and B holds a ${KIND_WORD[there.kind]} ${JSON.stringify(there.name)}, equal but for case (B does not tell case apart): both left as they are`,
          { side: 'B', hint: 'rename one of them' },
        ),
      );
    }
    // The rename comes first (writes go in the order given); the comparison that follows
    // sees the target entry under the source's name.
    for (const r of folded.renames)
      write({
        op: 'move',
        path: join(dir, r.to.name),
        from: join(dir, r.from.name),
        source: r.to,
        pre: same(r.from),
        reason: 'moved',
      });
  }

  let i = 0;
  let j = 0;
  while (i < src.length || j < dst.length) {
    const s = src[i];
    const d = dst[j];
    const order = s && d ? compareNames(s.name, d.name) : s ? -1 : 1;
    if (order < 0 && s) {
      i++;
      create(s, 'new');
      continue;
    }
    if (order > 0 && d) {
      j++;
      if (mode === 'mirror' && !protectedNames.has(d.name)) remove(d, 'extra', Phase.Delete);
      continue;
    }
    i++;
    j++;
    if (!s || !d) continue;
    const path = join(dir, s.name);
    const verdict = compareEntries(s, d, opts);
    switch (verdict) {
      case 'same':
        if (s.kind === 'dir') out.descend.push({ name: s.name, src: true, dst: true });
        break;
      case 'needs-hash':
        out.needsHash.push(s.name);
        break;
      case 'meta':
        if (s.kind === 'dir') {
          // Directory metadata is set after its children are written (DirTimes), so the
          // writes inside do not undo it.
          out.descend.push({ name: s.name, src: true, dst: true });
          out.ops.push({
            op: 'set-meta',
            path,
            source: s,
            pre: ANY_DIR,
            reason: 'metadata',
            phase: Phase.DirTimes,
          });
        } else {
          write({ op: 'set-meta', path, source: s, pre: same(d), reason: 'metadata' });
        }
        break;
      case 'content':
        write({ op: 'copy', path, source: s, pre: same(d), reason: 'modified' });
        break;
      case 'kind':
        if (d.kind === 'dir' && mode === 'replica') {
          out.problems.push(
            problem(path, 'kind-conflict', `is a ${s.kind} on A but a directory on B`, {
              side: 'B',
              hint: 'replica mode never deletes a directory on B; use mirror to replace it',
            }),
          );
          break;
        }
        remove(d, 'replaced', Phase.Clear);
        create(s, 'kind-changed');
        break;
    }
  }

  // Restore this directory's times after the writes inside it changed them.
  const { srcSelf, dstSelf } = input;
  const selfMeta = !!srcSelf && !!dstSelf && compareEntries(srcSelf, dstSelf, opts) === 'meta';
  // Below the root the parent sets differing metadata ('metadata'); the root has no parent.
  if (srcSelf && !(selfMeta && dir !== '') && (touched || !dstSelf || selfMeta)) {
    // First in this directory's output: orderPlan reverses DirTimes, so it runs after the
    // 'metadata' ops of the subdirectories decided here.
    out.ops.unshift({
      op: 'set-meta',
      path: dir,
      source: srcSelf,
      pre: ANY_DIR,
      reason: selfMeta ? 'metadata' : 'dir-times',
      phase: Phase.DirTimes,
    });
  }
  // Its DirTimes operation (above, or the parent's when its metadata differs) sets the
  // source's mode once the entries inside are done.
  if (srcSelf && dstSelf) openToOwner(dstSelf, srcSelf);
  return out;

  /**
   * A target directory closed to its owner (core/closed-dir.ts) is opened before the entries
   * inside are created, moved or deleted.
   */
  function openToOwner(target: Entry, model: Entry = target) {
    if (opts.ignoreModes || !closedToOwner(target)) return;
    const changes = out.ops.filter(changesEntries);
    if (changes.length === 0) return;
    const opening: Operation = {
      op: 'set-meta',
      path: dir,
      source: openedToOwner(model),
      pre: ANY_DIR,
      reason: 'dir-times',
      phase: Phase.Write,
    };
    // Deletions that make room for a kind change run first of all, in reverse order of
    // emission (orderPlan): an opening emitted after them in that phase runs before them.
    if (changes.some((o) => o.phase === Phase.Clear))
      out.ops.push({ ...opening, phase: Phase.Clear });
    else out.ops.unshift(opening);
  }

  function create(s: Entry, reason: 'new' | 'kind-changed') {
    const path = join(dir, s.name);
    if (s.kind === 'dir') {
      write({ op: 'mkdir', path, source: s, pre: ABSENT, reason });
      out.descend.push({ name: s.name, src: true, dst: false });
    } else {
      write({ op: 'copy', path, source: s, pre: ABSENT, reason });
    }
  }

  function remove(d: Entry, reason: RemovalReason, phase: Phase) {
    write({ op: 'delete', path: join(dir, d.name), pre: same(d), reason }, phase);
    if (d.kind === 'dir')
      out.descend.push({ name: d.name, src: false, dst: true, removing: reason });
  }
}

/** OneWayInput with both sides' children packed (each side present). */
export interface PackedOneWayInput extends Omit<OneWayInput, 'src' | 'dst'> {
  src: PackedEntries;
  dst: PackedEntries;
}

/**
 * The common case of diffOneWay, a directory already in sync, decided on packed listings
 * without making an Entry per child: returns exactly what diffOneWay would (no operations,
 * every subdirectory descended on both sides), or undefined when it is not that case, and
 * diffOneWay must decide. Never a different answer, only sometimes none.
 */
export function diffOneWayInSync(input: PackedOneWayInput): OneWayDir | undefined {
  const { src, dst, opts, srcSelf, dstSelf } = input;
  if (input.removing) return undefined;
  // The same names in the same order: nothing to create, nothing extra.
  if (src.names !== dst.names || src.words.length !== dst.words.length) return undefined;
  // This directory's own times: diffOneWay restores them when the target lacks it, or, at
  // the root (which has no parent to do it), when they differ.
  if (
    srcSelf &&
    (!dstSelf || (input.dir === '' && compareEntries(srcSelf, dstSelf, opts) === 'meta'))
  )
    return undefined;
  const tol = opts.mtimeToleranceNs;
  const tolNum = toleranceNumber(tol);
  const racy = opts.racySinceNs;
  const x = src.words;
  const y = dst.words;
  const n = packedCount(src);
  const dirs: number[] = [];
  let t = 0;
  for (let i = 0, b = 0; i < n; i++, b += WORDS) {
    const kind = x[b + W_KIND];
    if (kind !== y[b + W_KIND]) return undefined;
    const mtime = b + W_MTIME_S_LO;
    switch (kind) {
      case KIND_FILE:
        // With --checksum a file's content is compared by hash, which no listing holds.
        if (
          opts.checksum ||
          x[b + W_SIZE_LO] !== y[b + W_SIZE_LO] ||
          x[b + W_SIZE_HI] !== y[b + W_SIZE_HI] ||
          (!opts.ignoreModes && x[b + W_MODE] !== y[b + W_MODE]) ||
          !sameMtimePacked(x, mtime, y, mtime, tol, tolNum) ||
          (racy !== undefined && racyPacked(x, y, b, racy))
        )
          return undefined;
        break;
      case KIND_DIR:
        if (
          (!opts.ignoreModes && x[b + W_MODE] !== y[b + W_MODE]) ||
          !sameMtimePacked(x, mtime, y, mtime, tol, tolNum)
        )
          return undefined;
        dirs.push(i);
        break;
      case KIND_SYMLINK:
        if (src.targets[t] !== dst.targets[t] || !sameMtimePacked(x, mtime, y, mtime, tol, tolNum))
          return undefined;
        t++;
        break;
      default:
        return undefined;
    }
  }
  const out: OneWayDir = { ops: [], descend: [], needsHash: [], problems: [] };
  for (const name of packedNamesAt(src, dirs)) out.descend.push({ name, src: true, dst: true });
  return out;
}

/** racyPair on the packed form: entry at word `b` of both listings. */
function racyPacked(x: Int32Array, y: Int32Array, b: number, sinceNs: bigint): boolean {
  if (timeNs(x, b + W_CTIME_S_LO) < sinceNs) return false;
  const mtime = b + W_MTIME_S_LO;
  return !sameMtimePacked(x, mtime, y, mtime, COPY_MTIME_ERROR_NS, Number(COPY_MTIME_ERROR_NS));
}
