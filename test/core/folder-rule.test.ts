/**
 * folderRule and leavesOut, pure: the rule that leaves out one folder (Concord's state directory
 * inside a root) and the test that a destination inside the source is left out of its walk.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { folderRule, leavesOut, makeFilter } from '../../src/core/filter.ts';

test('folderRule leaves out that one folder and what is in it, whatever its name holds, and nothing else', () => {
  for (const path of [
    '.local/share/concord',
    'a b/sh[are] */con!cord#x',
    'we\\ird/x?y',
    'trail /z',
  ]) {
    const filter = makeFilter({ rules: [folderRule(path)], ignoreFileText: '' });
    assert.equal(filter(path, true), true, path);
    assert.equal(filter(`${path}/state.db`, false), true, path);
    assert.equal(filter(`${path}x`, true), false, `${path}: a sibling`);
    assert.equal(filter(`other/${path}`, true), false, `${path}: not anchored elsewhere`);
  }
});

test('leavesOut: the path itself, or a folder above it, excluded', () => {
  const filter = makeFilter({
    rules: [{ type: 'exclude', pattern: '/backup/' }],
    ignoreFileText: '',
  });
  assert.equal(leavesOut(filter, 'backup'), true);
  assert.equal(leavesOut(filter, 'backup/2026/home'), true);
  assert.equal(leavesOut(filter, 'backups'), false);
  assert.equal(leavesOut(filter, 'docs/backup'), false);
});
