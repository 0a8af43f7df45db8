import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { CompareOptions } from '../../src/core/compare.ts';
import type { Entry } from '../../src/core/entry.ts';
import { type MovePair, pairMoves, withMoves } from '../../src/core/moves.ts';
import { basename, comparePaths, isWithin, parent, type RelPath } from '../../src/core/path.ts';
import { ABSENT, ANY_DIR, type Operation, orderPlan, Phase, same } from '../../src/core/plan.ts';
import { CHECKSUM, dir, file, link, ns, QUICK, show } from './fixtures.ts';

/** A subtree as `path -> entry` (names are taken from the paths). */
type Tree = Record<RelPath, Entry>;

const named = (path: RelPath, e: Entry): Entry => ({ ...e, name: basename(path) });

/** The creations a mirror plans for entries new on A: parents first. */
function creations(tree: Tree): Operation[] {
  return sortedPaths(tree).map((path) => {
    const source = named(path, tree[path] as Entry);
    return {
      op: source.kind === 'dir' ? 'mkdir' : 'copy',
      path,
      source,
      pre: ABSENT,
      reason: 'new',
      phase: Phase.Write,
    };
  });
}

/** The deletions a mirror plans for extras on B: parents first, as the walk emits them. */
function deletions(tree: Tree): Operation[] {
  return sortedPaths(tree).map((path) => ({
    op: 'delete',
    path,
    pre: same(named(path, tree[path] as Entry)),
    reason: 'extra',
    phase: Phase.Delete,
  }));
}

const sortedPaths = (tree: Tree) => Object.keys(tree).sort(comparePaths);

/** Every file of a tree with its hash set (the content is known). */
const hashed = (tree: Tree, hashes: Record<RelPath, string>): Tree =>
  Object.fromEntries(
    Object.entries(tree).map(([p, e]) => [p, hashes[p] ? { ...e, hash: hashes[p] } : e]),
  );

interface Case {
  name: string;
  /** New on A, extra on B. */
  a: Tree;
  b: Tree;
  opts?: CompareOptions;
  irregularA?: RelPath[];
  irregularB?: RelPath[];
  /** Hashes the first round asks for (`A path` / `B path`). */
  asks: string[];
  /** Content per side after hashing: path -> hash (unlisted files cannot be read). */
  contentA?: Record<RelPath, string>;
  contentB?: Record<RelPath, string>;
  /** The pairs, `from -> to (kind)`. */
  pairs: string[];
}

const f5 = (p: { mtime?: number; mode?: number } = {}) => file('', { size: 5, ...p });

const cases: Case[] = [
  {
    name: 'S24: a file renamed in its folder is one move, once both hashes agree',
    a: { 'b.txt': f5() },
    b: { 'a.txt': f5() },
    asks: ['A b.txt', 'B a.txt'],
    contentA: { 'b.txt': 'h1' },
    contentB: { 'a.txt': 'h1' },
    pairs: ['a.txt -> b.txt (file)'],
  },
  {
    name: 'S24: same size, mode and mtime, other content: no move',
    a: { 'b.txt': f5() },
    b: { 'a.txt': f5() },
    asks: ['A b.txt', 'B a.txt'],
    contentA: { 'b.txt': 'h1' },
    contentB: { 'a.txt': 'h2' },
    pairs: [],
  },
  {
    name: 'other size, mode or mtime: nothing is read, no move',
    a: { 'b.txt': f5(), 'c.txt': f5({ mode: 0o600 }), 'd.txt': file('', { size: 6 }) },
    b: { 'a.txt': f5({ mtime: 200 }) },
    asks: [],
    pairs: [],
  },
  {
    name: 'an mtime within the tolerance still pairs (--modify-window)',
    a: { 'b.txt': file('', { size: 5, mtime: 101 }) },
    b: { 'a.txt': f5() },
    opts: { checksum: false, mtimeToleranceNs: ns(2) },
    asks: ['A b.txt', 'B a.txt'],
    contentA: { 'b.txt': 'h1' },
    contentB: { 'a.txt': 'h1' },
    pairs: ['a.txt -> b.txt (file)'],
  },
  {
    name: 'empty files never pair: a copy costs nothing',
    a: { 'b.txt': file('', { size: 0 }) },
    b: { 'a.txt': file('', { size: 0 }) },
    asks: [],
    pairs: [],
  },
  {
    name: 'S24: a file that cannot be hashed pairs with nothing',
    a: { 'b.txt': f5() },
    b: { 'a.txt': f5() },
    asks: ['A b.txt', 'B a.txt'],
    contentA: { 'b.txt': 'h1' },
    contentB: {},
    pairs: [],
  },
  {
    name: 'a case-only rename is a move',
    a: { 'photo.jpg': f5() },
    b: { 'Photo.JPG': f5() },
    asks: ['A photo.jpg', 'B Photo.JPG'],
    contentA: { 'photo.jpg': 'h1' },
    contentB: { 'Photo.JPG': 'h1' },
    pairs: ['Photo.JPG -> photo.jpg (file)'],
  },
  {
    name: 'across folders, into a new parent',
    a: { new: dir('new'), 'new/deep': dir('deep'), 'new/deep/x': f5() },
    b: { 'old/sub/x': f5() },
    asks: ['A new/deep/x', 'B old/sub/x'],
    contentA: { 'new/deep/x': 'h1' },
    contentB: { 'old/sub/x': 'h1' },
    pairs: ['old/sub/x -> new/deep/x (file)'],
  },
  {
    name: 'ambiguous: two identical files renamed; each extra is used once, same names pair',
    a: { 'n/one': f5(), 'n/two': f5() },
    b: { 'o/two': f5(), 'o/one': f5() },
    asks: ['A n/one', 'B o/one', 'B o/two', 'A n/two'],
    contentA: { 'n/one': 'h', 'n/two': 'h' },
    contentB: { 'o/one': 'h', 'o/two': 'h' },
    pairs: ['o/one -> n/one (file)', 'o/two -> n/two (file)'],
  },
  {
    name: 'ambiguous: three new copies of one extra: one move, two copies',
    a: { c1: f5(), c2: f5(), c3: f5() },
    b: { orig: f5() },
    asks: ['A c1', 'B orig', 'A c2', 'A c3'],
    contentA: { c1: 'h', c2: 'h', c3: 'h' },
    contentB: { orig: 'h' },
    pairs: ['orig -> c1 (file)'],
  },
  {
    name: 'S24: a renamed folder is one move, decided without reading a byte',
    a: {
      pictures: dir(''),
      'pictures/2020': dir(''),
      'pictures/2020/a.jpg': f5(),
      'pictures/2020/b.jpg': file('', { size: 9, mode: 0o600 }),
      'pictures/ln': link('', '2020/a.jpg'),
      'pictures/empty': dir(''),
    },
    b: {
      photos: dir('', { mtime: 300, mode: 0o700 }),
      'photos/2020': dir(''),
      'photos/2020/a.jpg': f5(),
      'photos/2020/b.jpg': file('', { size: 9, mode: 0o600 }),
      'photos/ln': link('', '2020/a.jpg'),
      'photos/empty': dir(''),
    },
    asks: [],
    pairs: ['photos -> pictures (dir)'],
  },
  {
    name: 'a folder whose file has another mtime or mode does not move whole (that file is copied)',
    a: { n: dir(''), 'n/a': f5(), 'n/b': f5({ mtime: 7 }), 'n/c': f5({ mode: 0o600 }) },
    b: { o: dir(''), 'o/a': f5(), 'o/b': f5({ mtime: 8 }), 'o/c': f5() },
    // o/c is read too: its size, mode and mtime are n/a's.
    asks: ['A n/a', 'B o/a', 'B o/c'],
    contentA: { 'n/a': 'h1' },
    contentB: { 'o/a': 'h1', 'o/c': 'h3' },
    pairs: ['o/a -> n/a (file)'],
  },
  {
    name: '--checksum: a renamed folder is hashed first, then one move',
    a: { n: dir(''), 'n/a': f5(), 'n/b': f5({ mtime: 7 }) },
    b: { o: dir(''), 'o/a': f5(), 'o/b': f5({ mtime: 7 }) },
    opts: CHECKSUM,
    asks: ['B o/a', 'A n/a', 'B o/b', 'A n/b'],
    contentA: { 'n/a': 'h1', 'n/b': 'h2' },
    contentB: { 'o/a': 'h1', 'o/b': 'h2' },
    pairs: ['o -> n (dir)'],
  },
  {
    name: '--checksum: a folder whose content differs moves file by file where the content agrees',
    a: { n: dir(''), 'n/a': f5(), 'n/b': f5({ mtime: 7 }) },
    b: { o: dir(''), 'o/a': f5(), 'o/b': f5({ mtime: 7 }) },
    opts: CHECKSUM,
    asks: ['B o/a', 'A n/a', 'B o/b', 'A n/b'],
    contentA: { 'n/a': 'h1', 'n/b': 'h2' },
    contentB: { 'o/a': 'h1', 'o/b': 'h3' },
    pairs: ['o/a -> n/a (file)'],
  },
  {
    name: 'S24: a folder moved with one file edited: its untouched subfolder moves whole, the rest file by file',
    a: {
      n: dir(''),
      'n/keep': dir(''),
      'n/keep/k1': f5(),
      'n/keep/k2': f5({ mtime: 8 }),
      'n/same': f5({ mtime: 9 }),
      'n/edited': file('', { size: 6, mtime: 10 }),
    },
    b: {
      o: dir(''),
      'o/keep': dir(''),
      'o/keep/k1': f5(),
      'o/keep/k2': f5({ mtime: 8 }),
      'o/same': f5({ mtime: 9 }),
      'o/edited': f5({ mtime: 10 }),
    },
    asks: ['A n/same', 'B o/same'],
    contentA: { 'n/same': 'h1' },
    contentB: { 'o/same': 'h1' },
    pairs: ['o/keep -> n/keep (dir)', 'o/same -> n/same (file)'],
  },
  {
    name: 'a folder holding what the plan does not stand for (excluded, unreadable) never moves whole',
    a: { n: dir(''), 'n/a': f5() },
    b: { o: dir(''), 'o/a': f5() },
    irregularB: ['o'],
    asks: ['A n/a', 'B o/a'],
    contentA: { 'n/a': 'h1' },
    contentB: { 'o/a': 'h1' },
    pairs: ['o/a -> n/a (file)'],
  },
  {
    name: '... nor does its parent (irregular below, on A)',
    a: { n: dir(''), 'n/s': dir(''), 'n/s/a': f5(), 'n/b': f5({ mtime: 3 }) },
    b: { o: dir(''), 'o/s': dir(''), 'o/s/a': f5(), 'o/b': f5({ mtime: 3 }) },
    irregularA: ['n/s'],
    asks: ['A n/b', 'B o/b', 'A n/s/a', 'B o/s/a'],
    contentA: { 'n/b': 'h2', 'n/s/a': 'h1' },
    contentB: { 'o/b': 'h2', 'o/s/a': 'h1' },
    pairs: ['o/b -> n/b (file)', 'o/s/a -> n/s/a (file)'],
  },
  {
    name: 'folders without a file do not move: making them costs no more',
    a: { n: dir(''), 'n/e': dir('') },
    b: { o: dir(''), 'o/e': dir('') },
    asks: [],
    pairs: [],
  },
  {
    name: 'two identical folders renamed: each pairs once, the same name first',
    a: { x2: dir(''), 'x2/f': f5(), y2: dir(''), 'y2/f': f5() },
    b: { y2: dir(''), 'y2/f': f5(), zz: dir(''), 'zz/f': f5() },
    asks: [],
    pairs: ['y2 -> x2 (dir)', 'zz -> y2 (dir)'],
  },
];

function run(c: Case) {
  const input = {
    creations: creations(c.a),
    deletions: deletions(c.b),
    irregularA: new Set(c.irregularA ?? []),
    irregularB: new Set(c.irregularB ?? []),
    opts: c.opts ?? QUICK,
    final: false,
  };
  const first = pairMoves(input);
  const asks = first.needsHash.map((h) => `${h.side} ${h.path}`);
  if (first.needsHash.length === 0) return { asks, match: first };
  for (const h of first.needsHash) {
    const hash = (h.side === 'A' ? c.contentA : c.contentB)?.[h.path];
    if (hash !== undefined) h.entry.hash = hash;
  }
  const second = pairMoves({ ...input, final: true });
  assert.deepEqual(second.needsHash, [], 'the final round asks for nothing');
  return { asks, match: second };
}

const showPair = (p: MovePair) => `${p.from} -> ${p.to} (${p.kind})`;

describe('pairMoves: extras on B paired with creations of the same content', () => {
  for (const c of cases)
    test(c.name, () => {
      const { asks, match } = run(c);
      assert.deepEqual(asks, c.asks, 'hashes asked for');
      assert.deepEqual(match.pairs.map(showPair), c.pairs);
    });

  test('hashes already known (from the index with --checksum) are not asked for again', () => {
    const a = hashed({ 'b.txt': f5() }, { 'b.txt': 'h1' });
    const b = hashed({ 'a.txt': f5() }, { 'a.txt': 'h1' });
    const { asks, match } = run({ name: '', a, b, asks: [], pairs: [] });
    assert.deepEqual(asks, []);
    assert.deepEqual(match.pairs.map(showPair), ['a.txt -> b.txt (file)']);
  });
});

describe('withMoves: the plan with each pair as one move', () => {
  test('S24: a renamed folder is one move and no child operation; its fallback is exactly the operations it replaced', () => {
    const a: Tree = { n: dir(''), 'n/s': dir(''), 'n/s/f': f5(), 'n/g': f5() };
    const b: Tree = { o: dir(''), 'o/s': dir(''), 'o/s/f': f5(), 'o/g': f5() };
    const times: Operation = {
      op: 'set-meta',
      path: 'n',
      source: named('n', dir('')),
      pre: ANY_DIR,
      reason: 'dir-times',
      phase: Phase.DirTimes,
    };
    const other = creations({ 'z.txt': f5({ mtime: 5 }) });
    const ops = [...creations(a), times, ...deletions(b), ...other];
    const { ops: out, fallbacks } = withMoves(ops, [{ from: 'o', to: 'n', kind: 'dir' }]);
    assert.deepEqual(orderPlan(out).map(show), [
      'Write copy z.txt new absent',
      'Write move n moved same',
      'DirTimes set-meta n dir-times dir',
    ]);
    const move = out.find((o) => o.op === 'move') as Operation;
    assert.equal(move.from, 'o');
    assert.equal(move.source?.kind, 'dir');
    assert.deepEqual(move.pre, same(named('o', b.o as Entry)));
    assert.deepEqual((fallbacks.get(move) ?? []).map(show), [
      'Write mkdir n new absent',
      'Write copy n/g new absent',
      'Write mkdir n/s new absent',
      'Write copy n/s/f new absent',
      'Delete delete o/s/f extra same',
      'Delete delete o/s extra same',
      'Delete delete o/g extra same',
      'Delete delete o extra same',
    ]);
  });

  test('a move into a new parent runs after the parent is made; the old parent is deleted after it', () => {
    const a: Tree = { new: dir(''), 'new/x': f5() };
    const b: Tree = { old: dir(''), 'old/y': f5(), 'old/x': f5() };
    const ops = [...creations(a), ...deletions(b)];
    const { ops: out } = withMoves(ops, [{ from: 'old/x', to: 'new/x', kind: 'file' }]);
    assert.deepEqual(orderPlan(out).map(show), [
      'Write mkdir new new absent',
      'Write move new/x moved same',
      'Delete delete old/y extra same',
      'Delete delete old extra same',
    ]);
  });

  test('no pairs: the plan as it was', () => {
    const ops = [...creations({ x: f5() }), ...deletions({ y: f5() })];
    assert.deepEqual(withMoves(ops, []).ops, ops);
  });
});

/**
 * S24 as a law, on a model of B: for any extras and creations (creations drawn partly from the
 * extras, relocated and sometimes edited), B after the plan with moves equals B after the plan
 * without them. The model runs each operation as the executor would: a move renames a whole
 * subtree, carrying B's entries.
 */
describe('S24 law: a plan with moves leaves B as delete + create would', () => {
  type Model = Map<RelPath, Entry>;
  const state = (m: Model, withHash: boolean) =>
    [...m.entries()]
      .map(([p, e]) =>
        e.kind === 'dir'
          ? `${p}/`
          : `${p} ${e.kind} ${e.size} ${e.mode} ${e.mtimeNs} ${withHash ? e.hash : ''} ${e.target ?? ''}`,
      )
      .sort();

  /**
   * Runs the plan on the model as the executor would (orderPlan's order); with `fallbacks`, each
   * move fails and its fallback runs in its place, in the order given.
   */
  function apply(
    start: Model,
    ops: readonly Operation[],
    fallbacks?: ReadonlyMap<Operation, Operation[]>,
  ): Model {
    const m = new Map(start);
    const absentUnderDir = (path: RelPath) => {
      assert.ok(!m.has(path), `${path} must be absent`);
      assert.ok(parent(path) === '' || m.get(parent(path))?.kind === 'dir', `${path}: no parent`);
    };
    const step = (op: Operation) => {
      switch (op.op) {
        case 'mkdir':
        case 'copy':
          absentUnderDir(op.path);
          m.set(op.path, op.source as Entry);
          break;
        case 'delete':
          assert.ok(![...m.keys()].some((p) => p !== op.path && isWithin(p, op.path)));
          m.delete(op.path);
          break;
        case 'move': {
          const instead = fallbacks?.get(op);
          if (instead) {
            for (const alt of instead) step(alt);
            break;
          }
          const from = op.from as RelPath;
          absentUnderDir(op.path);
          for (const [p, e] of [...m.entries()])
            if (isWithin(p, from)) {
              m.delete(p);
              m.set(op.path + p.slice(from.length), e);
            }
          break;
        }
        case 'set-meta':
          break;
      }
    };
    for (const op of orderPlan(ops)) step(op);
    return m;
  }

  const content = fc.record({
    size: fc.integer({ min: 0, max: 3 }),
    mtime: fc.integer({ min: 1, max: 2 }),
    data: fc.integer({ min: 0, max: 2 }),
  });
  // Directory names and file names never overlap, so no path is both.
  const relPath = fc
    .tuple(fc.array(fc.constantFrom('a', 'b'), { maxLength: 2 }), fc.constantFrom('f', 'g', 'h'))
    .map(([dirs, name]) => [...dirs, name].join('/'));
  const files = fc.dictionary(relPath, content, { maxKeys: 8 });
  type Files = Record<string, { size: number; mtime: number; data: number }>;

  /** The files under `top`, with every directory above them up to `top`. */
  function materialize(top: string, files: Files): Tree {
    const out: Tree = { [top]: dir('') };
    for (const [rel, c] of Object.entries(files)) {
      const path = `${top}/${rel}`;
      for (let up = parent(path); up !== top; up = parent(up)) out[up] = dir('');
      out[path] = { ...file('', { size: c.size, mtime: c.mtime }), hash: `h${c.size}-${c.data}` };
    }
    return out;
  }

  test('S24: random extras and creations, some relocated copies of the extras', () => {
    fc.assert(
      fc.property(
        files,
        files,
        fc.constantFrom('o', 'p/o'),
        fc.constantFrom('n', 'x/y'),
        fc.boolean(),
        fc.constantFrom(QUICK, CHECKSUM),
        (old, fresh, fromTop, toTop, copyOld, opts) => {
          const b = materialize(fromTop, old);
          // Often A holds the extras' subtree under a new name, sometimes with other files.
          const a = materialize(toTop, copyOld ? { ...old, ...fresh } : fresh);
          const start: Model = new Map();
          // The tops' parents are on both sides.
          for (const p of ['p', 'x']) start.set(p, named(p, dir('')));
          for (const [p, e] of Object.entries(b)) start.set(p, named(p, e));
          const ops = [...creations(a), ...deletions(b)];
          // Hashes known up front: the law is about the pairing and the rewrite.
          const { pairs } = pairMoves({
            creations: creations(a),
            deletions: deletions(b),
            irregularA: new Set(),
            irregularB: new Set(),
            opts,
            final: true,
          });
          const planned = withMoves(ops, pairs);
          // Without --checksum a folder moves on size, mode and mtime: content is what the
          // quick check says it is, as for every file a mirror leaves alone.
          const seen = (m: Model) => state(m, opts.checksum);
          const expected = seen(apply(start, ops));
          assert.deepEqual(seen(apply(start, planned.ops)), expected);
          // And the fallback of every move, run in its place, gives the same again.
          assert.deepEqual(seen(apply(start, planned.ops, planned.fallbacks)), expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
