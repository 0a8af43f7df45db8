/**
 * Times outside what a 64-bit count of nanoseconds holds (after 2262-04-11, before 1677): a
 * file stamped 2400 by a camera with a bad clock, or by `touch -d`. ext4 keeps 1901 to 2446 to
 * the nanosecond. They are copied exactly, re-runs change nothing, and the state database keeps
 * them (binding one threw an internal error; the native copy wrapped 2400 to 1901).
 */
import assert from 'node:assert/strict';
import { lstatSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTree, runCli, tempDir } from '../helpers/tree.ts';
import { TimeSetter } from './arbitraries.ts';

/** 2400-06-01T12:00:00.987654321Z and 1906-08-16T20:26:39.999999877Z, in ns. */
const FUTURE = 13_582_641_600_987_654_321n;
const PAST = -2_000_000_000_000_000_123n;

const mtime = (p: string) => lstatSync(p, { bigint: true }).mtimeNs;

test('S12 mtimes past 2262 and before 1970 are copied to the nanosecond by mirror, --checksum and two-way; re-runs change nothing; index and status keep them', async (t) => {
  const dir = tempDir(t);
  const A = join(dir, 'A');
  // Small files go through the native copy, a large one through its own path, a symlink and a
  // directory get their times set apart.
  makeTree(A, {
    'future.jpg': 'from 2400',
    'past.txt': 'from 1906',
    'dir/inner.txt': 'i',
    'large.bin': 'x'.repeat(3 * 1024 * 1024),
  });
  symlinkSync('future.jpg', join(A, 'link'));
  const stamped = ['future.jpg', 'large.bin', 'link', 'dir'];
  const times = new TimeSetter();
  t.after(() => times.close());
  await times.set([
    ...stamped.map((p): [string, bigint] => [join(A, p), FUTURE]),
    [join(A, 'past.txt'), PAST],
  ]);
  assert.equal(mtime(join(A, 'future.jpg')), FUTURE, 'the file system keeps the time');
  const env = { CONCORD_HOME: join(dir, 'home') };
  const run = async (...args: string[]) => {
    const r = await runCli(args, { env });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '');
    return r.stdout;
  };
  const B = join(dir, 'B');
  const C = join(dir, 'C');
  await run('mirror', A, B);
  await run('sync', A, C);
  for (const root of [B, C]) {
    for (const p of stamped) assert.equal(mtime(join(root, p)), FUTURE, join(root, p));
    assert.equal(mtime(join(root, 'past.txt')), PAST, root);
  }
  for (const args of [
    ['mirror', A, B],
    ['mirror', '--checksum', A, B],
    ['mirror', '--checksum', A, B],
    ['sync', A, C],
  ])
    assert.match(await run(...args), / 0 created, 0 updated, 0 deleted, 0 metadata-only/);
  assert.match(await run('index', A), /^Indexed .*: 4 files .* 1 symlinks/);
  assert.equal(await run('status', A), '');
});
