import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { exceedsMaxDelete, rootsOverlap } from '../../src/core/safety.ts';

type Overlap = ReturnType<typeof rootsOverlap>;

describe('rootsOverlap', () => {
  const cases: { name: string; a: string; b: string; expect: Overlap }[] = [
    { name: 'the same path is the same root', a: '/data/a', b: '/data/a', expect: 'same' },
    { name: 'a trailing slash on A does not matter', a: '/data/a/', b: '/data/a', expect: 'same' },
    { name: 'a trailing slash on B does not matter', a: '/data/a', b: '/data/a/', expect: 'same' },
    { name: '/ and / are the same', a: '/', b: '/', expect: 'same' },
    { name: 'B directly inside A', a: '/data', b: '/data/b', expect: 'b-inside-a' },
    { name: 'B deep inside A', a: '/data', b: '/data/x/y/b', expect: 'b-inside-a' },
    { name: 'A inside B', a: '/data/a', b: '/data', expect: 'a-inside-b' },
    {
      name: 'B inside A, both with trailing slashes',
      a: '/data/',
      b: '/data/b/',
      expect: 'b-inside-a',
    },
    { name: 'everything is inside / (B)', a: '/', b: '/data', expect: 'b-inside-a' },
    { name: 'everything is inside / (A)', a: '/data', b: '/', expect: 'a-inside-b' },
    {
      name: "a prefix that is not a parent: '/a/b' vs '/a/bc'",
      a: '/a/b',
      b: '/a/bc',
      expect: null,
    },
    { name: "the same, swapped: '/a/bc' vs '/a/b'", a: '/a/bc', b: '/a/b', expect: null },
    { name: "'/a/b-c' is not inside '/a/b'", a: '/a/b', b: '/a/b-c/d', expect: null },
    { name: 'siblings are apart', a: '/data/a', b: '/data/b', expect: null },
    { name: 'unrelated trees are apart', a: '/home/u/src', b: '/mnt/backup', expect: null },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(rootsOverlap(c.a, c.b), c.expect));
  }
});

describe('exceedsMaxDelete (S20)', () => {
  const cases: { name: string; planned: number; max: number | undefined; expect: boolean }[] = [
    { name: 'no limit never refuses', planned: 1_000_000, max: undefined, expect: false },
    { name: 'below the limit goes on', planned: 4, max: 5, expect: false },
    { name: 'exactly the limit goes on', planned: 5, max: 5, expect: false },
    { name: 'one over the limit is refused', planned: 6, max: 5, expect: true },
    { name: '--max-delete 0 allows a run without deletions', planned: 0, max: 0, expect: false },
    { name: '--max-delete 0 refuses any deletion', planned: 1, max: 0, expect: true },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(exceedsMaxDelete(c.planned, c.max), c.expect));
  }
});
