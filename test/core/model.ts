/**
 * A tiny in-memory file tree, for laws over whole trees: plan it the way the engine walks it
 * (src/engine/scan-plan.ts), apply the plan the way the local endpoint would (preconditions
 * checked, rmdir only when empty, a write into a directory bumps its mtime), compare trees.
 */
import type { CompareOptions } from '../../src/core/compare.ts';
import { type Entry, sameMtime } from '../../src/core/entry.ts';
import { type Descend, diffOneWay, type OneWayMode } from '../../src/core/oneway.ts';
import { basename, compareNames, join, parent, type RelPath } from '../../src/core/path.ts';
import type { Operation, Precondition } from '../../src/core/plan.ts';
import type { Problem } from '../../src/core/problem.ts';

export interface FileNode {
  kind: 'file';
  content: string;
  mtime: bigint;
  mode: number;
}
export interface LinkNode {
  kind: 'symlink';
  target: string;
  mtime: bigint;
}
export interface DirNode {
  kind: 'dir';
  mtime: bigint;
  mode: number;
  children: Map<string, Node>;
}
export type Node = FileNode | LinkNode | DirNode;

/** The mtime a directory gets when it is made or written into: "now", unlike any source time. */
export const NOW = -1n;

export function entryOf(name: string, n: Node): Entry {
  const base = { name, ctimeNs: 0n, ino: 0n, mtimeNs: n.mtime };
  switch (n.kind) {
    case 'file':
      return { ...base, kind: 'file', size: n.content.length, mode: n.mode };
    case 'symlink':
      return { ...base, kind: 'symlink', size: 0, mode: 0, target: n.target };
    case 'dir':
      return { ...base, kind: 'dir', size: 0, mode: n.mode };
  }
}

function listing(d: DirNode): Entry[] {
  return [...d.children]
    .map(([name, n]) => entryOf(name, n))
    .sort((a, b) => compareNames(a.name, b.name));
}

export function clone<N extends Node>(n: N): N {
  if (n.kind !== 'dir') return { ...n };
  const children = new Map<string, Node>();
  for (const [name, c] of n.children) children.set(name, clone(c));
  return { ...n, children };
}

export function lookup(root: DirNode, path: RelPath): Node | undefined {
  if (path === '') return root;
  let n: Node | undefined = root;
  for (const seg of path.split('/')) {
    if (n?.kind !== 'dir') return undefined;
    n = n.children.get(seg);
  }
  return n;
}

const hashOf = (f: FileNode) => `h:${f.content}`;

export interface TreePlan {
  /** In emission order, parent-first, as the engine collects them. */
  ops: Operation[];
  problems: Problem[];
}

/**
 * Plans a one-way run over whole trees like scanAndPlan: a stack of directories, each decided
 * by diffOneWay, children visited in the order `descend` gives; files the core asks about are
 * hashed (on both sides) and the directory decided again.
 */
export function planTree(
  src: DirNode,
  dst: DirNode | undefined,
  mode: OneWayMode,
  opts: CompareOptions,
): TreePlan {
  interface Visit {
    dir: RelPath;
    src: DirNode | undefined;
    dst: DirNode | undefined;
    srcSelf: Entry | undefined;
    dstSelf: Entry | undefined;
    descend: Descend;
  }
  const out: TreePlan = { ops: [], problems: [] };
  const stack: Visit[] = [
    {
      dir: '',
      src,
      dst,
      srcSelf: entryOf('', src),
      dstSelf: dst && entryOf('', dst),
      descend: { name: '', src: true, dst: dst !== undefined },
    },
  ];
  for (let v = stack.pop(); v; v = stack.pop()) {
    const srcEntries = v.descend.src && v.src ? listing(v.src) : undefined;
    const dstEntries = v.descend.dst && v.dst ? listing(v.dst) : undefined;
    const input = {
      dir: v.dir,
      srcSelf: v.srcSelf,
      dstSelf: v.dstSelf,
      src: srcEntries,
      dst: dstEntries,
      protectedNames: new Set<string>(),
      mode,
      opts,
      removing: v.descend.removing,
    };
    let decided = diffOneWay(input);
    if (decided.needsHash.length > 0) {
      const wanted = new Set(decided.needsHash);
      for (const [entries, node] of [
        [srcEntries, v.src],
        [dstEntries, v.dst],
      ] as const) {
        for (const e of entries ?? []) {
          const n = node?.children.get(e.name);
          if (wanted.has(e.name) && n?.kind === 'file') e.hash = hashOf(n);
        }
      }
      decided = diffOneWay(input);
      if (decided.needsHash.length > 0)
        throw new Error(`${v.dir}: still needs hashes of ${decided.needsHash} after hashing`);
    }
    out.ops.push(...decided.ops);
    out.problems.push(...decided.problems);
    for (let k = decided.descend.length - 1; k >= 0; k--) {
      const d = decided.descend[k] as Descend;
      const s = d.src ? v.src?.children.get(d.name) : undefined;
      const t = d.dst ? v.dst?.children.get(d.name) : undefined;
      if ((d.src && s?.kind !== 'dir') || (d.dst && t?.kind !== 'dir'))
        throw new Error(`${join(v.dir, d.name)}: descend into a non-directory`);
      stack.push({
        dir: join(v.dir, d.name),
        src: s?.kind === 'dir' ? s : undefined,
        dst: t?.kind === 'dir' ? t : undefined,
        srcSelf: s && entryOf(d.name, s),
        dstSelf: t && entryOf(d.name, t),
        descend: d,
      });
    }
  }
  return out;
}

/**
 * Applies an ordered plan to a copy of `dst` (made 0o700 at "now" when absent, as the engine
 * does) and returns it. Throws where the local endpoint would fail: a precondition that no
 * longer holds (S16), a missing parent, a write over a directory, a non-empty rmdir.
 */
export function applyPlan(
  ops: readonly Operation[],
  src: DirNode,
  dst: DirNode | undefined,
): DirNode {
  const root: DirNode = dst
    ? clone(dst)
    : { kind: 'dir', mtime: NOW, mode: 0o700, children: new Map() };
  for (const op of ops) applyOp(root, src, op);
  return root;
}

function applyOp(root: DirNode, src: DirNode, op: Operation): void {
  const fail = (why: string): never => {
    throw new Error(`${op.op} '${op.path}' (${op.reason}): ${why}`);
  };
  const container = op.path === '' ? undefined : lookup(root, parent(op.path));
  if (op.path !== '' && container?.kind !== 'dir') fail('its parent is not a directory');
  const dirOf = container as DirNode;
  const name = basename(op.path);
  const current = op.path === '' ? root : dirOf.children.get(name);
  if (!holds(op.pre, current)) fail(`precondition ${op.pre.type} does not hold`);

  switch (op.op) {
    case 'mkdir':
      if (op.path === '') fail('the root is made by the engine');
      dirOf.children.set(name, { kind: 'dir', mtime: NOW, mode: 0o700, children: new Map() });
      dirOf.mtime = NOW;
      return;
    case 'copy': {
      const s = op.source ?? fail('no source');
      const from = lookup(src, op.path);
      if (!from || from.kind !== s.kind || !holds({ type: 'same', entry: s }, from))
        fail('the source is not what the plan saw');
      if (current?.kind === 'dir') fail('cannot write over a directory');
      const written: Node =
        from?.kind === 'file'
          ? { kind: 'file', content: from.content, mtime: s.mtimeNs, mode: s.mode }
          : { kind: 'symlink', target: s.target ?? fail('no target'), mtime: s.mtimeNs };
      dirOf.children.set(name, written);
      dirOf.mtime = NOW;
      return;
    }
    case 'set-meta': {
      const s = op.source ?? fail('no source');
      if (!current || current.kind !== s.kind) fail(`is not a ${s.kind}`);
      const node = current as Node;
      node.mtime = s.mtimeNs;
      if (node.kind !== 'symlink') node.mode = s.mode;
      return;
    }
    case 'delete':
      if (op.path === '') fail('the root is never deleted');
      if (current?.kind === 'dir' && current.children.size > 0) fail('directory not empty');
      dirOf.children.delete(name);
      dirOf.mtime = NOW;
      return;
  }
}

/** The local endpoint's check: kind; files by size and mtime; symlinks by target; dirs by kind. */
function holds(pre: Precondition, n: Node | undefined): boolean {
  if (pre.type === 'absent') return n === undefined;
  if (pre.type === 'dir') return n?.kind === 'dir';
  const e = pre.entry;
  if (!n || n.kind !== e.kind) return false;
  if (n.kind === 'file') return n.content.length === e.size && n.mtime === e.mtimeNs;
  if (n.kind === 'symlink') return n.target === e.target;
  return true;
}

/**
 * Where two nodes differ (content, kind, mode, mtime within `tol`), as `path: what` lines;
 * `withSelf: false` compares only what is inside two directories.
 */
export function differences(
  a: Node | undefined,
  b: Node | undefined,
  tol: bigint,
  path: RelPath = '',
  withSelf = true,
): string[] {
  const at = path === '' ? '.' : path;
  if (!a || !b) return a === b ? [] : [`${at}: only in ${a ? 'the first' : 'the second'}`];
  if (a.kind !== b.kind) return [`${at}: ${a.kind} vs ${b.kind}`];
  const out: string[] = [];
  if (withSelf) {
    if (!sameMtime(a.mtime, b.mtime, tol)) out.push(`${at}: mtime ${a.mtime} vs ${b.mtime}`);
    if (a.kind !== 'symlink' && b.kind !== 'symlink' && a.mode !== b.mode)
      out.push(`${at}: mode ${a.mode.toString(8)} vs ${b.mode.toString(8)}`);
  }
  if (a.kind === 'file' && b.kind === 'file' && a.content !== b.content)
    out.push(`${at}: content '${a.content}' vs '${b.content}'`);
  if (a.kind === 'symlink' && b.kind === 'symlink' && a.target !== b.target)
    out.push(`${at}: target '${a.target}' vs '${b.target}'`);
  if (a.kind === 'dir' && b.kind === 'dir') {
    const names = new Set([...a.children.keys(), ...b.children.keys()]);
    for (const name of [...names].sort(compareNames))
      out.push(...differences(a.children.get(name), b.children.get(name), tol, join(path, name)));
  }
  return out;
}

/** Like `differences`, for the nodes themselves: a directory's children are not compared. */
export function nodeDifferences(
  a: Node | undefined,
  b: Node | undefined,
  tol: bigint,
  path: RelPath,
): string[] {
  const shallow = (n: Node | undefined): Node | undefined =>
    n?.kind === 'dir' ? { ...n, children: new Map() } : n;
  return differences(shallow(a), shallow(b), tol, path);
}

/** Every path in a tree, parent-first. */
export function paths(root: DirNode, dir: RelPath = ''): RelPath[] {
  const out: RelPath[] = [];
  for (const name of [...root.children.keys()].sort(compareNames)) {
    const p = join(dir, name);
    const n = root.children.get(name) as Node;
    out.push(p);
    if (n.kind === 'dir') out.push(...paths(n, p));
  }
  return out;
}
