/**
 * A root on a read-only file system (a mount made with -o ro, a locked SD card). A run that
 * would write there is refused before it starts (exit 2, one line naming the root and the
 * fix), rather than failing write by write; reading from one is fine. Needs root (a mount).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readOnlyRoot } from '../helpers/read-only.ts';
import { cli, contents, counts, fingerprint, roots, summaryOf, tempDir, ZERO } from './helpers.ts';

const REFUSED = /is on a read-only file system: nothing can be written \(remount it read-write/;

describe('a root on a read-only file system', () => {
  for (const command of ['mirror', 'copy', 'backup', 'sync']) {
    test(`${command} into it is refused before any change (exit 2), naming the root and the fix`, async (t) => {
      const { A } = roots(t, { 'new.txt': 'new', 'sub/f': 'f' });
      const B = readOnlyRoot(t, { 'old.txt': 'old' });
      const before = fingerprint(B);
      const r = await cli([command, A, B]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, REFUSED);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.ok(r.stderr.includes(B), r.stderr);
      assert.deepEqual(fingerprint(B), before);
    });
  }

  test('a dry run into it still shows what would be done (exit 0)', async (t) => {
    const { A } = roots(t, { 'new.txt': 'new' });
    const B = readOnlyRoot(t, {});
    const r = await cli(['mirror', A, B, '--dry-run', '--json']);
    assert.equal(r.code, 0, r.stderr);
    // The new file, and B's root times (they differ from A's).
    assert.deepEqual(counts(r), { ...ZERO, created: 1, metadataUpdated: 1, bytesCopied: 3 });
  });

  test('S25 mirror out of it works: a read-only source is only read', async (t) => {
    const A = readOnlyRoot(t, { 'a.txt': 'a', 'sub/b.txt': 'b' });
    const B = join(tempDir(t), 'B');
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(summaryOf(r).problems, []);
    assert.deepEqual(contents(B), contents(A));
  });

  test('index and status of it work, under its path (no marker can be written there)', async (t) => {
    const R = readOnlyRoot(t, { 'a.txt': 'a', 'sub/b.txt': 'b' });
    const before = fingerprint(R);
    const r = await cli(['index', R]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 files .* hashed now 2, reused 0/);
    const s = await cli(['status', R]);
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(fingerprint(R), before);
  });

  test('two-way with a read-only side is refused (its marker and its changes need writes)', async (t) => {
    const A = readOnlyRoot(t, { 'a.txt': 'a' });
    const B = join(tempDir(t), 'B');
    const r = await cli(['sync', A, B]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, REFUSED);
  });
});
