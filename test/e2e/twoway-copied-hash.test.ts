import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { syncTwoWayLocal } from '../../src/twoway-local.ts';
import { roots } from './helpers.ts';

const trashed = (root: string): string[] => {
  const trash = join(root, '.concord', 'trash');
  if (!existsSync(trash)) return [];
  return readdirSync(trash).flatMap((run) => readdirSync(join(trash, run)));
};

/**
 * A file the sync copied, then renamed away and back on the side it was copied to: its inode
 * and ctime changed, its bytes did not. Deleted meanwhile on the other side, the deletion
 * must win (S5): the ancestor holds the hash the copy took of the bytes it wrote.
 */
async function deletionBeatsRenameBack(
  t: test.TestContext,
  count: number,
  workers: boolean,
): Promise<void> {
  const files: Record<string, string> = {};
  const kept = { 'kept.txt': 'stays on both sides' };
  for (let i = 0; i < count; i++) files[`f${i}.txt`] = `content ${i}`;
  const { A, B } = roots(t, { ...files, ...kept });
  const first = await syncTwoWayLocal(A, B, { workers });
  assert.equal(first.summary.created, count + 1);
  for (const name of Object.keys(files)) {
    renameSync(join(B, name), join(B, `${name}.away`));
    renameSync(join(B, `${name}.away`), join(B, name));
    rmSync(join(A, name));
  }
  // force: the mass-delete guard (S20, tested on its own) would stop a run deleting most files.
  const r = await syncTwoWayLocal(A, B, { workers, force: true });
  assert.deepEqual(r.summary.problems, []);
  assert.equal(r.summary.conflicts, 0);
  assert.equal(r.summary.deleted, count, 'every deletion on A reached B');
  assert.equal(r.summary.created, 0, 'nothing came back to A');
  for (const root of [A, B])
    assert.deepEqual(
      readdirSync(root).filter((n) => n !== '.concord'),
      ['kept.txt'],
    );
  // S7: B's copies are in B's trash, bytes intact.
  assert.equal(trashed(B).length, count);
  const trash = join(B, '.concord', 'trash');
  const run = readdirSync(trash)[0] as string;
  assert.equal(readFileSync(join(trash, run, 'f0.txt'), 'utf8'), 'content 0');
}

test('S5 S7: a copied file renamed away and back on its side is unchanged, so a deletion on the other side wins (copy on the main thread)', async (t) => {
  await deletionBeatsRenameBack(t, 3, false);
});

test('S5 S7: the same through the worker pool (more copies than the main thread makes before the pool)', async (t) => {
  await deletionBeatsRenameBack(t, 260, true);
});
