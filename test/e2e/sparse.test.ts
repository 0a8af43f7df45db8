/**
 * Sparse files (disk images, databases) keep their holes on B, as cp keeps them: written out as
 * zeros, a 64 MiB image holding 8 KiB of data took 64 MiB on B.
 */
import assert from 'node:assert/strict';
import {
  closeSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/tree.ts';
import { cli, onlyTrash, planMeddleExecute, tempFiles } from './helpers.ts';

const MiB = 1024 * 1024;

/** A file of `size` bytes holding `text` at each of `at` (offsets), holes elsewhere. */
function sparseFile(path: string, size: number, text: string, at: number[]): void {
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, size);
    for (const off of at) writeSync(fd, text, off);
  } finally {
    closeSync(fd);
  }
}

function assertSparseCopy(copy: string, original: string): void {
  assert.deepEqual(readFileSync(copy), readFileSync(original), 'the same bytes');
  const st = statSync(copy);
  assert.equal(st.size, statSync(original).size);
  assert.ok(st.blocks * 512 < MiB, `holes kept: ${st.blocks * 512} bytes allocated of ${st.size}`);
}

test('a sparse file mirrored stays sparse on B, and so does the version that replaces it', async (t) => {
  const dir = tempDir(t);
  const A = join(dir, 'A');
  const B = join(dir, 'B');
  mkdirSync(A);
  const img = join(A, 'disk.img');
  sparseFile(img, 64 * MiB, 'boot sector', [0, 40 * MiB]);
  assert.ok(statSync(img).blocks * 512 < MiB, 'the source is sparse');

  const r = await cli(['mirror', A, B]);
  assert.equal(r.code, 0, r.stderr);
  assertSparseCopy(join(B, 'disk.img'), img);

  // Rewritten in place with a hole where data was, and data past the old end.
  sparseFile(img, 96 * MiB, 'second version', [MiB, 90 * MiB]);
  const again = await cli(['mirror', A, B]);
  assert.equal(again.code, 0, again.stderr);
  assertSparseCopy(join(B, 'disk.img'), img);
  const old = readFileSync(join(onlyTrash(B), 'disk.img'));
  assert.equal(old.length, 64 * MiB, 'the old version kept in the trash');
  assert.equal(old.toString('utf8', 40 * MiB, 40 * MiB + 11), 'boot sector');
});

test('a sparse file synced two-way stays sparse on the other side', async (t) => {
  const dir = tempDir(t);
  const A = join(dir, 'A');
  const B = join(dir, 'B');
  mkdirSync(A);
  mkdirSync(B);
  sparseFile(join(B, 'vm.qcow2'), 32 * MiB, 'qcow', [0, 31 * MiB]);
  const r = await cli(['sync', A, B]);
  assert.equal(r.code, 0, r.stderr);
  assertSparseCopy(join(A, 'vm.qcow2'), join(B, 'vm.qcow2'));
});

test('a sparse file from tmpfs to another file system keeps its holes (copied through memory where the kernel cannot copy across)', async (t) => {
  const shm = mkdtempSync('/dev/shm/concord-sparse-');
  t.after(() => rmSync(shm, { recursive: true, force: true }));
  const A = join(shm, 'A');
  mkdirSync(A);
  sparseFile(join(A, 'data.db'), 48 * MiB, 'page', [4096, 20 * MiB, 48 * MiB - 4]);
  const B = join(tempDir(t), 'B');
  assert.notEqual(statSync(A).dev, statSync(join(B, '..')).dev, 'two file systems');
  const r = await cli(['mirror', A, B]);
  assert.equal(r.code, 0, r.stderr);
  assertSparseCopy(join(B, 'data.db'), join(A, 'data.db'));
});

test('S16 S14 a sparse source rewritten after the plan is not copied: B keeps its version whole, no temporary file is left', async (t) => {
  const dir = tempDir(t);
  const A = join(dir, 'A');
  const B = join(dir, 'B');
  mkdirSync(A);
  mkdirSync(B);
  sparseFile(join(A, 'disk.img'), 16 * MiB, 'new', [0]);
  sparseFile(join(B, 'disk.img'), 8 * MiB, 'old', [0]);
  const { result } = await planMeddleExecute(
    A,
    B,
    { mode: 'mirror', home: join(dir, 'home') },
    () => sparseFile(join(A, 'disk.img'), 16 * MiB, 'rewritten meanwhile', [4 * MiB]),
  );
  assert.deepEqual(
    result.problems.map((p) => `${p.side} ${p.path} ${p.code}`),
    ['A disk.img changed-during-sync'],
  );
  const kept = readFileSync(join(B, 'disk.img'));
  assert.equal(kept.length, 8 * MiB, "B's version, whole");
  assert.equal(kept.toString('utf8', 0, 3), 'old');
  assert.deepEqual(tempFiles(dir), []);
});
