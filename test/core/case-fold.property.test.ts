/**
 * S23 as a property of the pure core: random source and target directories whose names
 * differ by case, onto a target that cannot tell case apart (diffOneWay with caseInsensitive).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { foldName } from '../../src/core/case-fold.ts';
import type { Entry } from '../../src/core/entry.ts';
import { diffOneWay } from '../../src/core/oneway.ts';
import { basename, compareNames } from '../../src/core/path.ts';
import type { Operation } from '../../src/core/plan.ts';
import { dir, file, QUICK } from './fixtures.ts';

const NAMES = ['a', 'A', 'b', 'B', 'ab', 'aB', 'Ab', 'é', 'É', 'e\u0301'];

const entry = (name: string): fc.Arbitrary<Entry> =>
  fc
    .record({ isDir: fc.boolean(), size: fc.constantFrom(1, 2), mtime: fc.constantFrom(10, 20) })
    .map(({ isDir, size, mtime }) => (isDir ? dir(name, { mtime }) : file(name, { size, mtime })));

const listing = (names: string[]) =>
  fc.tuple(...[...names].sort(compareNames).map(entry)).map((es) => es as Entry[]);

const shown = (ops: Operation[]) =>
  ops.map((o) => `${o.op} ${o.path}${o.from === undefined ? '' : ` <- ${o.from}`}`).join(', ');

/** A case-insensitive target holds at most one name per fold. */
const targetNames = fc
  .subarray(NAMES)
  .map((ns) => [...new Map(ns.map((n) => [foldName(n), n])).values()]);

test('S23 property: onto a case-insensitive target, no two source entries write one name, a rename is never undone by a deletion, nothing under a clashing name is touched, and every other source name is brought over', () => {
  fc.assert(
    fc.property(
      fc.subarray(NAMES).chain(listing),
      targetNames.chain(listing),
      fc.constantFrom('mirror' as const, 'replica' as const),
      (src, dst, mode) => {
        const out = diffOneWay({
          dir: '',
          srcSelf: undefined,
          dstSelf: dir(''),
          src,
          dst,
          protectedNames: new Set(),
          mode,
          opts: QUICK,
          caseInsensitive: true,
        });
        const folds = new Map<string, number>();
        for (const e of src) folds.set(foldName(e.name), (folds.get(foldName(e.name)) ?? 0) + 1);
        const clashing = (name: string) => (folds.get(foldName(name)) ?? 0) > 1;
        const entryOps = out.ops.filter((o) => o.path !== '');
        // The writes (create, replace, rename to) that land on one target name all use one
        // spelling: two source entries never write over each other.
        const spelling = new Map<string, string>();
        for (const o of entryOps) {
          if (o.op !== 'copy' && o.op !== 'mkdir' && o.op !== 'move') continue;
          const key = foldName(basename(o.path));
          const before = spelling.get(key);
          assert.ok(before === undefined || before === o.path, shown(entryOps));
          spelling.set(key, o.path);
        }
        // A rename's source and target are not also deleted by the same plan (deletions of
        // kind changes run first: the rename would find nothing).
        for (const m of entryOps.filter((o) => o.op === 'move'))
          assert.ok(
            !entryOps.some((o) => o.op === 'delete' && (o.path === m.path || o.path === m.from)),
            shown(entryOps),
          );
        // Nothing is done under a name that clashes on the source: reported, left alone.
        for (const o of entryOps) {
          assert.ok(!clashing(basename(o.path)), `${o.op} ${o.path}`);
          if (o.from !== undefined)
            assert.ok(!clashing(basename(o.from)), `${o.op} from ${o.from}`);
        }
        for (const e of src)
          if (clashing(e.name))
            assert.ok(
              out.problems.some((p) => p.code === 'case-conflict' && p.path === e.name),
              `${e.name} reported`,
            );
        // Every other source name ends under its own spelling: already there (work on it or
        // inside it aside), or written or renamed to it by this plan.
        for (const e of src) {
          if (clashing(e.name)) continue;
          const there = dst.find((d) => foldName(d.name) === foldName(e.name));
          const exact = there?.name === e.name;
          const writes = entryOps.some(
            (o) => o.path === e.name && (o.op === 'copy' || o.op === 'mkdir' || o.op === 'move'),
          );
          // (Or left and reported: replica never replaces a directory by a file.)
          const reported = out.problems.some((p) => p.path === e.name);
          assert.ok(
            exact || writes || reported,
            `${e.name}: target holds ${there?.name ?? 'nothing'}; ops ${shown(entryOps)}`,
          );
        }
      },
    ),
    { numRuns: 3000 },
  );
});
