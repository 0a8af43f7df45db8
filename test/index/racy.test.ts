/**
 * Racily clean entries, reproduced for real: ext2 with 128-byte inodes keeps timestamps to the
 * second (as FAT, HFS+ and many network file systems do), so a same-size rewrite within the
 * second of the last scan leaves size, mtime, ctime and inode all unchanged. Unison 2.52 misses
 * exactly this edit; git calls such index entries "racily clean". Needs root (loop mount).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { syncLocal } from '../../src/api.ts';
import { indexLocal, statusLocal } from '../../src/local-state.ts';
import { tempDir } from '../helpers/tree.ts';

/** A fresh ext2 file system with one-second timestamps, mounted for the test. */
function coarseFs(t: Parameters<typeof tempDir>[0]): string {
  const dir = mkdtempSync(join(tmpdir(), 'concord-coarse-'));
  const img = join(dir, 'coarse.img');
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  writeFileSync(img, '');
  execFileSync('truncate', ['-s', '16M', img]);
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext2', '-I', '128', img], { stdio: 'ignore' });
  execFileSync('mount', ['-o', 'loop', img, mnt]);
  // One hook: unmount, then remove (hooks run in the order they were added).
  t.after(() => {
    execFileSync('umount', [mnt]);
    rmSync(dir, { recursive: true, force: true });
  });
  return mnt;
}

function statKey(p: string): string {
  const s = statSync(p, { bigint: true });
  return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

test('S1 racy entry: a same-size edit within the timestamp step of the last index is still found', async (t) => {
  const mnt = coarseFs(t);
  const root = join(mnt, 'root');
  mkdirSync(root);
  const file = join(root, 'notes.txt');
  const home = join(mnt, 'home');
  // Retried only when the second ticks over between the index and the edit (then the edit
  // shows in mtime and proves nothing); the index and the edit take a few ms.
  let reproduced = false;
  for (let attempt = 0; attempt < 20 && !reproduced; attempt++) {
    writeFileSync(file, `before ${attempt % 10}`);
    await indexLocal(root, { home, workers: false });
    const seen = statKey(file);
    writeFileSync(file, `after! ${attempt % 10}`);
    reproduced = statKey(file) === seen;
  }
  assert.ok(reproduced, 'size, mtime, ctime and inode are unchanged by the edit');
  const s = await statusLocal(root, { home, workers: false });
  assert.deepEqual(s.changes, [{ path: 'notes.txt', kind: 'modified', entry: 'file' }]);
  const r = await indexLocal(root, { home, workers: false });
  assert.equal(r.hashedNow, 1, 'the racy entry is read again');
});

test('S1 racy entry: mirror --checksum carries a same-size edit made within the second of the last run', async (t) => {
  const mnt = coarseFs(t);
  const A = join(mnt, 'A');
  const B = join(tempDir(t), 'B');
  mkdirSync(A);
  const file = join(A, 'notes.txt');
  const o = { mode: 'mirror' as const, checksum: true, home: join(mnt, 'home'), workers: false };
  let reproduced = false;
  for (let attempt = 0; attempt < 20 && !reproduced; attempt++) {
    writeFileSync(file, `before ${attempt % 10}`);
    await syncLocal(A, B, o);
    // A second run compares by hash and keeps A's hash in the index (marked racy).
    await syncLocal(A, B, o);
    const seen = statKey(file);
    writeFileSync(file, `after! ${attempt % 10}`);
    reproduced = statKey(file) === seen;
  }
  assert.ok(reproduced, 'size, mtime, ctime and inode are unchanged by the edit');
  const r = await syncLocal(A, B, o);
  assert.equal(r.summary.updated, 1);
  assert.equal(readFileSync(join(B, 'notes.txt'), 'utf8'), readFileSync(file, 'utf8'));
});
