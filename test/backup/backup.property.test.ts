/**
 * The backup property (issue 5, S25): random source trees edited between backups taken at
 * injected times t1..tn (the library's `now`; no sleeping), then restoring `/` at any ti gives
 * exactly the source as it was at ti: paths, kinds, bytes, link targets, mtimes and modes
 * (directories' too, the top one included). After each backup the catalog matches B exactly;
 * restoring in place at t1 leaves every point in time restorable (S7).
 */
import assert from 'node:assert/strict';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { Catalog } from '../../src/backup/catalog.ts';
import { restore, restorePoint } from '../../src/backup/restore.ts';
import { backupLocal } from '../../src/backup/run.ts';
import { settle } from '../../src/backup/settle.ts';
import {
  type DirNode,
  describeTree,
  materialize,
  mutate,
  TimeSetter,
  treeArb,
} from '../e2e/arbitraries.ts';
import { readTree, rootMeta, tempDir } from '../e2e/helpers.ts';

const NUM_RUNS = Math.max(40, Number(process.env.CONCORD_PROPERTY_RUNS ?? 0) || 0);
const T0 = Date.UTC(2026, 10, 1, 9, 0, 0);

const times = new TimeSetter();
after(() => times.close());

interface History {
  /** The source at t1..tn (each one an edit of the one before). */
  trees: DirNode[];
  /** Milliseconds between backups: from under a second to days. */
  gaps: number[];
}

const historyArb: fc.Arbitrary<History> = fc
  .record({
    first: treeArb,
    edits: fc.array(
      fc.record({
        other: treeArb,
        picks: fc.array(fc.nat({ max: 9999 }), { minLength: 1, maxLength: 30 }),
        gap: fc.constantFrom(400, 30_000, 3_600_000, 86_400_000 * 3),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .map(({ first, edits }) => {
    const trees = [first];
    for (const e of edits) trees.push(mutate(trees.at(-1) as DirNode, e.other, e.picks, false));
    const h: History = { trees, gaps: edits.map((e) => e.gap) };
    Object.defineProperty(h, fc.toStringMethod, {
      value: () => h.trees.map((t, i) => `t${i + 1}:\n${describeTree(t)}`).join('\n'),
    });
    return h;
  });

/** S25: every file version the catalog holds has its bytes, whole, in B or in history. */
function assertStored(catalog: Catalog, B: string): void {
  for (const v of catalog.versionsUnder('')) {
    if (v.kind !== 'file') continue;
    const b = v.blob === undefined ? undefined : catalog.blob(v.blob);
    const abs = b && catalog.blobPath(B, b);
    assert.ok(abs !== undefined, `${v.path}: bytes kept`);
    const st = lstatSync(abs, { throwIfNoEntry: false });
    assert.ok(st?.isFile() && st.size === v.size, `${v.path}: ${abs} holds ${v.size} bytes`);
  }
}

test('S25: restoring / at any backup time ti gives exactly the source tree as it was at ti', async () => {
  await fc.assert(
    fc.asyncProperty(historyArb, async (h) => {
      const cleanups: (() => void)[] = [];
      try {
        const dir = tempDir({ after: (fn) => cleanups.push(fn) }, 'concord-backup-prop-');
        const B = join(dir, 'B');
        const at: number[] = [];
        let t = T0;
        for (const [i, tree] of h.trees.entries()) {
          // Each ti's source in a folder of its own: a backup's source may be anywhere.
          const A = join(dir, `A${i}`);
          await materialize(A, tree, times);
          const res = await backupLocal(A, B, { now: () => t, workers: false });
          assert.deepEqual(res.summary.problems, []);
          // The catalog records exactly what is on disk: a settling walk finds nothing to add.
          const c = Catalog.open(B, B, { create: false });
          try {
            assert.equal(settle(c, B, res.runId as number, 'none'), 0, `catalog after t${i + 1}`);
          } finally {
            c.close();
          }
          at.push(t);
          t += h.gaps[i] ?? 0;
        }
        const catalog = Catalog.open(B, B, { create: false });
        try {
          assertStored(catalog, B);
          const restoreAll = async (round: string) => {
            for (const [i, when] of at.entries()) {
              // Half the restores ask for a time between two backups: the earlier one counts.
              const asked = i % 2 === 0 ? when : when + 1;
              const point = restorePoint(catalog, B, asked);
              const to = join(dir, `R${round}${i}`);
              const r = await restore(catalog, B, B, '', point, { to });
              assert.deepEqual(r.problems, []);
              const A = join(dir, `A${i}`);
              assert.deepEqual(readTree(to), readTree(A), `restore at t${i + 1}`);
              assert.deepEqual(rootMeta(to), rootMeta(A), `top directory at t${i + 1}`);
            }
          };
          await restoreAll('a');
          // In place (S7): B becomes the first tree, what it replaced goes to history, and
          // every point in time still restores exactly.
          const first = restorePoint(catalog, B, at[0]);
          const r = await restore(catalog, B, B, '', first, { now: () => t });
          assert.deepEqual(r.problems, []);
          assert.deepEqual(readTree(B), readTree(join(dir, 'A0')), 'in place at t1');
          assert.deepEqual(rootMeta(B), rootMeta(join(dir, 'A0')));
          assertStored(catalog, B);
          await restoreAll('b');
        } finally {
          catalog.close();
        }
      } finally {
        for (const fn of cleanups) fn();
      }
    }),
    { numRuns: NUM_RUNS },
  );
});
