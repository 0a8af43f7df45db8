import type { CompareOptions } from './compare.ts';
import { type Entry, sameMode, sameMtime } from './entry.ts';
import { basename, compareNames, parent, type RelPath } from './path.ts';
import { type Operation, Phase, same } from './plan.ts';

/**
 * One-way move detection (mirror): entries the plan would delete on B (extras) paired with
 * entries it would create there (new on A), so that B renames instead of deleting one and
 * copying the other. Law (S24): applying the rewritten plan leaves B exactly as the plan it
 * replaces would, by the evidence the run itself trusts; every pair is only an optimization,
 * and a move that fails runs the operations it stood for (its fallback).
 *
 * The evidence:
 * - A directory pair: the whole subtrees agree on every relative name and kind, every file's
 *   size, mode and mtime (within the run's tolerance), every symlink's target and mtime, and,
 *   with --checksum, every file's hash. That is the quick check a mirror run applies to every
 *   file (rsync's), with the names inside the directory as the identity; a run would leave
 *   such a subtree alone had it not been renamed. Directory modes and times need not agree:
 *   the plan keeps setting them after the move, as after the mkdirs. Neither subtree may hold
 *   anything the plan does not stand for (an excluded, unreadable or special entry, a
 *   leftover temporary file), since a rename would carry it along.
 * - A file pair: same size, mode and mtime, and the same content hash, always: its name
 *   changed, so nothing else ties the two files together.
 * Without --checksum a directory pair is decided without reading a byte, which is what lets
 * a renamed folder of 12 GiB cost one rename.
 */

export interface MoveInput {
  /** Creations the plan has not applied yet: mkdir and copy of entries new on A; parents first. */
  creations: readonly Operation[];
  /** Deletions of entries extra on B (their whole subtrees); parents first. */
  deletions: readonly Operation[];
  /** Directories whose listing on A (on B) the plan does not wholly stand for. */
  irregularA: ReadonlySet<RelPath>;
  irregularB: ReadonlySet<RelPath>;
  opts: CompareOptions;
  /**
   * Hashes were asked for (`needsHash`) and filled in where they could be read: a hash still
   * missing now means no pair.
   */
  final: boolean;
}

export interface MovePair {
  /** On B: the extra entry renamed... */
  from: RelPath;
  /** ...to the path of the entry new on A. */
  to: RelPath;
  kind: 'file' | 'dir';
}

export interface MoveMatch {
  pairs: MovePair[];
  /** Files whose hash decides a pair: set `hash` on these entries and call again, final. */
  needsHash: { side: 'A' | 'B'; path: RelPath; entry: Entry }[];
}

interface Node {
  path: RelPath;
  entry: Entry;
  children: Node[];
  parent: Node | undefined;
  /** Digest of the subtree's names, kinds, sizes and link targets (dirs). */
  key: number;
  /** Files in the subtree (dirs). */
  files: number;
  irregular: boolean;
  /** Taken by a pair (itself or an ancestor). */
  used: boolean;
  /** Something below it was taken: it cannot move whole any more. */
  partial: boolean;
}

/** Pairs extras on B with creations of the same content (see the module comment). */
export function pairMoves(input: MoveInput): MoveMatch {
  const out: MoveMatch = { pairs: [], needsHash: [] };
  const a = buildForest(input.creations, (op) => op.source, input.irregularA);
  const b = buildForest(
    input.deletions,
    (op) => (op.pre.type === 'same' ? op.pre.entry : undefined),
    input.irregularB,
  );
  if (a.files === 0 || b.files === 0) return out;
  const asked = new Set<Entry>();
  const ask = (side: 'A' | 'B', n: Node) => {
    if (input.final || n.entry.hash !== undefined || asked.has(n.entry)) return;
    asked.add(n.entry);
    out.needsHash.push({ side, path: n.path, entry: n.entry });
  };

  // Directories, parent-first on A: a folder that moves whole takes its subfolders with it.
  const bDirs = new Map<number, Node[]>();
  for (const x of b.dirs) if (x.files > 0 && !x.irregular) pushTo(bDirs, x.key, x);
  for (const y of a.dirs) {
    if (y.used || y.files === 0 || y.irregular) continue;
    const candidates = (bDirs.get(y.key) ?? []).filter((x) => !x.used && !x.partial);
    candidates.sort(
      (p, q) =>
        Number(basename(q.path) === basename(y.path)) -
        Number(basename(p.path) === basename(y.path)),
    );
    for (const x of candidates) {
      const unhashed: [Node, Node][] = [];
      if (!sameSubtree(x, y, input.opts, unhashed)) continue;
      if (unhashed.length > 0) {
        if (input.final) continue;
        for (const [bx, ay] of unhashed) {
          ask('B', bx);
          ask('A', ay);
        }
      } else out.pairs.push({ from: x.path, to: y.path, kind: 'dir' });
      // A pair waiting for hashes is held too: its files are hashed anyway, and would only
      // be hashed twice as single candidates.
      take(x);
      take(y);
      break;
    }
  }

  // Single files, by size, mode and mtime, then by hash.
  const window = input.opts.mtimeToleranceNs > 0n ? input.opts.mtimeToleranceNs : 1n;
  const modeKey = (e: Entry) => (input.opts.ignoreModes ? 0 : e.mode);
  const bucket = (e: Entry, shift: bigint) =>
    `${e.size}:${modeKey(e)}:${e.mtimeNs / window + shift}`;
  const bFiles = new Map<string, Node[]>();
  for (const x of b.fileNodes) {
    if (x.used) continue;
    pushTo(bFiles, bucket(x.entry, 0n), x);
  }
  for (const y of a.fileNodes) {
    if (y.used) continue;
    const e = y.entry;
    const candidates = [-1n, 0n, 1n]
      .flatMap((s) => bFiles.get(bucket(e, s)) ?? [])
      .filter(
        (x) =>
          !x.used &&
          x.entry.size === e.size &&
          sameMode(x.entry.mode, e.mode, input.opts) &&
          sameMtime(x.entry.mtimeNs, e.mtimeNs, input.opts.mtimeToleranceNs),
      );
    if (candidates.length === 0) continue;
    if (e.hash === undefined) {
      ask('A', y);
      for (const x of candidates) ask('B', x);
      continue;
    }
    let best: Node | undefined;
    for (const x of candidates) {
      if (x.entry.hash === undefined) ask('B', x);
      else if (x.entry.hash === e.hash) {
        if (
          !best ||
          (basename(x.path) === basename(y.path) && basename(best.path) !== basename(y.path))
        )
          best = x;
      }
    }
    if (!best) continue;
    out.pairs.push({ from: best.path, to: y.path, kind: 'file' });
    take(best);
    y.used = true;
  }
  return out;
}

function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function take(n: Node): void {
  const mark = (m: Node) => {
    m.used = true;
    for (const c of m.children) mark(c);
  };
  mark(n);
  for (let p = n.parent; p; p = p.parent) p.partial = true;
}

interface Forest {
  /** Directories, parents first. */
  dirs: Node[];
  /** Files (non-empty), in the order given. */
  fileNodes: Node[];
  files: number;
}

function buildForest(
  ops: readonly Operation[],
  entryOf: (op: Operation) => Entry | undefined,
  irregular: ReadonlySet<RelPath>,
): Forest {
  const byPath = new Map<RelPath, Node>();
  for (const op of ops) {
    const entry = entryOf(op);
    if (!entry) continue;
    byPath.set(op.path, {
      path: op.path,
      entry,
      children: [],
      parent: undefined,
      key: 0,
      files: 0,
      irregular: irregular.has(op.path),
      used: false,
      partial: false,
    });
  }
  // The walk's order is parent-first already: sorting 50,000 paths cost more than the rest.
  const nodes = [...byPath.values()];
  for (const n of nodes) {
    const up = byPath.get(parent(n.path));
    if (up && up.path !== n.path) {
      n.parent = up;
      up.children.push(n);
    }
  }
  // Children-first, so each directory sees its children's keys and flags.
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i] as Node;
    if (n.entry.kind !== 'dir') continue;
    n.children.sort((p, q) => compareNames(basename(p.path), basename(q.path)));
    let h = 0x811c9dc5;
    for (const c of n.children) {
      h = mix(
        h,
        `${basename(c.path)}\0${c.entry.kind}\0${c.entry.size}\0${c.entry.target ?? ''}\0${c.key}\0`,
      );
      n.files += c.entry.kind === 'file' ? 1 : c.files;
      if (c.irregular) n.irregular = true;
    }
    n.key = h;
  }
  return {
    dirs: nodes.filter((n) => n.entry.kind === 'dir'),
    fileNodes: nodes.filter((n) => n.entry.kind === 'file' && n.entry.size > 0),
    files: nodes.reduce((k, n) => k + (n.entry.kind === 'file' ? 1 : 0), 0),
  };
}

/** FNV-1a over the string's UTF-16 units: a bucket key, every match is checked in full. */
function mix(h: number, s: string): number {
  let x = h;
  for (let i = 0; i < s.length; i++) x = Math.imul(x ^ s.charCodeAt(i), 0x01000193);
  return x >>> 0;
}

/**
 * Whether B's subtree `x` holds what A's `y` does, by the directory evidence; file pairs
 * whose hashes are still unknown under --checksum are pushed to `unhashed`.
 */
function sameSubtree(x: Node, y: Node, opts: CompareOptions, unhashed: [Node, Node][]): boolean {
  if (x.children.length !== y.children.length) return false;
  for (let i = 0; i < x.children.length; i++) {
    const bx = x.children[i] as Node;
    const ay = y.children[i] as Node;
    const [s, d] = [ay.entry, bx.entry];
    if (basename(bx.path) !== basename(ay.path) || s.kind !== d.kind) return false;
    switch (s.kind) {
      case 'dir':
        if (!sameSubtree(bx, ay, opts, unhashed)) return false;
        break;
      case 'symlink':
        if (s.target !== d.target || !sameMtime(s.mtimeNs, d.mtimeNs, opts.mtimeToleranceNs))
          return false;
        break;
      case 'file':
        if (
          s.size !== d.size ||
          !sameMode(s.mode, d.mode, opts) ||
          !sameMtime(s.mtimeNs, d.mtimeNs, opts.mtimeToleranceNs)
        )
          return false;
        if (opts.checksum) {
          if (s.hash === undefined || d.hash === undefined) unhashed.push([bx, ay]);
          else if (s.hash !== d.hash) return false;
        }
        break;
    }
  }
  return true;
}

export interface PlanWithMoves {
  ops: Operation[];
  /** Per move: the operations it stands for, to run instead when the move fails (S24). */
  fallbacks: Map<Operation, Operation[]>;
}

/**
 * The plan with each pair's creations (under `to`) and deletions (under `from`) replaced by one
 * move, placed after every other write so that the target's parent exists by then. The
 * directory times under `to` stay in the plan: they are set after the move as after a copy.
 */
export function withMoves(ops: readonly Operation[], pairs: readonly MovePair[]): PlanWithMoves {
  if (pairs.length === 0) return { ops: [...ops], fallbacks: new Map() };
  type Slot = { pair: MovePair; creations: Operation[]; deletions: Operation[] };
  const byTo = new Map<RelPath, Slot>();
  const byFrom = new Map<RelPath, Slot>();
  for (const pair of pairs) {
    const slot: Slot = { pair, creations: [], deletions: [] };
    byTo.set(pair.to, slot);
    byFrom.set(pair.from, slot);
  }
  const within = <T>(m: Map<RelPath, T>, path: RelPath): T | undefined => {
    for (let p = path; ; p = parent(p)) {
      const hit = m.get(p);
      if (hit || p === '') return hit;
    }
  };
  const kept: Operation[] = [];
  for (const op of ops) {
    if (op.phase === Phase.Write && op.reason === 'new' && op.op !== 'set-meta') {
      const slot = within(byTo, op.path);
      if (slot) {
        slot.creations.push(op);
        continue;
      }
    }
    if (op.op === 'delete' && op.reason === 'extra') {
      const slot = within(byFrom, op.path);
      if (slot) {
        slot.deletions.push(op);
        continue;
      }
    }
    kept.push(op);
  }
  const fallbacks = new Map<Operation, Operation[]>();
  for (const { pair, creations, deletions } of byTo.values()) {
    const made = creations.find((o) => o.path === pair.to);
    const gone = deletions.find((o) => o.path === pair.from);
    if (!made?.source || gone?.pre.type !== 'same')
      throw new Error(`no operations for move ${pair.from} -> ${pair.to}`);
    const move: Operation = {
      op: 'move',
      path: pair.to,
      from: pair.from,
      source: made.source,
      pre: same(gone.pre.entry),
      reason: 'moved',
      phase: Phase.Write,
    };
    kept.push(move);
    fallbacks.set(move, [...creations, ...deletions.reverse()]);
  }
  return { ops: kept, fallbacks };
}
