/**
 * Property-based tests of two-way sync on real temporary directories, in process
 * (syncTwoWayLocal, keep-both, no threads, a state directory per case). A random tree is made
 * on A and synced to B (first run); then, once or twice, both sides are edited at random
 * (create, modify with another size and with the same size, touch, delete, rename, mkdir,
 * rm -r, chmod, file <-> directory, symlinks) and synced again. Other cases start from two
 * trees made apart (a first run), or compare the plans of (A, B) and (B, A). Each test names
 * the safety properties (SAFETY.md) it checks. Every mtime is set explicitly (whole seconds,
 * distinct within a case unless an edit puts one back), never by waiting.
 *
 * CONCORD_PROPERTY_RUNS raises the number of cases per property for a soak run, e.g.
 * `CONCORD_PROPERTY_RUNS=3000 node --import tsx --test test/e2e/twoway.property.test.ts`.
 */
import assert from 'node:assert/strict';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import type { TwoWayOp } from '../../src/core/reconcile.ts';
import type { Summary } from '../../src/engine/oneway.ts';
import type { TwoWayPlan } from '../../src/engine/twoway.ts';
import { planTwoWayLocal, syncTwoWayLocal } from '../../src/twoway-local.ts';
import { readTree, type Seen, tempDir } from '../helpers/tree.ts';
import { prune } from './arbitraries.ts';

/** Cases per property (1,600 cases in all by default); CONCORD_PROPERTY_RUNS raises it. */
const NUM_RUNS = Math.max(400, Number(process.env.CONCORD_PROPERTY_RUNS ?? 0) || 0);

// ---------------------------------------------------------------------------------------------
// Trees and edits

interface FileNode {
  kind: 'file';
  /** One char per byte (latin1), as readTree reports contents. */
  content: string;
  mode: number;
}
interface LinkNode {
  kind: 'symlink';
  target: string;
}
interface DirNode {
  kind: 'dir';
  mode: number;
  children: [string, Node][];
}
type Node = FileNode | LinkNode | DirNode;

/** Few names, so that edits on the two sides meet often; one with an extension. */
const NAMES = ['a', 'b', 'c.txt', 'é', 'e\u0301', 'A'] as const;
/** Modes that keep the owner's write bit: the edits must work without root too. */
const FILE_MODES = [0o644, 0o600, 0o755, 0o640] as const;
const DIR_MODES = [0o755, 0o700, 0o750] as const;
const TARGETS = ['a', 'b', 'c.txt', '../a', 'missing', '.', 'a/b'] as const;

const latin1 = (s: string) => Buffer.from(s, 'utf8').toString('latin1');
const contentArb = fc.oneof(
  fc.constantFrom('', 'x', 'y', 'xy', 'hello\n', 'é', '日本語').map(latin1),
  fc.uint8Array({ minLength: 1, maxLength: 8 }).map((u) => Buffer.from(u).toString('latin1')),
);
const nameArb = fc.constantFrom(...NAMES);

const { dir: dirArb } = fc.letrec<{ node: Node; dir: DirNode }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 3, depthSize: 'small' },
    {
      arbitrary: fc.record({
        kind: fc.constant('file' as const),
        content: contentArb,
        mode: fc.constantFrom(...FILE_MODES),
      }),
      weight: 4,
    },
    {
      arbitrary: fc.record({
        kind: fc.constant('symlink' as const),
        target: fc.constantFrom(...TARGETS),
      }),
      weight: 1,
    },
    { arbitrary: tie('dir'), weight: 2 },
  ),
  dir: fc.record({
    kind: fc.constant('dir' as const),
    mode: fc.constantFrom(...DIR_MODES),
    children: fc.uniqueArray(fc.tuple(nameArb, tie('node')), {
      maxLength: 4,
      selector: ([n]) => n,
    }),
  }),
}));

const MAX_ENTRIES = 12;

/** A root holding at most 12 entries, at most 3 directories deep. */
const treeArb: fc.Arbitrary<DirNode> = dirArb.map((d) => prune(d, MAX_ENTRIES));

/**
 * One edit of a side. `at` picks the entry (or parent directory) among the candidates present
 * when it runs; `when` orders its mtime among the case's edits (all mtimes stay distinct).
 * An edit without a candidate does nothing.
 */
type Edit = { when: number } & (
  | { op: 'create'; at: number; name: string; content: string }
  | { op: 'modify'; at: number; content: string } // another size
  | { op: 'rewrite'; at: number; keepMtime: boolean } // same size, other bytes
  | { op: 'touch'; at: number } // mtime only (files and symlinks)
  | { op: 'delete'; at: number } // rm -r
  | { op: 'rename'; at: number; to: number; name: string }
  | { op: 'mkdir'; at: number; name: string; child: string | null }
  | { op: 'chmod'; at: number; mode: number }
  | { op: 'replace'; at: number; content: string | null } // file/link <-> dir
  | { op: 'link'; at: number; name: string; target: string } // new or retargeted symlink
);

const pick = fc.nat({ max: 99 });
const when = fc.integer({ min: 1, max: 999 });
const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({
    op: fc.constant('create' as const),
    at: pick,
    name: nameArb,
    content: contentArb,
    when,
  }),
  fc.record({ op: fc.constant('modify' as const), at: pick, content: contentArb, when }),
  fc.record({ op: fc.constant('rewrite' as const), at: pick, keepMtime: fc.boolean(), when }),
  fc.record({ op: fc.constant('touch' as const), at: pick, when }),
  fc.record({ op: fc.constant('delete' as const), at: pick, when }),
  fc.record({ op: fc.constant('rename' as const), at: pick, to: pick, name: nameArb, when }),
  fc.record({
    op: fc.constant('mkdir' as const),
    at: pick,
    name: nameArb,
    child: fc.option(contentArb),
    when,
  }),
  fc.record({
    op: fc.constant('chmod' as const),
    at: pick,
    mode: fc.constantFrom(...FILE_MODES, ...DIR_MODES),
    when,
  }),
  fc.record({
    op: fc.constant('replace' as const),
    at: pick,
    content: fc.option(contentArb),
    when,
  }),
  fc.record({
    op: fc.constant('link' as const),
    at: pick,
    name: nameArb,
    target: fc.constantFrom(...TARGETS),
    when,
  }),
);
const editsArb = fc.array(editArb, { maxLength: 6 });

/** Edits on both sides between two runs. */
interface Round {
  editsA: Edit[];
  editsB: Edit[];
}

interface EditCase {
  tree: DirNode;
  /** One or two: a second round edits what the run after the first one left (ancestor too). */
  rounds: Round[];
  checksum: boolean;
  /** The first run finds B missing (else: an empty directory). */
  bMissing: boolean;
}

const editCaseArb: fc.Arbitrary<EditCase> = fc
  .record({
    tree: treeArb,
    rounds: fc.array(fc.record({ editsA: editsArb, editsB: editsArb }), {
      minLength: 1,
      maxLength: 2,
    }),
    checksum: fc.boolean(),
    bMissing: fc.boolean(),
  })
  .map((c) => described(c, describeEditCase));

/** Two trees made apart: `other` on B, or the same tree on both (identical times) when null. */
interface FirstCase {
  tree: DirNode;
  other: DirNode | null;
  editsA: Edit[];
  editsB: Edit[];
  checksum: boolean;
}

const firstCaseArb: fc.Arbitrary<FirstCase> = fc
  .record({
    tree: treeArb,
    other: fc.option(treeArb),
    editsA: editsArb,
    editsB: editsArb,
    checksum: fc.boolean(),
  })
  .map((c) => described(c, describeFirstCase));

function described<T extends object>(c: T, show: (c: T) => string): T {
  Object.defineProperty(c, fc.toStringMethod, { value: () => show(c) });
  return c;
}

// ---------------------------------------------------------------------------------------------
// Writing trees and edits to disk

const BASE_S = 1_600_000_000;

/**
 * Hands out mtimes (whole seconds): `when` orders them, and a serial number below 1000 makes
 * every one distinct, so that "newer" always has an answer and keep-both is symmetric (S11).
 */
class Clock {
  private serial: number;
  constructor(serial = 0) {
    this.serial = serial;
  }
  next(when: number): number {
    const s = this.serial++;
    if (s >= 1000) throw new Error('more than 1000 mtimes in one case');
    return BASE_S + when * 1000 + s;
  }
}

function setTime(p: string, s: number): void {
  if (lstatSync(p).isSymbolicLink()) lutimesSync(p, s, s);
  else utimesSync(p, s, s);
}

/** Writes `tree` at `root` (made if missing), every mtime from `clock` with when = 0. */
function materialize(root: string, tree: DirNode, clock: Clock): void {
  const dirs: [string, number][] = [];
  const rec = (abs: string, d: DirNode) => {
    mkdirSync(abs, { recursive: true });
    for (const [name, n] of d.children) {
      const p = join(abs, name);
      if (n.kind === 'file') {
        writeFileSync(p, Buffer.from(n.content, 'latin1'));
        chmodSync(p, n.mode);
        setTime(p, clock.next(0));
      } else if (n.kind === 'symlink') {
        symlinkSync(n.target, p);
        setTime(p, clock.next(0));
      } else rec(p, n);
    }
    dirs.push([abs, d.mode]);
  };
  rec(root, tree);
  // Children first: a directory's time is set after everything inside it is written.
  for (const [p, mode] of dirs) {
    chmodSync(p, mode);
    setTime(p, clock.next(0));
  }
}

interface Listed {
  rel: string;
  kind: 'file' | 'dir' | 'symlink';
}

/** Every entry under `root` but `.concord/`, parents before children. */
function listAll(root: string): Listed[] {
  const out: Listed[] = [];
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      if (rel === '' && name === '.concord') continue;
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = lstatSync(join(abs, name));
      const kind = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'file';
      out.push({ rel: r, kind });
      if (kind === 'dir') walk(join(abs, name), r);
    }
  };
  walk(root, '');
  return out;
}

const exists = (p: string) => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

const within = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);

/** Applies the edits in order on `root`; then gives every directory a fresh, distinct mtime. */
function applyEdits(root: string, edits: readonly Edit[], clock: Clock): void {
  for (const e of edits) applyEdit(root, e, clock);
  // A directory's mtime is no content (the kernel sets it on every write inside): distinct
  // values keep "the newer side" defined for a directory mode changed on both sides (S11).
  for (const d of listAll(root).filter((x) => x.kind === 'dir'))
    setTime(join(root, d.rel), clock.next(((d.rel.length * 7919) % 999) + 1));
}

function applyEdit(root: string, e: Edit, clock: Clock): void {
  const all = listAll(root);
  const of = (...kinds: Listed['kind'][]) => all.filter((x) => kinds.includes(x.kind));
  const choose = <T>(xs: T[], i: number): T | undefined => xs[i % Math.max(1, xs.length)];
  const dirs = ['', ...of('dir').map((x) => x.rel)];
  const abs = (rel: string) => join(root, rel);
  const child = (dir: string, name: string) => (dir === '' ? name : `${dir}/${name}`);
  const t = () => clock.next(e.when);
  switch (e.op) {
    case 'create': {
      const p = abs(child(choose(dirs, e.at) as string, e.name));
      if (exists(p)) return;
      writeFileSync(p, Buffer.from(e.content, 'latin1'));
      setTime(p, t());
      return;
    }
    case 'modify': {
      const f = choose(of('file'), e.at);
      if (!f) return;
      const p = abs(f.rel);
      const old = readFileSync(p, 'latin1');
      const content = e.content.length === old.length ? `${e.content}z` : e.content;
      writeFileSync(p, Buffer.from(content, 'latin1'));
      setTime(p, t());
      return;
    }
    case 'rewrite': {
      const f = choose(of('file'), e.at);
      if (!f) return;
      const p = abs(f.rel);
      const old = readFileSync(p, 'latin1');
      if (old === '') return;
      const before = lstatSync(p, { bigint: true }).mtimeNs;
      const last = old.charCodeAt(old.length - 1);
      // Rewritten in place: same inode and size; with the mtime put back only the ctime tells
      // (S1).
      writeFileSync(
        p,
        Buffer.from(old.slice(0, -1) + String.fromCharCode((last + 1) % 256), 'latin1'),
      );
      if (e.keepMtime) {
        // The mtime put back (tar, cp -p, rsync -t do): the other side may do the same to
        // this file, a tie; fine here, and left out of the S11 cases (see `distinct`).
        const s = Number(before / 1_000_000_000n);
        utimesSync(p, s, s);
      } else setTime(p, t());
      return;
    }
    case 'touch': {
      const f = choose(of('file', 'symlink'), e.at);
      if (f) setTime(abs(f.rel), t());
      return;
    }
    case 'delete': {
      const x = choose(all, e.at);
      if (x) rmSync(abs(x.rel), { recursive: true, force: true });
      return;
    }
    case 'rename': {
      const x = choose(all, e.at);
      if (!x) return;
      const to = choose(
        dirs.filter((d) => !within(d, x.rel)),
        e.to,
      ) as string;
      const dst = child(to, e.name);
      if (exists(abs(dst))) return;
      renameSync(abs(x.rel), abs(dst));
      return;
    }
    case 'mkdir': {
      const p = abs(child(choose(dirs, e.at) as string, e.name));
      if (exists(p)) return;
      mkdirSync(p);
      if (e.child !== null) {
        writeFileSync(join(p, 'a'), Buffer.from(e.child, 'latin1'));
        setTime(join(p, 'a'), t());
      }
      return;
    }
    case 'chmod': {
      const x = choose(of('file', 'dir'), e.at);
      if (!x) return;
      chmodSync(abs(x.rel), e.mode);
      // With a new mtime: the same file's mode changed on both sides would otherwise tie on
      // its old mtime, and ties are the one asymmetry keep-both has (S11).
      if (x.kind === 'file') setTime(abs(x.rel), t());
      return;
    }
    case 'replace': {
      const x = choose(all, e.at);
      if (!x) return;
      const p = abs(x.rel);
      rmSync(p, { recursive: true, force: true });
      if (x.kind === 'dir') {
        writeFileSync(p, Buffer.from(e.content ?? '', 'latin1'));
        setTime(p, t());
      } else {
        mkdirSync(p);
        if (e.content !== null) {
          writeFileSync(join(p, 'a'), Buffer.from(e.content, 'latin1'));
          setTime(join(p, 'a'), t());
        }
      }
      return;
    }
    case 'link': {
      const rel = child(choose(dirs, e.at) as string, e.name);
      const p = abs(rel);
      if (exists(p)) {
        if (!lstatSync(p).isSymbolicLink()) return;
        rmSync(p);
      }
      symlinkSync(e.target, p);
      setTime(p, t());
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Running cases

interface Pair {
  dir: string;
  A: string;
  B: string;
  /** The pair's private state directory (CONCORD_HOME). */
  home: string;
}

/**
 * Where the per-case state directories go: a memory file system when there is one. Making a
 * SQLite database on disk costs ~25 ms a run there (its syncs), most of a case's time; the
 * roots themselves stay in the temporary directory, on the disk.
 */
const HOMES = (() => {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
})();

async function withPair(body: (r: Pair) => Promise<void>): Promise<void> {
  const cleanups: (() => void)[] = [];
  try {
    const dir = tempDir({ after: (fn) => cleanups.push(fn) }, 'concord-2way-');
    const home = mkdtempSync(join(HOMES, 'concord-2way-home-'));
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    await body({ dir, A: join(dir, 'A'), B: join(dir, 'B'), home });
  } finally {
    for (const fn of cleanups) fn();
  }
}

/**
 * A two-way run: keep-both, no threads, the pair's own state directory. `force`: the guard rails (S19 empty root, S20 mass delete) have tests of
 * their own; random edits trip them, and a refused run checks nothing here.
 */
function sync(r: Pair, c: { checksum: boolean }) {
  return syncTwoWayLocal(r.A, r.B, {
    home: r.home,
    workers: false,
    policy: 'keep-both',
    checksum: c.checksum,
    force: true,
  });
}

type Tree = Record<string, Seen>;

/** Kind, content and link target per path (directories end with '/'), `.concord/` left out. */
const contents = (root: string): Tree => readTree(root, { meta: false });

function problemsOf(s: Summary): string[] {
  return s.problems.map((p) => `${p.code} ${p.side ?? ''} ${p.path}: ${p.message}`);
}

function assertConverged(r: Pair, s: Summary, when: string): void {
  assert.deepEqual(problemsOf(s), [], `${when}: problems`);
  assert.deepEqual(contents(r.B), contents(r.A), `${when}: A and B differ`);
}

const pathOf = (key: string) => (key.endsWith('/') ? key.slice(0, -1) : key);
const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const nameOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** A version that must not be lost: a file's bytes or a link's target. */
const version = (s: Seen) =>
  s.kind === 'file' ? `file ${JSON.stringify(s.content)}` : `link ${s.target}`;

/** As conflictName splits a name: the extension from its last dot (not a leading one). */
function stemAndExt(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
}

/**
 * Where the side letter of `candidate` is when it is a conflict copy of `name`, else -1:
 * `<stem>.conflict-<A|B>-<YYYYMMDD-HHMMSS>[-n]<ext>`, the stem cut short where the whole would
 * pass 255 bytes, and a long extension cut with it (fitName in core/reconcile.ts).
 */
function conflictSideAt(name: string, candidate: string): number {
  const [stem, ext] = stemAndExt(name);
  const mark = '.conflict-';
  // From the left: a copy of a copy (`a.conflict-B-<t2>.conflict-A-<t1>`) keeps the stem `a`.
  for (let at = candidate.indexOf(mark); at >= 0; at = candidate.indexOf(mark, at + 1)) {
    const kept = candidate.slice(0, at);
    const m = /^[AB]-\d{8}-\d{6}(?:-\d+)?(.*)$/s.exec(candidate.slice(at + mark.length));
    if (!m) continue;
    const tail = m[1] ?? '';
    // Cut only to fit 255 bytes, by whole code points (up to 3 bytes short of it).
    const cut = Buffer.byteLength(candidate) > 255 - 4;
    const keeps = (whole: string) => kept === whole || (cut && whole.startsWith(kept));
    if (tail === ext ? keeps(stem) : tail === '' && cut && (stem + ext).startsWith(kept))
      return at + mark.length;
  }
  return -1;
}

/** Paths of both roots' trash (`<run>/<path>[~n]` -> the path) holding each version. */
function trashVersions(r: Pair): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const root of [r.A, r.B]) {
    const t = join(root, '.concord', 'trash');
    if (!existsSync(t)) continue;
    for (const [k, s] of Object.entries(readTree(t, { meta: false }))) {
      if (s.kind === 'dir') continue;
      const path = k.slice(k.indexOf('/') + 1).replace(/~\d+$/, '');
      const key = `${path}\0${version(s)}`;
      out.set(key, out.get(key) ?? new Set());
      out.get(key)?.add(k);
    }
  }
  return out;
}

/**
 * Where each file and link version of `before` went: in place on both roots, in a conflict copy
 * beside it on both, at the name the other side moved it to (on both), or in a trash under its
 * path. The trash is for versions that were no update: what the ancestor `o` held at that path (with keep-both, an update is never only in a
 * trash: S6, S9, S10); without an ancestor (a first run) every version is an update. Returns the
 * versions found nowhere they may be.
 */
function lostVersions(r: Pair, before: { side: string; tree: Tree }[], o?: Tree): string[] {
  const a = contents(r.A);
  const b = contents(r.B);
  const trash = o ? trashVersions(r) : new Map();
  const lost: string[] = [];
  for (const { side, tree } of before) {
    for (const [p, s] of Object.entries(tree)) {
      if (s.kind === 'dir') continue;
      const v = version(s);
      const on = (t: Tree, q: string) =>
        t[q] !== undefined && t[q].kind !== 'dir' && version(t[q]) === v;
      if (on(a, p) && on(b, p)) continue;
      const dir = parentOf(p);
      const copies = Object.keys(a).filter(
        (q) =>
          parentOf(q) === dir && conflictSideAt(nameOf(p), nameOf(q)) >= 0 && on(a, q) && on(b, q),
      );
      if (copies.length > 0) continue;
      const update = !o || !on(o, p);
      // S24: the other side moved this version (the ancestor's) to `q`, and the run renamed
      // this side's copy there too instead of trashing it: it is on both roots at `q`.
      const movedTo = (q: string) =>
        on(a, q) && on(b, q) && before.some((x) => x.side !== side && on(x.tree, q));
      if (!update && Object.keys(a).some(movedTo)) continue;
      // A version that was no update may sit in a trash under the name a move gave it: a
      // directory renamed on one side, its child deleted there, is deleted at the new name.
      if (!update && [...trash.keys()].some((k) => k.endsWith(`\0${v}`))) continue;
      if (trash.has(`${p}\0${v}`)) {
        if (!update) continue;
        lost.push(`${side}:${p} ${v}: an update, only in a trash`);
      } else lost.push(`${side}:${p} ${v}`);
    }
  }
  return lost;
}

/** Inode and ctime of every file under `root` (`.concord/` left out). */
function fileStamps(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of listAll(root)) {
    if (e.kind !== 'file') continue;
    const st = lstatSync(join(root, e.rel), { bigint: true });
    out.set(e.rel, `${st.ino}:${st.ctimeNs}`);
  }
  return out;
}

/**
 * The paths a side changed since the last run, `p` included when anything below it changed
 * (S2: upward closed). `restamped`: files whose bytes, mode and mtime are the ancestor's but
 * whose inode or ctime moved (renamed away and back): S1 lets the update detector take those
 * for changed (a false update), and SAFETY.md states S5 over the detector's verdict.
 */
function dirtyPaths(o: Tree, x: Tree, restamped: ReadonlySet<string>): Set<string> {
  const own = (s: Seen | undefined): string => {
    if (!s) return 'absent';
    switch (s.kind) {
      case 'file':
        return `file ${JSON.stringify(s.content)} ${s.mode} ${s.mtimeUs}`;
      case 'symlink':
        return `link ${s.target}`; // a link's mtime is not synced: touching one is no edit
      case 'dir':
        return `dir ${s.mode}`; // a directory's mtime is not its own
    }
  };
  const dirty = new Set<string>();
  const byPath = (t: Tree) => new Map(Object.entries(t).map(([k, s]) => [pathOf(k), s]));
  const om = byPath(o);
  const xm = byPath(x);
  for (const p of new Set([...om.keys(), ...xm.keys()])) {
    if (own(om.get(p)) === own(xm.get(p)) && !restamped.has(p)) continue;
    for (let q = p; q !== ''; q = parentOf(q)) dirty.add(q);
  }
  return dirty;
}

/** What S5 compares: kind, bytes, link target, a file's mode and mtime, a directory's mode. */
function state(t: Tree, p: string): string {
  const s = t[p] ?? t[`${p}/`];
  if (!s) return 'absent';
  if (s.kind === 'file')
    return `file ${JSON.stringify(s.content)} mode ${s.mode?.toString(8)} mtime ${s.mtimeUs}`;
  if (s.kind === 'symlink') return `link ${s.target}`;
  return `dir mode ${s.mode?.toString(8)}`;
}

function opLine(o: TwoWayOp): string {
  return `${o.side} ${o.op} ${o.path}${o.from ? ` <- ${o.from}` : ''} (${o.reason}) [${o.pre.type}]`;
}

function assertIdle(res: { summary: Summary; plan: TwoWayPlan }, when: string): void {
  assert.deepEqual(res.plan.ops.map(opLine), [], `${when}: plan`);
  const { created, updated, deleted, metadataUpdated, conflicts } = res.summary;
  assert.deepEqual(
    { created, updated, deleted, metadataUpdated, conflicts },
    { created: 0, updated: 0, deleted: 0, metadataUpdated: 0, conflicts: 0 },
    `${when}: counts`,
  );
  assert.deepEqual(problemsOf(res.summary), [], `${when}: problems`);
}

/**
 * Runs a property. CONCORD_PROPERTY_SEED (and CONCORD_PROPERTY_PATH) replay a reported
 * counterexample; pick its test with --test-name-pattern.
 */
function property<T>(arb: fc.Arbitrary<T>, body: (c: T) => Promise<void>) {
  const seed = process.env.CONCORD_PROPERTY_SEED;
  const path = process.env.CONCORD_PROPERTY_PATH;
  return fc.assert(fc.asyncProperty(arb, body), {
    numRuns: NUM_RUNS,
    includeErrorInReport: true,
    ...(seed ? { seed: Number(seed) } : {}),
    ...(path ? { path, endOnFailure: true } : {}),
  });
}

/** What a round starts from (`o`: both roots after the last run) and what its edits made. */
interface Edited {
  o: Tree;
  a: Tree;
  b: Tree;
  /** Files whose inode or ctime the edits changed, per side. */
  restamped: { A: Set<string>; B: Set<string> };
  round: number;
}

/**
 * Tree on A, first run, then per round: edits on both sides, `body` (which runs the sync, or
 * not), and a sync unless `body` said it ran one; each sync is checked converged.
 */
async function inRounds(
  c: EditCase,
  body: (r: Pair, s: Edited) => Promise<'synced' | undefined>,
): Promise<void> {
  await withPair(async (r) => {
    materialize(r.A, c.tree, new Clock());
    if (!c.bMissing) mkdirSync(r.B);
    const first = await sync(r, c);
    assertConverged(r, first.summary, 'first run');
    // One clock for all rounds: every mtime of the case distinct.
    const clock = new Clock(100);
    for (const [i, round] of c.rounds.entries()) {
      const o = readTree(r.A);
      const before = { A: fileStamps(r.A), B: fileStamps(r.B) };
      applyEdits(r.A, round.editsA, clock);
      applyEdits(r.B, round.editsB, clock);
      const restamped = { A: new Set<string>(), B: new Set<string>() };
      for (const side of ['A', 'B'] as const)
        for (const [p, st] of fileStamps(r[side])) {
          const was = before[side].get(p);
          if (was !== undefined && was !== st) restamped[side].add(p);
        }
      const edited = { o, a: readTree(r.A), b: readTree(r.B), restamped, round: i + 1 };
      const done = await body(r, edited);
      if (done !== 'synced') assertConverged(r, (await sync(r, c)).summary, `round ${i + 1}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The properties

test('S4 S5 S7 S12 two-way after edits on both sides: A equals B with no problems; every version of either side survives, and with keep-both an update is never only in a trash (S7, S6, S9, S10); one-sided edits propagate exactly (S5); paths changed on neither side stay (S4); the next run does nothing (S12)', async () => {
  await property(editCaseArb, (c) =>
    inRounds(c, async (r, s) => {
      const at = `round ${s.round}`;
      const second = await sync(r, c);
      assertConverged(r, second.summary, at);

      // S7: every file and link version either side held is still somewhere.
      const lost = lostVersions(
        r,
        [
          { side: 'A', tree: s.a },
          { side: 'B', tree: s.b },
        ],
        s.o,
      );
      assert.deepEqual(
        lost,
        [],
        `${at}, S7: versions found neither in place, in a conflict copy nor in a trash`,
      );

      // S5: a path edited on one side only ends as that side has it, on both.
      const dirtyA = dirtyPaths(s.o, s.a, s.restamped.A);
      const dirtyB = dirtyPaths(s.o, s.b, s.restamped.B);
      const afterA = readTree(r.A);
      const afterB = readTree(r.B);
      const wrong: string[] = [];
      for (const [side, mine, theirs, tree, otherTree] of [
        ['A', dirtyA, dirtyB, s.a, s.b],
        ['B', dirtyB, dirtyA, s.b, s.a],
      ] as const) {
        for (const p of mine) {
          if (theirs.has(p)) continue;
          // Not under a directory the other side deleted or replaced (S10 decides there).
          let under = false;
          for (let q = parentOf(p); q !== ''; q = parentOf(q))
            if (s.o[`${q}/`] && !otherTree[`${q}/`]) under = true;
          if (under) continue;
          const want = state(tree, p);
          const got = [state(afterA, p), state(afterB, p)];
          if (got[0] !== want || got[1] !== want)
            wrong.push(`${p} edited on ${side} only: want ${want}, got A ${got[0]}, B ${got[1]}`);
        }
      }
      assert.deepEqual(wrong, [], `${at}, S5: one-sided edits not propagated exactly`);

      // S4: a path neither side changed is left as it was.
      const touched: string[] = [];
      for (const p of new Set([...Object.keys(s.a), ...Object.keys(s.b)].map(pathOf))) {
        if (dirtyA.has(p) || dirtyB.has(p)) continue;
        if (state(afterA, p) !== state(s.a, p) || state(afterB, p) !== state(s.b, p))
          touched.push(
            `${p}: was ${state(s.a, p)}, now A ${state(afterA, p)}, B ${state(afterB, p)}`,
          );
      }
      assert.deepEqual(touched, [], `${at}, S4: paths changed on neither side were changed`);

      // S12: nothing left to do.
      const tree = readTree(r.A);
      assertIdle(await sync(r, c), `${at}, the run after`);
      assert.deepEqual(readTree(r.A), tree, `${at}: the run after changed A`);
      return 'synced';
    }),
  );
});

const IDLE_COUNTS = {
  created: 0,
  updated: 0,
  deleted: 0,
  moved: 0,
  metadataUpdated: 0,
  conflicts: 0,
  bytesCopied: 0,
};

/** One rename on one side, nothing on the other. */
interface RenameCase {
  tree: DirNode;
  side: 'A' | 'B';
  rename: Extract<Edit, { op: 'rename' }>;
  checksum: boolean;
}

const renameCaseArb: fc.Arbitrary<RenameCase> = fc
  .record({
    tree: treeArb,
    side: fc.constantFrom('A' as const, 'B' as const),
    rename: fc.record({
      op: fc.constant('rename' as const),
      at: pick,
      to: pick,
      name: nameArb,
      when,
    }),
    checksum: fc.boolean(),
  })
  .map((c) =>
    described(c, (x) =>
      [
        `checksum=${x.checksum}`,
        'tree on A (first run):',
        describeTree(x.tree),
        `on ${x.side}:`,
        describeEdits([x.rename]),
      ].join('\n'),
    ),
  );

test('S24 S5 S7 S12 a rename (file, link or directory) on one side is ONE move on the other: no byte copied, nothing created, deleted or trashed, both sides end as the mover has it, and the next run does nothing', async () => {
  await property(renameCaseArb, (c) =>
    withPair(async (r) => {
      materialize(r.A, c.tree, new Clock());
      mkdirSync(r.B);
      assertConverged(r, (await sync(r, c)).summary, 'first run');
      const mover = r[c.side];
      const was = contents(mover);
      applyEdit(mover, c.rename, new Clock(100));
      const want = readTree(mover);
      const renamed = JSON.stringify(contents(mover)) !== JSON.stringify(was);
      const res = await sync(r, c);
      assertConverged(r, res.summary, 'after the rename');
      const { created, updated, deleted, moved, metadataUpdated, conflicts, bytesCopied } =
        res.summary;
      assert.deepEqual(
        { created, updated, deleted, moved, metadataUpdated, conflicts, bytesCopied },
        { ...IDLE_COUNTS, moved: renamed ? 1 : 0 },
        'S24: one move, nothing else',
      );
      // S5 with file modes and mtimes, S7: no version went to a trash (none was dropped).
      for (const root of [r.A, r.B]) {
        const got = readTree(root);
        for (const p of Object.keys(want))
          assert.equal(state(got, pathOf(p)), state(want, pathOf(p)), `S5: ${p}`);
      }
      assert.equal(trashVersions(r).size, 0, 'S7: nothing in a trash');
      assertIdle(await sync(r, c), 'the run after');
    }),
  );
});

/** A first-run pair: `tree` on A, `other` (or `tree` again, same times) on B, then the edits. */
function madeApart(r: Pair, c: FirstCase): void {
  const clock = new Clock();
  materialize(r.A, c.tree, clock);
  materialize(r.B, c.other ?? c.tree, c.other ? clock : new Clock());
  const edits = new Clock(500);
  applyEdits(r.A, c.editsA, edits);
  applyEdits(r.B, c.editsB, edits);
}

test('S13 first run of two trees made apart: nothing deleted, every file and link of either side on both (in place or a conflict copy), A equals B, and a second run does nothing (S12)', async () => {
  await property(firstCaseArb, (c) =>
    withPair(async (r) => {
      madeApart(r, c);
      const before = [
        { side: 'A', tree: contents(r.A) },
        { side: 'B', tree: contents(r.B) },
      ];
      const first = await sync(r, c);
      assert.ok(first.plan.firstRun, 'a first run');
      assert.deepEqual(
        first.plan.ops.filter((o) => o.op === 'delete').map(opLine),
        [],
        'S13: deletions planned',
      );
      assert.equal(first.summary.deleted, 0, 'S13: deleted');
      assertConverged(r, first.summary, 'first run');
      assert.deepEqual(lostVersions(r, before), [], 'S13: versions missing');
      assertIdle(await sync(r, c), 'second run');
    }),
  );
});

/**
 * The edits without putting mtimes back: the same file rewritten so on both sides would tie
 * with itself, and a tie of times is the one asymmetry keep-both is allowed (the name goes to A).
 */
const distinct = (es: Edit[]) =>
  es.map((e) => (e.op === 'rewrite' ? { ...e, keepMtime: false } : e));

/** What the S11 plans are made with: as `sync`, a dry run. */
const planOpts = (r: Pair) => ({
  home: r.home,
  workers: false,
  policy: 'keep-both' as const,
  force: true,
});

/**
 * A path of the (B, A) plan as the (A, B) plan names it: the side letter of a conflict copy
 * this plan makes (of a path in conflict, `originals`) is swapped. Names already on disk stay:
 * a copy an earlier run made is one name in both plans, and so is its own copy's stem or
 * extension (`a.conflict-A-<t1>` has the extension `.conflict-A-<t1>`).
 */
function mirrorPath(p: string, existing: ReadonlySet<string>, originals: string[]): string {
  const parts = p.split('/');
  return parts
    .map((name, i) => {
      const at = parts.slice(0, i + 1).join('/');
      if (existing.has(at)) return name;
      for (const o of originals) {
        const k = parentOf(o) === parentOf(at) ? conflictSideAt(nameOf(o), name) : -1;
        if (k < 0) continue;
        return `${name.slice(0, k)}${name[k] === 'A' ? 'B' : 'A'}${name.slice(k + 1)}`;
      }
      return name;
    })
    .join('/');
}

const swapSide = (s: 'A' | 'B') => (s === 'A' ? 'B' : 'A');

function planLines(p: TwoWayPlan, mirror?: ReadonlySet<string>) {
  const originals = p.conflicts.map((c) => c.conflict.path);
  const path = (x: string) => (mirror ? mirrorPath(x, mirror, originals) : x);
  return {
    ops: p.ops
      .map((o) =>
        opLine({
          ...o,
          side: mirror ? swapSide(o.side) : o.side,
          path: path(o.path),
          ...(o.from ? { from: path(o.from) } : {}),
        }),
      )
      .sort(),
    conflicts: p.conflicts
      .map(({ conflict: c, choice }) => {
        const ch = mirror && (choice === 'A' || choice === 'B') ? swapSide(choice) : choice;
        return `${path(c.path)} ${ch}`;
      })
      .sort(),
    records: p.records.map((x) => `${x.type} ${path(x.path)}`).sort(),
    firstRun: p.firstRun,
  };
}

/**
 * S11: the plan of (B, A), sides swapped, is the plan of (A, B). `ancestor`: what the last run
 * left; its names are no new conflict copies either (one deleted on both sides since).
 */
function assertMirrored(r: Pair, ab: TwoWayPlan, ba: TwoWayPlan, ancestor: Tree = {}): void {
  const existing = new Set(
    [contents(r.A), contents(r.B), ancestor].flatMap((t) => Object.keys(t)).map(pathOf),
  );
  assert.deepEqual(planLines(ba, existing), planLines(ab), 'S11: the plan of (B, A), mirrored');
}

test('S11 symmetry on a first run: planning (B, A) gives the plan of (A, B) with the sides swapped', async () => {
  await property(firstCaseArb, (c) =>
    withPair(async (r) => {
      madeApart(r, { ...c, editsA: distinct(c.editsA), editsB: distinct(c.editsB) });
      const o = { ...planOpts(r), checksum: c.checksum };
      assertMirrored(r, await planTwoWayLocal(r.A, r.B, o), await planTwoWayLocal(r.B, r.A, o));
    }),
  );
});

test('S11 symmetry after edits on both sides: with the pair and its ancestor fixed, planning (B, A) gives the plan of (A, B) with the sides swapped', async () => {
  await property(editCaseArb, (c) =>
    inRounds(
      {
        ...c,
        rounds: c.rounds.map((x) => ({ editsA: distinct(x.editsA), editsB: distinct(x.editsB) })),
      },
      async (r, s) => {
        const o = { ...planOpts(r), checksum: c.checksum };
        const ab = await planTwoWayLocal(r.A, r.B, o);
        assertMirrored(r, ab, await planTwoWayLocal(r.B, r.A, o), s.o);
        return undefined;
      },
    ),
  );
});

// ---------------------------------------------------------------------------------------------
// Counterexamples, readable

function describeTree(root: DirNode): string {
  const lines: string[] = [];
  const rec = (d: DirNode, rel: string) => {
    for (const [name, n] of d.children) {
      const p = JSON.stringify(rel === '' ? name : `${rel}/${name}`);
      if (n.kind === 'dir') {
        lines.push(`  ${p}/ dir 0o${n.mode.toString(8)}`);
        rec(n, rel === '' ? name : `${rel}/${name}`);
      } else if (n.kind === 'file') {
        const bytes = JSON.stringify(Buffer.from(n.content, 'latin1').toString('utf8'));
        lines.push(`  ${p} file 0o${n.mode.toString(8)} ${bytes}`);
      } else lines.push(`  ${p} -> ${JSON.stringify(n.target)}`);
    }
  };
  rec(root, '');
  return lines.length ? lines.join('\n') : '  (empty)';
}

const describeEdits = (es: readonly Edit[]) =>
  es.length ? es.map((e) => `  ${JSON.stringify(e)}`).join('\n') : '  (none)';

function describeEditCase(c: EditCase): string {
  return [
    `checksum=${c.checksum} bMissing=${c.bMissing}`,
    'tree on A (first run):',
    describeTree(c.tree),
    ...c.rounds.flatMap((x, i) => [
      `round ${i + 1}, edits on A:`,
      describeEdits(x.editsA),
      `round ${i + 1}, edits on B:`,
      describeEdits(x.editsB),
    ]),
  ].join('\n');
}

function describeFirstCase(c: FirstCase): string {
  return [
    `checksum=${c.checksum}`,
    'tree on A:',
    describeTree(c.tree),
    'tree on B:',
    c.other ? describeTree(c.other) : '  (the same, same times)',
    'edits on A:',
    describeEdits(c.editsA),
    'edits on B:',
    describeEdits(c.editsB),
  ].join('\n');
}
