import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isRacy,
  isRacyListed,
  type Known,
  reusableHash,
  type Seen,
  statKey,
} from '../../src/core/hash-reuse.ts';

const S = 1_000_000_000n;
const T = 1_800_000_000n * S;
const seen: Seen = { size: 10, mtimeNs: T, ctimeNs: T + 5n, ino: 7n, dev: 1n };
const known: Known = { stat: statKey(seen), hash: 'h', hashedNs: T + 10n * S };

const cases: { name: string; known: Known | undefined; now: Seen; expect: string | undefined }[] = [
  { name: 'nothing changed, read long after: reused', known, now: seen, expect: 'h' },
  { name: 'no row: read it', known: undefined, now: seen, expect: undefined },
  {
    name: 'row without hash: read it',
    known: { stat: statKey(seen) },
    now: seen,
    expect: undefined,
  },
  {
    name: 'S1 size changed: read it',
    known,
    now: { ...seen, size: 11 },
    expect: undefined,
  },
  {
    name: 'S1 mtime changed: read it',
    known,
    now: { ...seen, mtimeNs: T + 1n },
    expect: undefined,
  },
  {
    name: 'S1 same size, mtime restored, ctime moved (a rewrite then touch -d): read it',
    known,
    now: { ...seen, ctimeNs: T + 20n * S },
    expect: undefined,
  },
  {
    name: 'S1 another inode at the path (replaced by rename): read it',
    known,
    now: { ...seen, ino: 8n },
    expect: undefined,
  },
  {
    name: 'S1 another device (a different file system mounted there): read it',
    known,
    now: { ...seen, dev: 2n },
    expect: undefined,
  },
  {
    name: 'S1 racy: read within the timestamp step of its last change: read it again',
    known: { ...known, hashedNs: T + S },
    now: seen,
    expect: undefined,
  },
  {
    name: 'S1 racy by ctime (a chmod just before the read)',
    known: { stat: statKey({ ...seen, ctimeNs: T + 9n * S }), hash: 'h', hashedNs: T + 10n * S },
    now: { ...seen, ctimeNs: T + 9n * S },
    expect: undefined,
  },
  {
    name: 'an mtime in the future stays racy until it is past',
    known: { ...known, stat: statKey({ ...seen, mtimeNs: T + 100n * S }) },
    now: { ...seen, mtimeNs: T + 100n * S },
    expect: undefined,
  },
];

for (const c of cases) {
  test(`reusableHash: ${c.name}`, () => {
    assert.equal(reusableHash(c.known, c.now, statKey(c.now)), c.expect);
  });
}

test('isRacy: the window is the granularity after the later of mtime and ctime', () => {
  assert.equal(isRacy({ mtimeNs: T, ctimeNs: T }, T + 2n * S - 1n), true);
  assert.equal(isRacy({ mtimeNs: T, ctimeNs: T }, T + 2n * S), false);
  assert.equal(isRacy({ mtimeNs: T, ctimeNs: T }, T + S, S), false);
  assert.equal(isRacy({ mtimeNs: T, ctimeNs: T }, undefined), true);
});

test('isRacyListed: an entry modified within one timestamp step of now is racy, by its mtime only', () => {
  const now = 1_700_000_010_000_000_000n;
  const s = 1_000_000_000n;
  assert.equal(isRacyListed({ mtimeNs: now - s }, now), true, '1 s old');
  assert.equal(isRacyListed({ mtimeNs: now - 2n * s }, now), false, 'one step old');
  assert.equal(isRacyListed({ mtimeNs: now + s }, now), true, 'in the future');
  // A file a sync just copied: new ctime, its source's old mtime: not racy.
  assert.equal(
    isRacyListed({ mtimeNs: now - 3600n * s, ctimeNs: now } as { mtimeNs: bigint }, now),
    false,
  );
});
