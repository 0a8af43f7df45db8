import assert from 'node:assert/strict';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { syncTwoWayLocal } from '../../src/twoway-local.ts';
import { roots } from './helpers.ts';

const names = (dir: string) =>
  readdirSync(dir)
    .filter((n) => n !== '.concord')
    .sort();

test('S23: a case-only rename on one side is a rename on the other, nothing lost, no conflict', async (t) => {
  const { A, B } = roots(t, { 'Report.txt': 'the report', 'Dir/x.txt': 'x' });
  await syncTwoWayLocal(A, B, { workers: false });
  renameSync(join(A, 'Report.txt'), join(A, 'report.txt'));
  renameSync(join(B, 'Dir'), join(B, 'dir'));
  const r = await syncTwoWayLocal(A, B, { workers: false });
  assert.equal(r.summary.conflicts, 0);
  assert.deepEqual(r.summary.problems, []);
  assert.deepEqual(names(A), ['dir', 'report.txt']);
  assert.deepEqual(names(B), ['dir', 'report.txt']);
  assert.equal(readFileSync(join(B, 'report.txt'), 'utf8'), 'the report');
  assert.equal(readFileSync(join(A, 'dir/x.txt'), 'utf8'), 'x');
  // S12: the next run has nothing to do.
  const again = await syncTwoWayLocal(A, B, { workers: false });
  assert.equal(again.plan.ops.length, 0);
});

test('S5: a file renamed on A and edited on B: the edit survives beside the rename (S9)', async (t) => {
  const { A, B } = roots(t, { 'old.txt': 'v1' });
  await syncTwoWayLocal(A, B, { workers: false });
  renameSync(join(A, 'old.txt'), join(A, 'new.txt'));
  writeFileSync(join(B, 'old.txt'), 'v2 from B');
  const r = await syncTwoWayLocal(A, B, { workers: false });
  assert.deepEqual(r.summary.problems, []);
  for (const root of [A, B]) {
    assert.deepEqual(names(root), ['new.txt', 'old.txt']);
    assert.equal(readFileSync(join(root, 'new.txt'), 'utf8'), 'v1');
    assert.equal(readFileSync(join(root, 'old.txt'), 'utf8'), 'v2 from B');
  }
});
