import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { CompareOptions } from '../../src/core/compare.ts';
import { sameMtime } from '../../src/core/entry.ts';
import type { OneWayMode } from '../../src/core/oneway.ts';
import { compareNames, parent, type RelPath } from '../../src/core/path.ts';
import { orderPlan } from '../../src/core/plan.ts';
import {
  applyPlan,
  clone,
  type DirNode,
  differences,
  type FileNode,
  type LinkNode,
  lookup,
  type Node,
  nodeDifferences,
  paths,
  planTree,
} from './model.ts';

const NUM_RUNS = 500;

// Few names, so A and B collide often; 'Z' < 'a' < 'é' < U+FFFD < U+1F600 in UTF-8, and the
// last two swap in UTF-16 order.
const name = fc.constantFrom('a', 'b', 'Z', 'é', '\uFFFD', '\u{1F600}');
// 1000 and 1003 are equal within a 5 ns modify window, 2000 is not.
const mtime = fc.constantFrom(1_000n, 1_003n, 2_000n);
const fileArb: fc.Arbitrary<FileNode> = fc.record({
  kind: fc.constant('file' as const),
  // 'x' and 'y' have the same size: only a hash tells them apart.
  content: fc.constantFrom('', 'x', 'y', 'xy'),
  mtime,
  mode: fc.constantFrom(0o644, 0o600),
});
const linkArb: fc.Arbitrary<LinkNode> = fc.record({
  kind: fc.constant('symlink' as const),
  target: fc.constantFrom('a', 'b', '../out'),
  mtime,
});
const { tree } = fc.letrec<{ node: Node; tree: DirNode }>((tie) => ({
  node: fc.oneof({ maxDepth: 3, depthSize: 'small' }, fileArb, linkArb, tie('tree')),
  tree: fc
    .record({
      mtime,
      mode: fc.constantFrom(0o755, 0o700),
      entries: fc.uniqueArray(fc.tuple(name, tie('node')), {
        maxLength: 4,
        selector: ([n]) => n,
      }),
    })
    .map(
      ({ mtime, mode, entries }): DirNode => ({
        kind: 'dir',
        mtime,
        mode,
        children: new Map(entries),
      }),
    ),
}));

/**
 * B built from A and an unrelated tree C, path by path as `picks` say: A's entry (equal), C's
 * (anything), nothing, both directories merged again, or A's entry touched (S3).
 */
function combine(a: DirNode, c: DirNode, picks: readonly number[]): DirNode {
  let k = 0;
  const next = () => (picks.length === 0 ? 0 : (picks[k++ % picks.length] as number));
  const touch = (n: Node): Node => ({ ...clone(n), mtime: n.mtime === 2_000n ? 1_000n : 2_000n });
  const rec = (x: DirNode, y: DirNode): DirNode => {
    const self = next() % 2 === 0 ? x : y;
    const out: DirNode = { kind: 'dir', mtime: self.mtime, mode: self.mode, children: new Map() };
    const names = new Set([...x.children.keys(), ...y.children.keys()]);
    for (const n of [...names].sort(compareNames)) {
      const xa = x.children.get(n);
      const yc = y.children.get(n);
      let b: Node | undefined;
      switch (next() % 5) {
        case 0:
          b = xa && clone(xa);
          break;
        case 1:
          b = yc && clone(yc);
          break;
        case 2:
          b = undefined;
          break;
        case 3:
          b = xa?.kind === 'dir' && yc?.kind === 'dir' ? rec(xa, yc) : xa && clone(xa);
          break;
        default:
          b = xa && touch(xa);
      }
      if (b) out.children.set(n, b);
    }
    return out;
  };
  return rec(a, c);
}

/**
 * Without --checksum, equal size and mtime are trusted as equal content (rsync's quick check):
 * a B that breaks that assumption is outside the contract, so give such files A's content.
 */
function honourQuickCheck(a: DirNode, b: DirNode, tol: bigint): void {
  for (const [n, y] of b.children) {
    const x = a.children.get(n);
    if (x?.kind === 'dir' && y.kind === 'dir') honourQuickCheck(x, y, tol);
    else if (
      x?.kind === 'file' &&
      y.kind === 'file' &&
      x.content.length === y.content.length &&
      sameMtime(x.mtime, y.mtime, tol)
    )
      y.content = x.content;
  }
}

interface Scenario {
  src: DirNode;
  /** undefined: B's root does not exist yet. */
  dst: DirNode | undefined;
  opts: CompareOptions;
}

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    src: tree,
    other: tree,
    picks: fc.array(fc.nat(), { maxLength: 40 }),
    checksum: fc.boolean(),
    tolerance: fc.constantFrom(0n, 5n),
    dstMissing: fc.nat(9).map((n) => n === 0),
  })
  .map(({ src, other, picks, checksum, tolerance, dstMissing }) => {
    const dst = combine(src, other, picks);
    if (!checksum) honourQuickCheck(src, dst, tolerance);
    return {
      src,
      dst: dstMissing ? undefined : dst,
      opts: { checksum, mtimeToleranceNs: tolerance },
    };
  });

function sync(s: Scenario, mode: OneWayMode) {
  const plan = planTree(s.src, s.dst, mode, s.opts);
  const after = applyPlan(orderPlan(plan.ops), s.src, s.dst);
  return { plan, after };
}

/** A path where A has a file or symlink and B a directory: replica's kind conflict. */
function isKindConflict(s: Scenario, p: RelPath): boolean {
  const x = lookup(s.src, p);
  const y = s.dst && lookup(s.dst, p);
  return x !== undefined && x.kind !== 'dir' && y?.kind === 'dir';
}

function within(p: RelPath, ancestors: readonly RelPath[]): boolean {
  return ancestors.some((q) => p === q || p.startsWith(`${q}/`));
}

// The law includes the root's own mtime and mode (a regression once: an existing root never
// got them, since only a parent sets a directory's differing metadata).
describe('diffOneWay over whole trees (fast-check)', () => {
  test('S25 mirror: after the plan is applied, B equals A', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { plan, after } = sync(s, 'mirror');
        assert.deepEqual(plan.problems, []);
        assert.deepEqual(differences(s.src, after, s.opts.mtimeToleranceNs, ''), []);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('S25 replica: B holds every entry of A, except reported kind conflicts', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { plan, after } = sync(s, 'replica');
        const conflicts = plan.problems.map((p) => p.path);
        for (const p of plan.problems) {
          assert.equal(p.code, 'kind-conflict');
          assert.ok(isKindConflict(s, p.path), `${p.path} is not a kind conflict`);
        }
        for (const p of paths(s.src)) {
          if (within(p, conflicts)) continue;
          const tol = s.opts.mtimeToleranceNs;
          assert.deepEqual(nodeDifferences(lookup(s.src, p), lookup(after, p), tol, p), []);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('S25 replica: never deletes on B except a file or symlink making room for a directory', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { plan, after } = sync(s, 'replica');
        for (const op of plan.ops.filter((o) => o.op === 'delete')) {
          assert.equal(op.reason, 'replaced');
          assert.equal(lookup(s.src, op.path)?.kind, 'dir');
          assert.notEqual(s.dst && lookup(s.dst, op.path)?.kind, 'dir');
        }
        // Entries of B that A lacks, and B's subtrees under a kind conflict, are untouched,
        // times included: nothing is written into them.
        if (!s.dst) return;
        for (const p of paths(s.dst)) {
          const untouched =
            lookup(s.src, p) === undefined ||
            within(
              p,
              paths(s.dst).filter((q) => isKindConflict(s, q)),
            );
          if (!untouched) continue;
          assert.deepEqual(differences(lookup(s.dst, p), lookup(after, p), 0n, p), []);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('S12 replica and mirror: a second run on the result plans nothing', () => {
    fc.assert(
      fc.property(scenario, fc.constantFrom<OneWayMode>('replica', 'mirror'), (s, mode) => {
        const { after } = sync(s, mode);
        const again = planTree(s.src, after, mode, s.opts);
        assert.deepEqual(again.ops, []);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('S12 mirror: the plan for a B that already equals A is empty', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const copy = clone(s.src);
        assert.deepEqual(planTree(s.src, copy, 'mirror', s.opts).ops, []);
        assert.deepEqual(planTree(s.src, copy, 'replica', s.opts).ops, []);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

// Sanity of the model itself, so a passing law means something.
describe('the in-memory tree model', () => {
  test('combine keeps B a tree of unique names, and paths are parent-first', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        if (!s.dst) return;
        const ps = paths(s.dst);
        assert.equal(new Set(ps).size, ps.length);
        for (const p of ps) if (parent(p) !== '') assert.ok(ps.indexOf(parent(p)) < ps.indexOf(p));
        assert.ok(ps.every((p) => lookup(s.dst as DirNode, p) !== undefined));
      }),
      { numRuns: 50 },
    );
  });
});
