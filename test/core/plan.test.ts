import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isWithin } from '../../src/core/path.ts';
import {
  countPlan,
  deletions,
  type Operation,
  orderPlan,
  Phase,
  type PlanCounts,
} from '../../src/core/plan.ts';
import { dir, file, link, op, QUICK, show } from './fixtures.ts';
import { applyPlan, type DirNode, type Node, planTree } from './model.ts';

describe('orderPlan', () => {
  const cases: { name: string; emitted: Operation[]; expect: string[] }[] = [
    { name: 'an empty plan stays empty', emitted: [], expect: [] },
    {
      name: 'phases run in order: Clear, Write, Delete, DirTimes',
      emitted: [
        op('DirTimes', 'set-meta', '', 'dir-times', dir('')),
        op('Delete', 'delete', 'old', 'extra'),
        op('Write', 'copy', 'x', 'kind-changed', file('x')),
        op('Clear', 'delete', 'x', 'replaced'),
      ],
      expect: [
        'Clear delete x replaced same',
        'Write copy x kind-changed absent',
        'Delete delete old extra same',
        'DirTimes set-meta . dir-times dir',
      ],
    },
    {
      name: 'Clear deletions run children-first',
      emitted: [
        op('Clear', 'delete', 'x', 'replaced'),
        op('Clear', 'delete', 'x/a', 'replaced'),
        op('Clear', 'delete', 'x/a/b', 'replaced'),
      ],
      expect: [
        'Clear delete x/a/b replaced same',
        'Clear delete x/a replaced same',
        'Clear delete x replaced same',
      ],
    },
    {
      name: 'writes run parent-first, in the order emitted',
      emitted: [
        op('Write', 'mkdir', 'd', 'new', dir('d')),
        op('Write', 'copy', 'd/f', 'new', file('f')),
        op('Write', 'mkdir', 'd/s', 'new', dir('s')),
        op('Write', 'copy', 'd/s/g', 'new', file('g')),
      ],
      expect: [
        'Write mkdir d new absent',
        'Write copy d/f new absent',
        'Write mkdir d/s new absent',
        'Write copy d/s/g new absent',
      ],
    },
    {
      name: 'extras are deleted children-first',
      emitted: [
        op('Delete', 'delete', 'e', 'extra'),
        op('Delete', 'delete', 'e/f', 'extra'),
        op('Delete', 'delete', 'e/s', 'extra'),
        op('Delete', 'delete', 'e/s/g', 'extra'),
      ],
      expect: [
        'Delete delete e/s/g extra same',
        'Delete delete e/s extra same',
        'Delete delete e/f extra same',
        'Delete delete e extra same',
      ],
    },
    {
      name: 'directory times are set children-first',
      emitted: [
        op('DirTimes', 'set-meta', '', 'dir-times', dir('')),
        op('DirTimes', 'set-meta', 'd', 'metadata', dir('d')),
        op('DirTimes', 'set-meta', 'd/s', 'dir-times', dir('s')),
      ],
      expect: [
        'DirTimes set-meta d/s dir-times dir',
        'DirTimes set-meta d metadata dir',
        'DirTimes set-meta . dir-times dir',
      ],
    },
    {
      name: 'phases interleaved as the engine emits them are regrouped',
      emitted: [
        op('Write', 'copy', 'a', 'new', file('a')),
        op('Delete', 'delete', 'b', 'extra'),
        op('DirTimes', 'set-meta', '', 'dir-times', dir('')),
        op('Write', 'copy', 'c/d', 'new', file('d')),
        op('Delete', 'delete', 'c/e', 'extra'),
        op('DirTimes', 'set-meta', 'c', 'dir-times', dir('c')),
      ],
      expect: [
        'Write copy a new absent',
        'Write copy c/d new absent',
        'Delete delete c/e extra same',
        'Delete delete b extra same',
        'DirTimes set-meta c dir-times dir',
        'DirTimes set-meta . dir-times dir',
      ],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const before = c.emitted.map(show);
      assert.deepEqual(orderPlan(c.emitted).map(show), c.expect);
      assert.deepEqual(c.emitted.map(show), before, 'the input is left as it was');
    });
  }
});

describe('countPlan and deletions', () => {
  const zero: PlanCounts = {
    created: 0,
    updated: 0,
    deleted: 0,
    metadataUpdated: 0,
    moved: 0,
    bytesToCopy: 0,
  };
  const cases: {
    name: string;
    ops: Operation[];
    expect: Partial<PlanCounts>;
    deletions: number;
  }[] = [
    { name: 'an empty plan counts nothing', ops: [], expect: {}, deletions: 0 },
    {
      name: 'a new file is created, its bytes to copy',
      ops: [op('Write', 'copy', 'f', 'new', file('f', { size: 10 }))],
      expect: { created: 1, bytesToCopy: 10 },
      deletions: 0,
    },
    {
      name: 'a new directory is created, no bytes',
      ops: [op('Write', 'mkdir', 'd', 'new', dir('d'))],
      expect: { created: 1 },
      deletions: 0,
    },
    {
      name: 'a new symlink is created, no bytes',
      ops: [op('Write', 'copy', 'l', 'new', link('l', 'target'))],
      expect: { created: 1 },
      deletions: 0,
    },
    {
      name: 'a modified file is updated, its bytes to copy',
      ops: [op('Write', 'copy', 'f', 'modified', file('f', { size: 7 }))],
      expect: { updated: 1, bytesToCopy: 7 },
      deletions: 0,
    },
    {
      name: 'a metadata-only change copies nothing',
      ops: [op('Write', 'set-meta', 'f', 'metadata', file('f', { size: 7 }))],
      expect: { metadataUpdated: 1 },
      deletions: 0,
    },
    {
      name: 'a move counts as a move, not a deletion, and copies no bytes (S24)',
      ops: [{ ...op('Write', 'move', 'b/x', 'moved', file('b/x', { size: 9 })), from: 'a/x' }],
      expect: { moved: 1 },
      deletions: 0,
    },
    {
      name: 'directory times are not counted',
      ops: [op('DirTimes', 'set-meta', '', 'dir-times', dir(''))],
      expect: {},
      deletions: 0,
    },
    {
      name: 'a kind change counts one deletion and one update',
      ops: [
        op('Clear', 'delete', 'x', 'replaced'),
        op('Write', 'copy', 'x', 'kind-changed', file('x', { size: 3 })),
      ],
      expect: { deleted: 1, updated: 1, bytesToCopy: 3 },
      deletions: 1,
    },
    {
      name: 'an extra subtree counts every entry deleted',
      ops: [
        op('Delete', 'delete', 'e', 'extra'),
        op('Delete', 'delete', 'e/f', 'extra'),
        op('Delete', 'delete', 'e/g', 'extra'),
      ],
      expect: { deleted: 3 },
      deletions: 3,
    },
    {
      name: 'a mixed plan sums by reason',
      ops: [
        op('Write', 'copy', 'a', 'new', file('a', { size: 1 })),
        op('Write', 'copy', 'b', 'new', file('b', { size: 2 })),
        op('Write', 'copy', 'c', 'modified', file('c', { size: 4 })),
        op('Write', 'set-meta', 'd', 'metadata', file('d')),
        op('DirTimes', 'set-meta', 'e', 'metadata', dir('e')),
        op('Delete', 'delete', 'f', 'extra'),
        op('DirTimes', 'set-meta', '', 'dir-times', dir('')),
      ],
      expect: { created: 2, updated: 1, metadataUpdated: 2, deleted: 1, bytesToCopy: 7 },
      deletions: 1,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(countPlan(c.ops), { ...zero, ...c.expect });
      assert.equal(deletions(c.ops), c.deletions);
    });
  }
});

// Whole trees planned by diffOneWay, the way the engine walks them, then ordered.
const T1 = 1_000n;
const T2 = 2_000n;
const f = (content: string, mtime = T1): Node => ({ kind: 'file', content, mtime, mode: 0o644 });
const d = (children: Record<string, Node>, mtime = T1): DirNode => ({
  kind: 'dir',
  mtime,
  mode: 0o755,
  children: new Map(Object.entries(children)),
});

// Something of every kind: a new subtree, a directory replacing a file, a file replacing a
// subtree, extras several levels deep, directories whose own times differ with writes inside.
const SRC = d({
  keep: d({ sub: d({ g: f('new') }, T2), h: f('h') }, T2),
  made: d({ deep: d({ x: f('x') }) }),
  wasFile: d({ y: f('y') }),
  wasDir: f('now a file'),
  top: f('top'),
});
const DST = d({
  keep: d({ sub: d({}, T1), h: f('h'), extra: d({ e1: f('e1'), deeper: d({ e2: f('e2') }) }) }),
  wasFile: f('old'),
  wasDir: d({ a: d({ b: f('b') }) }),
  gone: d({ g1: f('g1') }),
});

function orderedTreePlan(): Operation[] {
  const plan = planTree(SRC, DST, 'mirror', QUICK);
  assert.deepEqual(plan.problems, []);
  return orderPlan(plan.ops);
}

/** Pairs (earlier, later) within one phase where the later op's path lies inside the earlier's. */
function ancestorBeforeDescendant(ops: readonly Operation[], phase: Phase): string[] {
  const inPhase = ops.filter((o) => o.phase === phase);
  const bad: string[] = [];
  inPhase.forEach((a, i) => {
    for (const b of inPhase.slice(i + 1))
      if (a.path !== b.path && isWithin(b.path, a.path)) bad.push(`${show(a)}  before  ${show(b)}`);
  });
  return bad;
}

function descendantBeforeAncestor(ops: readonly Operation[], phase: Phase): string[] {
  const inPhase = ops.filter((o) => o.phase === phase);
  const bad: string[] = [];
  inPhase.forEach((a, i) => {
    for (const b of inPhase.slice(i + 1))
      if (a.path !== b.path && isWithin(a.path, b.path)) bad.push(`${show(a)}  before  ${show(b)}`);
  });
  return bad;
}

describe('orderPlan over a whole mirror plan', () => {
  test('the plan applies cleanly and B equals A afterwards (the fixture is sound)', () => {
    const after = applyPlan(orderedTreePlan(), SRC, DST);
    assert.deepEqual([...after.children.keys()].sort(), [...SRC.children.keys()].sort());
    assert.deepEqual(orderPlan(planTree(SRC, after, 'mirror', QUICK).ops).map(show), []);
  });
  test('Clear deletions run children-first', () => {
    const ops = orderedTreePlan();
    assert.ok(ops.some((o) => o.phase === Phase.Clear));
    assert.deepEqual(ancestorBeforeDescendant(ops, Phase.Clear), []);
  });
  test('writes run parent-first', () => {
    const ops = orderedTreePlan();
    assert.deepEqual(descendantBeforeAncestor(ops, Phase.Write), []);
  });
  test('extras are deleted children-first', () => {
    const ops = orderedTreePlan();
    assert.ok(ops.some((o) => o.phase === Phase.Delete));
    assert.deepEqual(ancestorBeforeDescendant(ops, Phase.Delete), []);
  });
  test('directory times are set children-first', () => {
    const ops = orderedTreePlan();
    assert.deepEqual(ancestorBeforeDescendant(ops, Phase.DirTimes), []);
  });
  test("a directory's own dir-times runs after its subdirectory's metadata", () => {
    // p is written into (dir-times p); its child s only has other times (metadata p/s).
    const src = d({ p: d({ new: f('n'), s: d({}, T2) }) });
    const dst = d({ p: d({ s: d({}, T1) }) });
    const times = orderPlan(planTree(src, dst, 'mirror', QUICK).ops)
      .filter((o) => o.phase === Phase.DirTimes)
      .map(show);
    assert.deepEqual(times, [
      'DirTimes set-meta p/s metadata dir',
      'DirTimes set-meta p dir-times dir',
    ]);
  });
});
