import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  cli,
  contents,
  counts,
  fingerprint,
  onlyTrash,
  problemsOf,
  readTree,
  roots,
  summaryOf,
  T1,
  T2,
  T3,
  tempFiles,
  ZERO,
} from './helpers.ts';

describe('concord copy A B (replica)', () => {
  test('into a missing B: everything is copied, metadata included', async (t) => {
    const { A, B } = roots(t, {
      f: { content: 'f', mtime: T1, mode: 0o640 },
      'd/g': { content: 'gg', mtime: T2 },
      d: { dir: true, mode: 0o750, mtime: T3 },
      empty: { dir: true },
      ln: { link: 'd/g' },
    });
    const r = await cli(['copy', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    assert.equal(summaryOf(r).mode, 'replica');
    assert.deepEqual(counts(r), { ...ZERO, created: 5, bytesCopied: 3 });
  });

  test('S25 new and changed files flow to B; B-only entries are left exactly as they were', async (t) => {
    const { A, B } = roots(
      t,
      {
        'new.txt': { content: 'new', mtime: T2 },
        'changed.txt': { content: 'changed on A', mtime: T3 },
        'same.txt': { content: 'same', mtime: T1 },
        'sub/new2': { content: 'n2', mtime: T2 },
        sub: { dir: true, mtime: T1 },
      },
      {
        'changed.txt': { content: 'old', mtime: T1 },
        'same.txt': { content: 'same', mtime: T1 },
        'only-b.txt': { content: 'B only', mtime: T1, mode: 0o600 },
        'sub/only-b2': { content: 'B only too', mtime: T2 },
        'b-dir/x': { content: 'x', mtime: T1 },
        'b-link': { link: 'only-b.txt' },
        sub: { dir: true, mtime: T1 },
      },
    );
    const aBefore = fingerprint(A);
    const bBefore = fingerprint(B);
    const r = await cli(['copy', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(contents(B), {
      'b-dir/x': { kind: 'file', content: 'x' },
      'b-dir/': { kind: 'dir' },
      'b-link': { kind: 'symlink', target: 'only-b.txt' },
      'changed.txt': { kind: 'file', content: 'changed on A' },
      'new.txt': { kind: 'file', content: 'new' },
      'only-b.txt': { kind: 'file', content: 'B only' },
      'same.txt': { kind: 'file', content: 'same' },
      'sub/new2': { kind: 'file', content: 'n2' },
      'sub/only-b2': { kind: 'file', content: 'B only too' },
      'sub/': { kind: 'dir' },
    });
    const a = readTree(A);
    const b = readTree(B);
    for (const p of ['new.txt', 'changed.txt', 'same.txt', 'sub/new2', 'sub/'])
      assert.deepEqual(b[p], a[p], p);
    const bAfter = fingerprint(B);
    for (const p of ['only-b.txt', 'sub/only-b2', 'b-dir/x', 'b-dir/', 'b-link', 'same.txt'])
      assert.equal(bAfter[p], bBefore[p], `${p}: not a byte, mode, time or inode changed`);
    assert.deepEqual(counts(r), { ...ZERO, created: 2, updated: 1, bytesCopied: 17 });
    assert.deepEqual(contents(onlyTrash(B)), {
      'changed.txt': { kind: 'file', content: 'old' },
    });
    assert.deepEqual(fingerprint(A), aBefore, 'the source is never touched');
  });

  test('S25 a directory on B where A has a file: exit 3, the problem is listed, the directory untouched', async (t) => {
    const { A, B } = roots(
      t,
      { x: { content: 'file on A', mtime: T1 }, y: { content: 'y', mtime: T1 } },
      { 'x/inner.txt': { content: 'inner', mtime: T2 }, 'x/deep/z': 'z' },
    );
    const xBefore = readTree(join(B, 'x'));
    const human = await cli(['copy', A, B]);
    assert.equal(human.code, 3, human.stderr);
    assert.match(human.stderr, /^concord: B x: .*directory/m);
    assert.match(human.stdout, /1 problem/);
    assert.deepEqual(readTree(join(B, 'x')), xBefore);
    assert.deepEqual(readTree(B).y, readTree(A).y, 'the run went on for the other files');

    const again = await cli(['copy', A, B, '--json']);
    assert.equal(again.code, 3, again.stderr);
    assert.deepEqual(problemsOf(again), [{ path: 'x', code: 'kind-conflict', side: 'B' }]);
    assert.equal(summaryOf(again).skipped, 1);
    assert.equal(summaryOf(again).deleted, 0);
    assert.deepEqual(readTree(join(B, 'x')), xBefore);
    assert.equal(existsSync(join(B, '.concord')), false, 'nothing was deleted or replaced');
  });

  test('S7 a file on B where A has a directory is replaced; the file is kept in the trash', async (t) => {
    const { A, B } = roots(t, { 'x/in': { content: 'in', mtime: T1 } }, { x: 'was a file' });
    const r = await cli(['copy', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    assert.deepEqual(contents(onlyTrash(B)), { x: { kind: 'file', content: 'was a file' } });
  });

  test('S12 a second copy changes nothing, with B-only entries around', async (t) => {
    const { dir, A, B } = roots(
      t,
      { a: 'a', 'sub/b': 'b', ln: { link: 'a' } },
      { extra: 'e', 'sub/extra2': 'e2', a: 'old a' },
    );
    const first = await cli(['copy', A, B]);
    assert.equal(first.code, 0, first.stderr);
    const before = fingerprint(dir);
    const second = await cli(['copy', A, B, '--json']);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(counts(second), ZERO);
    assert.deepEqual(fingerprint(dir), before);
    assert.deepEqual(tempFiles(dir), []);
  });
});
