import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { syncTwoWayLocal } from '../../src/twoway-local.ts';
import { roots, T2 } from './helpers.ts';

const sync = (
  A: string,
  B: string,
  rules: { type: 'exclude' | 'include'; pattern: string }[] = [],
) => syncTwoWayLocal(A, B, { workers: false, rules });

test('S21: a path that became excluded is untracked, never deleted; its changes stay put', async (t) => {
  const { A, B } = roots(t, {
    'keep.txt': 'k',
    'notes/a.log': 'log a',
    'notes/b.txt': 'b',
    'old.log': { content: 'old', mtime: T2 },
  });
  await sync(A, B);
  assert.equal(readFileSync(join(B, 'notes/a.log'), 'utf8'), 'log a');
  // Now *.log is excluded: deleting one on A and editing one on B must not propagate.
  rmSync(join(A, 'notes/a.log'));
  writeFileSync(join(B, 'old.log'), 'edited on B');
  const r = await sync(A, B, [{ type: 'exclude', pattern: '*.log' }]);
  assert.equal(r.summary.deleted, 0, 'nothing deleted');
  assert.equal(r.summary.created + r.summary.updated, 0, 'nothing copied');
  assert.ok(existsSync(join(B, 'notes/a.log')), 'excluded file kept on B');
  assert.equal(readFileSync(join(A, 'old.log'), 'utf8'), 'old', 'excluded edit not copied to A');
  // A second run with the same filter plans nothing (S12).
  const again = await sync(A, B, [{ type: 'exclude', pattern: '*.log' }]);
  assert.equal(again.plan.ops.length, 0);
});

test('S21: a path excluded on the first sync and included later is merged, not deleted (S13 for it)', async (t) => {
  const { A, B } = roots(
    t,
    { 'a.txt': 'a', 'data.bin': 'on A' },
    { 'b.txt': 'b', 'data.bin': 'on B!' },
  );
  await sync(A, B, [{ type: 'exclude', pattern: '*.bin' }]);
  assert.equal(readFileSync(join(A, 'data.bin'), 'utf8'), 'on A');
  assert.equal(readFileSync(join(B, 'data.bin'), 'utf8'), 'on B!');
  // Without the filter the path has no ancestor: both versions are kept (a conflict, keep-both).
  const r = await sync(A, B);
  assert.equal(r.summary.deleted, 0);
  assert.equal(r.summary.conflicts, 1);
  // Both versions on both roots: one under the name, one as the conflict copy.
  const versions = (root: string) =>
    readdirSync(root)
      .filter((n) => n.startsWith('data'))
      .map((n) => readFileSync(join(root, n), 'utf8'))
      .sort();
  assert.deepEqual(versions(A), ['on A', 'on B!']);
  assert.deepEqual(versions(B), ['on A', 'on B!']);
});
