import assert from 'node:assert/strict';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { syncTwoWayLocal } from '../../src/twoway-local.ts';
import { roots, T2 } from './helpers.ts';

test('S16 S15 two-way: a target edited between the scan and the write is not overwritten; the next run keeps both versions', async (t) => {
  const { A, B } = roots(t, { 'x.txt': 'v1', 'y.txt': 'y' });
  await syncTwoWayLocal(A, B, { workers: false });
  writeFileSync(join(A, 'x.txt'), 'v2 from A');
  utimesSync(join(A, 'x.txt'), T2, T2);
  // Right when the apply phase starts, someone writes B's copy (a new size, so the check sees it).
  const r = await syncTwoWayLocal(A, B, {
    workers: false,
    onEvent: (e) => {
      if (e.type === 'phase' && e.phase === 'apply')
        writeFileSync(join(B, 'x.txt'), 'written on B during the sync');
    },
  });
  assert.deepEqual(
    r.summary.problems.map((p) => [p.path, p.code, p.side]),
    [['x.txt', 'changed-during-sync', 'B']],
  );
  assert.equal(readFileSync(join(B, 'x.txt'), 'utf8'), 'written on B during the sync');
  // The ancestor of x.txt was not updated (S15): the next run sees both sides changed, a
  // conflict, and keeps both versions on both roots (keep-both).
  const next = await syncTwoWayLocal(A, B, { workers: false });
  assert.equal(next.summary.conflicts, 1);
  for (const root of [A, B]) {
    const versions = readdirSync(root)
      .filter((n) => n.startsWith('x'))
      .map((n) => readFileSync(join(root, n), 'utf8'))
      .sort();
    assert.deepEqual(versions, ['v2 from A', 'written on B during the sync']);
  }
});
