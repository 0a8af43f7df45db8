/**
 * The file index against real directories: which files a refresh reads again and which keep
 * their hash (S1: no missed update). Runs use an injected clock set well after the files were
 * written, so that no entry is racy unless a test means it to be.
 */
import assert from 'node:assert/strict';
import { readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { syncLocal } from '../../src/api.ts';
import { indexLocal, statusLocal } from '../../src/local-state.ts';
import { makeTree, tempDir } from '../helpers/tree.ts';

/** A clock that starts `ahead` ms from now and moves a minute on every call of `later`. */
function clock(ahead = 60_000) {
  let offset = ahead;
  return { now: () => Date.now() + offset, later: () => (offset += 60_000) };
}

/** Walk order: by directory, then by name (byte order). */
function byDirThenName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function tree(n: number): Record<string, string> {
  const spec: Record<string, string> = {};
  for (let i = 0; i < n; i++) spec[`d${i % 5}/f${i}.txt`] = `content ${String(i).padStart(4, '0')}`;
  return spec;
}

test('an unchanged tree is read once: the second refresh hashes nothing and reuses every hash', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'root');
  makeTree(root, tree(40));
  const c = clock();
  // Hashing on the worker pool here; the other tests hash on this thread.
  const o = { home: join(dir, 'home'), now: c.now };
  const first = await indexLocal(root, o);
  assert.deepEqual([first.files, first.hashedNow, first.reused, first.dirs], [40, 40, 0, 5]);
  c.later();
  const second = await indexLocal(root, o);
  assert.deepEqual([second.files, second.hashedNow, second.reused], [40, 0, 40]);
});

test('S1 after editing 10 files, a refresh hashes exactly those 10', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'root');
  makeTree(root, tree(40));
  const c = clock();
  const o = { home: join(dir, 'home'), now: c.now, workers: false };
  await indexLocal(root, o);
  for (let i = 0; i < 10; i++) writeFileSync(join(root, `d${i % 5}`, `f${i}.txt`), `edited ${i}`);
  c.later();
  const s = await statusLocal(root, o);
  assert.deepEqual(
    s.changes.map((ch) => `${ch.kind} ${ch.path}`),
    Array.from({ length: 10 }, (_, i) => `modified d${i % 5}/f${i}.txt`).sort(byDirThenName),
  );
  const r = await indexLocal(root, o);
  assert.deepEqual([r.hashedNow, r.reused], [10, 30]);
});

test('S1 content rewritten with the same size and the mtime restored is caught through ctime', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'root');
  makeTree(root, { 'a.txt': { content: 'original', mtime: 1_600_000_000 }, 'b.txt': 'other' });
  const c = clock();
  const o = { home: join(dir, 'home'), now: c.now, workers: false };
  await indexLocal(root, o);
  const before = statSync(join(root, 'a.txt'), { bigint: true });
  writeFileSync(join(root, 'a.txt'), 'tampered');
  utimesSync(join(root, 'a.txt'), 1_600_000_000, 1_600_000_000);
  const after = statSync(join(root, 'a.txt'), { bigint: true });
  assert.equal(after.size, before.size);
  assert.equal(after.mtimeNs, before.mtimeNs, 'size and mtime say nothing changed');
  c.later();
  const s = await statusLocal(root, o);
  assert.deepEqual(s.changes, [{ path: 'a.txt', kind: 'modified', entry: 'file' }]);
  const r = await indexLocal(root, o);
  assert.deepEqual([r.hashedNow, r.reused], [1, 1]);
});

test('a chmod or touch changes no content: status says metadata, not modified', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'root');
  makeTree(root, { 'a.txt': 'same', 'b.txt': 'same too' });
  const c = clock();
  const o = { home: join(dir, 'home'), now: c.now, workers: false };
  await indexLocal(root, o);
  utimesSync(join(root, 'a.txt'), 1_500_000_000, 1_500_000_000);
  c.later();
  const s = await statusLocal(root, o);
  assert.deepEqual(s.changes, [{ path: 'a.txt', kind: 'metadata', entry: 'file' }]);
});

test('files under a renamed directory keep their hash by inode; a renamed file is read again (rename moves its ctime)', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'root');
  makeTree(root, {
    'photos/1.jpg': 'one',
    'photos/2.jpg': 'two',
    'photos/3.jpg': 'three',
    'x.txt': 'x',
  });
  const c = clock();
  const o = { home: join(dir, 'home'), now: c.now, workers: false };
  await indexLocal(root, o);
  renameSync(join(root, 'photos'), join(root, 'pictures'));
  renameSync(join(root, 'x.txt'), join(root, 'y.txt'));
  c.later();
  const r = await indexLocal(root, o);
  assert.equal(r.reused, 3, 'the three files of the renamed directory');
  assert.equal(r.hashedNow, 1, 'the renamed file: its ctime moved, so it is read (S1)');
  assert.equal(r.entries, 5, 'rows of the old names are gone: pictures/, 3 files, y.txt');
  c.later();
  const again = await indexLocal(root, o);
  assert.deepEqual([again.hashedNow, again.reused], [0, 4]);
});

test('location identity: a renamed root keeps its id and its index', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'drive');
  makeTree(root, tree(12));
  const c = clock();
  const o = { home: join(dir, 'home'), now: c.now, workers: false };
  const first = await indexLocal(root, o);
  const marker = readFileSync(join(root, '.concord', 'root-id'), 'utf8').trim();
  assert.equal(first.rootId, marker);
  const moved = join(dir, 'drive-renamed');
  renameSync(root, moved);
  c.later();
  const r = await indexLocal(moved, o);
  assert.equal(r.rootId, marker);
  assert.deepEqual([r.hashedNow, r.reused], [0, 12]);
  const s = await statusLocal(moved, o);
  assert.deepEqual(s.changes, []);
});

test('S1 mirror --checksum: an unchanged pair hashes nothing; after 10 same-size edits on A it hashes those 10', async (t) => {
  const dir = tempDir(t);
  const A = join(dir, 'A');
  const B = join(dir, 'B');
  makeTree(A, tree(30));
  const c = clock();
  const o = { mode: 'mirror' as const, home: join(dir, 'home'), now: c.now, workers: false };
  await syncLocal(A, B, o);
  c.later();
  const first = await syncLocal(A, B, { ...o, checksum: true });
  assert.equal(first.summary.hashed, 60, 'the first --checksum run reads both sides once');
  c.later();
  const noop = await syncLocal(A, B, { ...o, checksum: true });
  assert.deepEqual([noop.summary.hashed, noop.summary.hashReused], [0, 60]);
  for (let i = 0; i < 10; i++) {
    const p = join(A, `d${i % 5}`, `f${i}.txt`);
    const st = statSync(p);
    writeFileSync(p, `CONTENT ${String(i).padStart(4, '0')}`);
    utimesSync(p, st.atime, st.mtime);
  }
  c.later();
  const edited = await syncLocal(A, B, { ...o, checksum: true });
  assert.equal(edited.summary.hashed, 10, 'only the ten edited files of A are read');
  assert.equal(edited.summary.updated, 10);
  for (let i = 0; i < 10; i++) {
    const rel = join(`d${i % 5}`, `f${i}.txt`);
    assert.equal(readFileSync(join(B, rel), 'utf8'), readFileSync(join(A, rel), 'utf8'));
  }
});

test('S1 mirror --checksum: a same-size edit with the exact mtime restored, on A or on B, is found through ctime (the in-sync fast path too)', async (t) => {
  const dir = tempDir(t);
  const A = join(dir, 'A');
  const B = join(dir, 'B');
  const spec: Record<string, { content: string; mtime: number }> = {};
  for (let i = 0; i < 12; i++)
    spec[`d${i % 3}/f${i}`] = { content: `v1-${i % 10}`, mtime: 1_600_000_000 };
  makeTree(A, spec);
  const c = clock();
  const o = { mode: 'mirror' as const, checksum: true, home: join(dir, 'home'), now: c.now };
  await syncLocal(A, B, o);
  c.later();
  await syncLocal(A, B, o); // hashes both sides into the index
  c.later();
  const noop = await syncLocal(A, B, o);
  assert.deepEqual([noop.summary.hashed, noop.summary.hashReused], [0, 24]);
  // Same size, same mtime to the nanosecond (whole seconds): only ctime tells.
  writeFileSync(join(A, 'd0/f0'), 'v2-0');
  utimesSync(join(A, 'd0/f0'), 1_600_000_000, 1_600_000_000);
  writeFileSync(join(B, 'd1/f1'), 'XX-1');
  utimesSync(join(B, 'd1/f1'), 1_600_000_000, 1_600_000_000);
  c.later();
  const r = await syncLocal(A, B, o);
  assert.equal(r.summary.updated, 2);
  assert.equal(readFileSync(join(B, 'd0/f0'), 'utf8'), 'v2-0');
  assert.equal(readFileSync(join(B, 'd1/f1'), 'utf8'), 'v1-1');
});
