import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  type RetentionPolicy,
  staggeredBucket,
  type VersionAge,
  versionsToDrop,
} from '../../src/core/retention.ts';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

/** Versions replaced `ages` ago (ids 1..n in that order), plus the current one (id 0) unless `deleted`. */
function versions(ages: number[], deleted = false): VersionAge[] {
  const out: VersionAge[] = ages.map((a, i) => ({ id: i + 1, replacedMs: NOW - a }));
  if (!deleted) out.push({ id: 0, replacedMs: undefined });
  return out;
}

const kept = (vs: VersionAge[], p: RetentionPolicy | undefined) => {
  const drop = new Set(versionsToDrop(vs, p, NOW));
  return vs.filter((v) => !drop.has(v.id)).map((v) => v.id);
};

describe('staggeredBucket (S26: 30 s for an hour, 1 h for a day, 1 d for 30 d, 1 w to a year)', () => {
  const cases: [string, number, string | undefined][] = [
    ['just now', 0, 's0'],
    ['29 s', 29 * S, 's0'],
    ['30 s', 30 * S, 's1'],
    ['59 min 59 s', H - S, 's119'],
    ['1 h', H, 'h1'],
    ['23 h 59 min', D - M, 'h23'],
    ['1 d', D, 'd1'],
    ['29 d 23 h', 30 * D - H, 'd29'],
    ['30 d', 30 * D, 'w4'],
    ['364 d', 364 * D, 'w52'],
    ['365 d: beyond a year, no bucket', 365 * D, undefined],
    ['a clock ahead (negative age) counts as now', -5 * S, 's0'],
  ];
  for (const [name, age, bucket] of cases)
    test(`${name} -> ${bucket}`, () => assert.equal(staggeredBucket(age), bucket));
});

describe('versionsToDrop: tables', () => {
  const cases: {
    name: string;
    ages: number[];
    deleted?: boolean;
    policy: RetentionPolicy | undefined;
    keep: number[];
  }[] = [
    {
      name: 'no policy keeps everything',
      ages: [H, D, 400 * D],
      policy: undefined,
      keep: [1, 2, 3, 0],
    },
    { name: 'an empty policy keeps everything', ages: [H, 400 * D], policy: {}, keep: [1, 2, 0] },
    {
      name: '--keep-last 2: the two newest older versions and the current one',
      ages: [M, H, D, 2 * D],
      policy: { keepLast: 2 },
      keep: [1, 2, 0],
    },
    {
      name: '--keep-last 0 drops every older version but never the current one (S26)',
      ages: [M, H],
      policy: { keepLast: 0 },
      keep: [0],
    },
    {
      name: '--keep-last 0 on a deleted file keeps its last version (S26)',
      ages: [M, H],
      deleted: true,
      policy: { keepLast: 0 },
      keep: [1],
    },
    {
      name: '--keep-within 1d: replaced within a day, the edge included',
      ages: [M, D, D + 1],
      policy: { keepWithinMs: D },
      keep: [1, 2, 0],
    },
    {
      name: '--keep-within on a deleted file older than the window keeps the newest (S26)',
      ages: [40 * D, 50 * D],
      deleted: true,
      policy: { keepWithinMs: 30 * D },
      keep: [1],
    },
    {
      name: 'staggered: two in one 30 s bucket keep the oldest',
      ages: [10 * S, 20 * S],
      policy: { keepStaggered: true },
      keep: [2, 0],
    },
    {
      name: 'staggered: different buckets both stay',
      ages: [10 * S, 40 * S],
      policy: { keepStaggered: true },
      keep: [1, 2, 0],
    },
    {
      name: 'staggered: three in one hour bucket keep the oldest',
      ages: [2 * H + M, 2 * H + 30 * M, 2 * H + 59 * M],
      policy: { keepStaggered: true },
      keep: [3, 0],
    },
    {
      name: 'staggered: one per day beyond a day',
      ages: [3 * D + H, 3 * D + 5 * H, 4 * D],
      policy: { keepStaggered: true },
      keep: [2, 3, 0],
    },
    {
      name: 'staggered: beyond a year goes',
      ages: [H, 400 * D],
      policy: { keepStaggered: true },
      keep: [1, 0],
    },
    {
      name: 'staggered on a deleted file beyond a year keeps the last version (S26)',
      ages: [400 * D, 500 * D],
      deleted: true,
      policy: { keepStaggered: true },
      keep: [1],
    },
    {
      name: 'union: --keep-last 1 plus --keep-within 1h',
      ages: [M, 2 * M, 2 * H, 3 * H],
      policy: { keepLast: 1, keepWithinMs: H },
      keep: [1, 2, 0],
    },
    {
      name: 'union: staggered plus --keep-last 3 keeps the 3 newest and one per bucket',
      ages: [5 * S, 10 * S, 15 * S, 20 * S],
      policy: { keepLast: 3, keepStaggered: true },
      keep: [1, 2, 3, 4, 0],
    },
  ];
  for (const c of cases)
    test(c.name, () => assert.deepEqual(kept(versions(c.ages, c.deleted), c.policy), c.keep));
});

describe('versionsToDrop: properties', () => {
  const ageArb = fc.oneof(
    fc.integer({ min: 0, max: 2 * H }),
    fc.integer({ min: 0, max: 40 * D }),
    fc.integer({ min: 0, max: 800 * D }),
  );
  const policyArb: fc.Arbitrary<RetentionPolicy> = fc.record(
    {
      keepLast: fc.nat({ max: 5 }),
      keepWithinMs: fc.integer({ min: 0, max: 60 * D }),
      keepStaggered: fc.boolean(),
    },
    { requiredKeys: [] },
  );
  const caseArb = fc.record({
    ages: fc.array(ageArb, { maxLength: 30 }),
    deleted: fc.boolean(),
    policy: policyArb,
  });

  test('S26: never the current version; a deleted file keeps its newest version', () => {
    fc.assert(
      fc.property(caseArb, ({ ages, deleted, policy }) => {
        const vs = versions(ages, deleted);
        const drop = new Set(versionsToDrop(vs, policy, NOW));
        assert.ok(!drop.has(0), 'the current version stays');
        const older = vs.filter((v) => v.replacedMs !== undefined);
        if (deleted && older.length > 0) {
          const newest = Math.max(...older.map((v) => v.replacedMs as number));
          assert.ok(
            older.some((v) => v.replacedMs === newest && !drop.has(v.id)),
            'the newest version of a deleted file stays',
          );
        }
      }),
      { numRuns: 500 },
    );
  });

  test('S26: staggered alone keeps at most one version per bucket, the oldest of it', () => {
    fc.assert(
      fc.property(caseArb, ({ ages }) => {
        const vs = versions(ages);
        const drop = new Set(versionsToDrop(vs, { keepStaggered: true }, NOW));
        const byBucket = new Map<string, VersionAge[]>();
        for (const v of vs) {
          if (v.replacedMs === undefined) continue;
          const b = staggeredBucket(NOW - v.replacedMs);
          if (b === undefined) {
            assert.ok(drop.has(v.id), 'beyond a year goes');
            continue;
          }
          byBucket.set(b, [...(byBucket.get(b) ?? []), v]);
        }
        for (const [b, members] of byBucket) {
          const left = members.filter((v) => !drop.has(v.id));
          assert.equal(left.length, 1, `bucket ${b}`);
          const oldest = Math.min(...members.map((v) => v.replacedMs as number));
          assert.equal(left[0]?.replacedMs, oldest, `bucket ${b} keeps its oldest`);
        }
      }),
      { numRuns: 500 },
    );
  });

  test('rules combine as a union: a version goes only when every chosen rule lets it go', () => {
    fc.assert(
      fc.property(caseArb, policyArb, ({ ages, deleted, policy }, other) => {
        const vs = versions(ages, deleted);
        const both = { ...other, ...policy };
        const only = (p: RetentionPolicy) => new Set(versionsToDrop(vs, p, NOW));
        const rules: RetentionPolicy[] = [];
        if (both.keepLast !== undefined) rules.push({ keepLast: both.keepLast });
        if (both.keepWithinMs !== undefined) rules.push({ keepWithinMs: both.keepWithinMs });
        if (both.keepStaggered) rules.push({ keepStaggered: true });
        const expected = vs
          .filter((v) => rules.length > 0 && rules.every((r) => only(r).has(v.id)))
          .map((v) => v.id)
          .sort();
        assert.deepEqual([...only(both)].sort(), expected);
      }),
      { numRuns: 500 },
    );
  });
});
