import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type CompareOptions, compareEntries, type Verdict } from '../../src/core/compare.ts';
import { type Entry, metaOf, sameMtime } from '../../src/core/entry.ts';
import { CHECKSUM, dir, file, link, ns, QUICK } from './fixtures.ts';

const WINDOW_2S: CompareOptions = { mtimeToleranceNs: ns(2), checksum: false };

interface Case {
  name: string;
  src: Entry;
  dst: Entry;
  opts?: CompareOptions;
  expect: Verdict;
}

const cases: Case[] = [
  // Kinds
  { name: 'file on A, directory on B: kind', src: file('x'), dst: dir('x'), expect: 'kind' },
  { name: 'directory on A, file on B: kind', src: dir('x'), dst: file('x'), expect: 'kind' },
  {
    name: 'symlink on A, directory on B: kind',
    src: link('x', 't'),
    dst: dir('x'),
    expect: 'kind',
  },
  {
    name: 'directory on A, symlink on B: kind',
    src: dir('x'),
    dst: link('x', 't'),
    expect: 'kind',
  },
  {
    name: 'file on A, symlink on B: content (replaced in place)',
    src: file('x'),
    dst: link('x', 't'),
    expect: 'content',
  },
  {
    name: 'symlink on A, file on B: content (replaced in place)',
    src: link('x', 't'),
    dst: file('x'),
    expect: 'content',
  },

  // Directories: only mtime and mode
  { name: 'equal directories: same', src: dir('d'), dst: dir('d'), expect: 'same' },
  {
    name: 'directory mtime differs: meta',
    src: dir('d', { mtime: 2 }),
    dst: dir('d', { mtime: 1 }),
    expect: 'meta',
  },
  {
    name: 'directory mode differs: meta',
    src: dir('d', { mode: 0o700 }),
    dst: dir('d', { mode: 0o755 }),
    expect: 'meta',
  },
  {
    name: 'directory mtime within the window: same',
    src: dir('d', { mtime: 102 }),
    dst: dir('d', { mtime: 100 }),
    opts: WINDOW_2S,
    expect: 'same',
  },

  // Symlinks: target, then mtime; their mode is not ours
  { name: 'equal symlinks: same', src: link('l', 't'), dst: link('l', 't'), expect: 'same' },
  {
    name: 'symlink target differs: content',
    src: link('l', 'new'),
    dst: link('l', 'old'),
    expect: 'content',
  },
  {
    name: 'symlink target differs with equal mtime: still content',
    src: link('l', 'a', { mtime: 5 }),
    dst: link('l', 'b', { mtime: 5 }),
    expect: 'content',
  },
  {
    name: 'symlink mtime differs only: meta',
    src: link('l', 't', { mtime: 2 }),
    dst: link('l', 't', { mtime: 1 }),
    expect: 'meta',
  },
  {
    name: 'symlink mode is ignored',
    src: { ...link('l', 't'), mode: 0o777 },
    dst: link('l', 't'),
    expect: 'same',
  },
  {
    name: 'symlink mtime within the window: same',
    src: link('l', 't', { mtime: 101 }),
    dst: link('l', 't', { mtime: 100 }),
    opts: WINDOW_2S,
    expect: 'same',
  },

  // Files, quick check (size + mtime)
  { name: 'equal files: same', src: file('f'), dst: file('f'), expect: 'same' },
  {
    name: 'size differs: content, without hashing',
    src: file('f', { size: 2 }),
    dst: file('f', { size: 1 }),
    expect: 'content',
  },
  {
    name: 'size differs with equal hashes (impossible, but size wins): content',
    src: file('f', { size: 2, hash: 'h' }),
    dst: file('f', { size: 1, hash: 'h' }),
    expect: 'content',
  },
  {
    name: 'mode differs only: meta',
    src: file('f', { mode: 0o755 }),
    dst: file('f', { mode: 0o644 }),
    expect: 'meta',
  },
  {
    name: 'equal size, other mtime, no hashes: needs-hash',
    src: file('f', { mtime: 2 }),
    dst: file('f', { mtime: 1 }),
    expect: 'needs-hash',
  },
  {
    name: 'equal size, other mtime, hash only on A: needs-hash',
    src: file('f', { mtime: 2, hash: 'h' }),
    dst: file('f', { mtime: 1 }),
    expect: 'needs-hash',
  },
  {
    name: 'equal size, other mtime, hash only on B: needs-hash',
    src: file('f', { mtime: 2 }),
    dst: file('f', { mtime: 1, hash: 'h' }),
    expect: 'needs-hash',
  },
  {
    name: 'equal size, other mtime, different hashes: content',
    src: file('f', { mtime: 2, hash: 'h1' }),
    dst: file('f', { mtime: 1, hash: 'h2' }),
    expect: 'content',
  },
  {
    name: 'touched only (equal hashes, other mtime): meta, not content (S3)',
    src: file('f', { mtime: 2, hash: 'h' }),
    dst: file('f', { mtime: 1, hash: 'h' }),
    expect: 'meta',
  },
  {
    name: 'mtime rolled back (A older than B), equal hashes: meta (S22: no newer-wins)',
    src: file('f', { mtime: 1, hash: 'h' }),
    dst: file('f', { mtime: 2, hash: 'h' }),
    expect: 'meta',
  },
  {
    name: 'quick check trusts equal size and mtime though hashes differ',
    src: file('f', { hash: 'h1' }),
    dst: file('f', { hash: 'h2' }),
    expect: 'same',
  },

  // Modify window
  {
    name: 'mtime difference equal to the window: same (inclusive)',
    src: file('f', { mtime: 102 }),
    dst: file('f', { mtime: 100 }),
    opts: WINDOW_2S,
    expect: 'same',
  },
  {
    name: 'mtime difference equal to the window, B newer: same (symmetric)',
    src: file('f', { mtime: 100 }),
    dst: file('f', { mtime: 102 }),
    opts: WINDOW_2S,
    expect: 'same',
  },
  {
    name: 'mtime one nanosecond beyond the window: needs-hash',
    src: file('f', { mtime: ns(102) + 1n }),
    dst: file('f', { mtime: 100 }),
    opts: WINDOW_2S,
    expect: 'needs-hash',
  },
  {
    name: 'mode differs within the window: meta',
    src: file('f', { mtime: 101, mode: 0o600 }),
    dst: file('f', { mtime: 100 }),
    opts: WINDOW_2S,
    expect: 'meta',
  },
  {
    name: 'a sub-microsecond difference (utimes rounding) is within a 1 µs window',
    src: file('f', { mtime: ns(100) + 999n }),
    dst: file('f', { mtime: ns(100) + 1_000n }),
    opts: { mtimeToleranceNs: 1_000n, checksum: false },
    expect: 'same',
  },

  // --checksum: content decided by hash
  {
    name: '--checksum: equal size and mtime, no hashes: needs-hash',
    src: file('f'),
    dst: file('f'),
    opts: CHECKSUM,
    expect: 'needs-hash',
  },
  {
    name: '--checksum: equal size and mtime, different hashes: content',
    src: file('f', { hash: 'h1' }),
    dst: file('f', { hash: 'h2' }),
    opts: CHECKSUM,
    expect: 'content',
  },
  {
    name: '--checksum: equal hashes and meta: same',
    src: file('f', { hash: 'h' }),
    dst: file('f', { hash: 'h' }),
    opts: CHECKSUM,
    expect: 'same',
  },
  {
    name: '--checksum: equal hashes, other mtime: meta',
    src: file('f', { mtime: 2, hash: 'h' }),
    dst: file('f', { mtime: 1, hash: 'h' }),
    opts: CHECKSUM,
    expect: 'meta',
  },
  {
    name: '--checksum: equal hashes, other mode: meta',
    src: file('f', { mode: 0o600, hash: 'h' }),
    dst: file('f', { hash: 'h' }),
    opts: CHECKSUM,
    expect: 'meta',
  },
  {
    name: '--checksum: size differs: content without hashing',
    src: file('f', { size: 3 }),
    dst: file('f', { size: 4 }),
    opts: CHECKSUM,
    expect: 'content',
  },
  // Racy pairs (a same-size edit within the tolerance of the last copy's mtime)
  {
    name: 'racy: within the window, A changed (ctime) since the last clean run: needs-hash',
    src: { ...file('f', { mtime: ns(100) + 700_000_000n }), ctimeNs: ns(100) + 700_000_000n },
    dst: file('f', { mtime: 100 }),
    opts: { ...WINDOW_2S, racySinceNs: ns(100) },
    expect: 'needs-hash',
  },
  {
    name: 'racy pair whose hashes agree: same (no metadata churn on a target that cannot hold the mtime)',
    src: { ...file('f', { mtime: ns(100) + 700_000_000n, hash: 'h' }), ctimeNs: ns(101) },
    dst: file('f', { mtime: 100, hash: 'h' }),
    opts: { ...WINDOW_2S, racySinceNs: ns(100) },
    expect: 'same',
  },
  {
    name: 'racy pair whose hashes differ: content',
    src: { ...file('f', { mtime: ns(100) + 700_000_000n, hash: 'h1' }), ctimeNs: ns(101) },
    dst: file('f', { mtime: 100, hash: 'h2' }),
    opts: { ...WINDOW_2S, racySinceNs: ns(100) },
    expect: 'content',
  },
  {
    name: 'not racy: A unchanged since the last clean run started (ctime before it): same',
    src: { ...file('f', { mtime: ns(100) + 700_000_000n }), ctimeNs: ns(99) },
    dst: file('f', { mtime: 100 }),
    opts: { ...WINDOW_2S, racySinceNs: ns(100) },
    expect: 'same',
  },
  {
    name: 'not racy: mtimes equal to the copy error (a target that keeps them): same',
    src: { ...file('f', { mtime: ns(100) + 999n }), ctimeNs: ns(101) },
    dst: file('f', { mtime: ns(100) + 1_000n }),
    opts: { ...WINDOW_2S, racySinceNs: ns(100) },
    expect: 'same',
  },
  {
    name: 'no clean run known (racySinceNs unset): the quick check is trusted, as rsync does',
    src: { ...file('f', { mtime: ns(100) + 700_000_000n }), ctimeNs: ns(101) },
    dst: file('f', { mtime: 100 }),
    opts: WINDOW_2S,
    expect: 'same',
  },
  {
    name: '--checksum does not change directories',
    src: dir('d'),
    dst: dir('d'),
    opts: CHECKSUM,
    expect: 'same',
  },
];

describe('compareEntries', () => {
  for (const c of cases) {
    test(c.name, () => assert.equal(compareEntries(c.src, c.dst, c.opts ?? QUICK), c.expect));
  }
});

describe('entry helpers', () => {
  test('sameMtime is symmetric and inclusive of the tolerance', () => {
    assert.equal(sameMtime(10n, 12n, 2n), true);
    assert.equal(sameMtime(12n, 10n, 2n), true);
    assert.equal(sameMtime(10n, 13n, 2n), false);
    assert.equal(sameMtime(13n, 10n, 2n), false);
    assert.equal(sameMtime(-5n, -5n, 0n), true);
    assert.equal(sameMtime(5n, 6n, 0n), false);
  });

  test('metaOf takes mtime and mode, nothing else', () => {
    assert.deepEqual(metaOf(file('f', { mtime: 7, mode: 0o600, size: 9, hash: 'h' })), {
      mtimeNs: ns(7),
      mode: 0o600,
    });
  });
});
