/**
 * A target that fills up mid-run, for real: a small tmpfs. The run stops with one line naming
 * ENOSPC and exit 1; every path holds its old or its new content, never part of one, and no
 * temporary is left (S14); once there is room, the next run finishes the job.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tmpfs } from '../helpers/read-only.ts';
import { tempDir } from '../helpers/tree.ts';
import { cli, contents, makeTree, type Seen, tempFiles } from './helpers.ts';

const KB = 1024;

/** `n` files of `size` bytes under `dir/`, each its own content. */
function files(dir: string, n: number, size: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) out[`${dir}/f${i}`] = `${dir} ${i} `.padEnd(size, '.');
  return out;
}

test('S14 a mirror onto a drive that fills up: exit 1 naming ENOSPC, no file half-written, an old version intact, no temporary left; with room the re-run completes', async (t) => {
  const A = join(tempDir(t, 'concord-full-'), 'A');
  const drive = tmpfs(t, '8m');
  const B = join(drive, 'B');
  makeTree(A, { doc: 'version 1 '.padEnd(1024 * KB, '1') });
  const env = { CONCORD_HOME: join(drive, '..', 'home') };
  assert.equal((await cli(['mirror', A, B], { env })).code, 0);

  // About 2 MiB left on the drive, for 4.4 MiB to write. With the filler gone, room for all of
  // it and for the old doc, which stays in the trash.
  writeFileSync(join(drive, 'filler'), Buffer.alloc(5 * 1024 * KB));
  makeTree(A, { doc: 'version 2 '.padEnd(1536 * KB, '2'), ...files('d', 30, 100 * KB) });
  const r = await cli(['mirror', A, B], { env });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^concord: B \S+: the target is full \(no space left, ENOSPC\)/m);
  const seen = contents(B);
  assert.ok(seen.doc, 'doc is still there');
  const docNow = readFileSync(join(B, 'doc'), 'utf8');
  assert.ok(docNow === readFileSync(join(A, 'doc'), 'utf8') || docNow.startsWith('version 1 '));
  assert.equal(docNow.length, docNow.startsWith('version 1 ') ? 1024 * KB : 1536 * KB);
  const want = contents(A);
  for (const [path, got] of Object.entries(seen))
    if (path !== 'doc') assert.deepEqual(got, want[path], `${path} is whole`);
  assert.ok(Object.keys(seen).length < Object.keys(want).length, 'the run stopped short');
  assert.deepEqual(tempFiles(B), []);

  rmSync(join(drive, 'filler'));
  const again = await cli(['mirror', A, B], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(contents(B), want);
  assert.deepEqual(tempFiles(B), []);
});

test('S14 a two-way sync onto a side that fills up: what did not fit is not taken for a deletion; with room the next sync brings it, deleting nothing on A', async (t) => {
  const A = join(tempDir(t, 'concord-full-'), 'A');
  const drive = tmpfs(t, '4m');
  const B = join(drive, 'B');
  makeTree(A, files('d', 30, 100 * KB));
  makeTree(B, { 'mine.txt': 'written on B' });
  const env = { CONCORD_HOME: join(drive, '..', 'home') };
  writeFileSync(join(drive, 'filler'), Buffer.alloc(2 * 1024 * KB));
  const r = await cli(['sync', A, B], { env });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^concord: B \S+: the target is full \(no space left, ENOSPC\)/m);
  assert.deepEqual(tempFiles(B), []);
  const want: Record<string, Seen> = {
    ...contents(A),
    'mine.txt': { kind: 'file', content: 'written on B' },
  };
  const seen = contents(B);
  for (const [path, got] of Object.entries(seen)) assert.deepEqual(got, want[path], path);

  rmSync(join(drive, 'filler'));
  const again = await cli(['sync', A, B], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    Object.keys(contents(A)).sort(),
    Object.keys(want).sort(),
    'nothing deleted on A',
  );
  assert.deepEqual(contents(B), contents(A));
});
