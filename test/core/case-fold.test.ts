/**
 * S23 in the pure core: names equal but for case on a root that cannot tell them apart, and
 * modes where a root cannot keep them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { caseCollisions, caseConflicts, foldName } from '../../src/core/case-fold.ts';
import { compareEntries } from '../../src/core/compare.ts';
import { diffOneWay } from '../../src/core/oneway.ts';
import { type Base, changeOf } from '../../src/core/reconcile.ts';
import { dir, file, QUICK, show, sorted } from './fixtures.ts';

const named = (...names: string[]) => names.map((name) => ({ name }));

describe('foldName and caseCollisions', () => {
  test('names equal but for case, also beyond ASCII and across Unicode normalization, share a key', () => {
    assert.equal(foldName('README.md'), foldName('readme.MD'));
    assert.equal(foldName('ÉTÉ'), foldName('été'));
    assert.equal(foldName('e\u0301t\u00e9'), foldName('\u00e9t\u00e9'), 'NFD and NFC');
    assert.notEqual(foldName('a.txt'), foldName('b.txt'));
  });

  test('groups hold only names that collide', () => {
    assert.deepEqual(
      [...caseCollisions(['A', 'a', 'b', 'Cc', 'cC', 'CC', 'd']).values()],
      [
        ['A', 'a'],
        ['Cc', 'cC', 'CC'],
      ],
    );
  });
});

/** The operations on entries (the directory's own times are restored after any write). */
const entryOps = (ops: Parameters<typeof show>[0][]) =>
  ops.map(show).filter((line) => !line.startsWith('DirTimes'));

describe('S23 one-way onto a case-insensitive target (diffOneWay with caseInsensitive)', () => {
  const run = (src: ReturnType<typeof file>[], dst: ReturnType<typeof file>[]) =>
    diffOneWay({
      dir: 'd',
      srcSelf: dir('d'),
      dstSelf: dir('d'),
      src: sorted(src),
      dst: sorted(dst),
      protectedNames: new Set(),
      mode: 'mirror',
      opts: QUICK,
      caseInsensitive: true,
    });

  test('two source names equal but for case: neither copied, the target entry under that name neither overwritten nor deleted, both reported', () => {
    const out = run([file('X', { size: 1 }), file('x', { size: 2 }), file('y')], [file('x')]);
    assert.deepEqual(entryOps(out.ops), ['Write copy d/y new absent']);
    assert.deepEqual(
      out.problems.map((p) => [p.path, p.code, p.side]),
      [
        ['d/X', 'case-conflict', 'B'],
        ['d/x', 'case-conflict', 'B'],
      ],
    );
  });

  test('a case-only rename on the source renames the target entry first, then compares it under the new name', () => {
    const out = run([file('Report.TXT', { size: 5 })], [file('report.txt', { size: 4 })]);
    assert.deepEqual(entryOps(out.ops), [
      'Write move d/Report.TXT moved same',
      'Write copy d/Report.TXT modified same',
    ]);
    assert.equal(out.ops.find((o) => o.op === 'move')?.from, 'd/report.txt');
    assert.deepEqual(out.problems, []);
  });

  test('without caseInsensitive, the same listings are a delete and a create (a case-sensitive target holds both)', () => {
    const out = diffOneWay({
      dir: 'd',
      srcSelf: dir('d'),
      dstSelf: dir('d'),
      src: [file('Report.TXT')],
      dst: [file('report.txt')],
      protectedNames: new Set(),
      mode: 'mirror',
      opts: QUICK,
    });
    assert.deepEqual(entryOps(out.ops).sort(), [
      'Delete delete d/report.txt extra same',
      'Write copy d/Report.TXT new absent',
    ]);
  });
});

describe('S23 two-way where a root is case-insensitive (caseConflicts)', () => {
  const cases: { name: string; a: string[]; b: string[]; base: string[]; left: string[] }[] = [
    {
      name: 'one side holds two names equal but for case: both left alone',
      a: ['F', 'f'],
      b: [],
      base: [],
      left: ['F', 'f'],
    },
    {
      name: 'a name already in sync, and one equal but for case new beside it: both left alone',
      a: ['f', 'F'],
      b: ['f'],
      base: ['f'],
      left: ['f', 'F'],
    },
    {
      name: 'each side made the name anew, spelled differently: left alone',
      a: ['Todo'],
      b: ['TODO'],
      base: [],
      left: ['Todo', 'TODO'],
    },
    {
      name: 'a case-only rename on A (B keeps the ancestor spelling): travels, no conflict',
      a: ['Todo'],
      b: ['todo'],
      base: ['todo'],
      left: [],
    },
    {
      name: 'a case-only rename on B: travels, no conflict',
      a: ['todo'],
      b: ['TODO'],
      base: ['todo'],
      left: [],
    },
    { name: 'the same spelling on both sides: nothing', a: ['x'], b: ['x'], base: [], left: [] },
  ];
  for (const c of cases)
    test(c.name, () => {
      const out = caseConflicts(named(...c.a), named(...c.b), named(...c.base));
      assert.deepEqual([...out.keys()].sort(), [...c.left].sort());
      // Symmetric (S11): swapping the sides leaves the same names alone.
      const swapped = caseConflicts(named(...c.b), named(...c.a), named(...c.base));
      assert.deepEqual([...swapped.keys()].sort(), [...c.left].sort());
    });
});

describe('modes where a root keeps none (ignoreModes)', () => {
  test('one-way: a mode difference alone is no difference', () => {
    const src = file('f', { mode: 0o600 });
    const dst = file('f', { mode: 0o777 });
    assert.equal(compareEntries(src, dst, QUICK), 'meta');
    assert.equal(compareEntries(src, dst, { ...QUICK, ignoreModes: true }), 'same');
  });

  test('two-way: a mode that moved away from the ancestor is no change', () => {
    const o: Base = { name: 'f', kind: 'file', size: 1, mtimeNs: 100_000_000_000n, mode: 0o644 };
    const x = { ...file('f', { mode: 0o777 }), hash: 'h' };
    const opts = { mtimeToleranceNs: 0n, checksum: false };
    assert.equal(changeOf(x, { ...o, hash: 'h' }, 'A', opts), 'meta');
    assert.equal(changeOf(x, { ...o, hash: 'h' }, 'A', { ...opts, ignoreModes: true }), 'none');
  });
});
