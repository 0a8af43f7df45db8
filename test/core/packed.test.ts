import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Entry } from '../../src/core/entry.ts';
import { sameMtime } from '../../src/core/entry.ts';
import {
  packEntries,
  packedNames,
  packedNamesAt,
  sameMtimePacked,
  setTime,
  toleranceNumber,
  unpackEntries,
} from '../../src/core/packed.ts';

// Seconds as stat reports them, nanoseconds 0..999,999,999; near zero, today, and extremes.
const timeNs = fc.oneof(
  fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }),
  fc.bigInt({ min: 1_600_000_000n * 10n ** 9n, max: 1_800_000_000n * 10n ** 9n }),
  fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }),
);

const entry: fc.Arbitrary<Entry> = fc
  .record({
    name: fc.string({ minLength: 1 }).filter((s) => !s.includes('\0')),
    kind: fc.constantFrom('file' as const, 'dir' as const, 'symlink' as const),
    size: fc.oneof(fc.nat(), fc.constantFrom(2 ** 32, 2 ** 53 - 1)),
    mtimeNs: timeNs,
    ctimeNs: timeNs,
    mode: fc.nat({ max: 0o7777 }),
    ino: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 1000n })),
    target: fc.string(),
  })
  .map(({ target, ...e }) => (e.kind === 'symlink' ? { ...e, target } : e));

test('packEntries and unpackEntries round-trip every field exactly', () => {
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 5 }), (entries) => {
      assert.deepEqual(unpackEntries(packEntries(entries)), entries);
    }),
    { numRuns: 1000 },
  );
});

test('sameMtimePacked agrees with sameMtime', () => {
  const near = fc.tuple(timeNs, fc.bigInt({ min: -3_000_000_000n, max: 3_000_000_000n }));
  const pair = fc.oneof(
    near.map(([a, d]) => [a, a + d] as const),
    fc.tuple(timeNs, timeNs),
  );
  const tol = fc.oneof(
    fc.constantFrom(0n, 1000n, 999n, 1001n, 2_000_000_000n, 2n ** 53n, 2n ** 53n - 1n, 2n ** 60n),
    fc.bigInt({ min: -5n, max: 5_000_000_000n }),
  );
  fc.assert(
    fc.property(pair, tol, ([a, b], t) => {
      const x = new Int32Array(3);
      const y = new Int32Array(3);
      setTime(x, 0, a);
      setTime(y, 0, b);
      assert.equal(sameMtimePacked(x, 0, y, 0, t, toleranceNumber(t)), sameMtime(a, b, t));
    }),
    { numRuns: 5000 },
  );
});

test('packedNamesAt picks the names packedNames would', () => {
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 6 }), fc.array(fc.boolean()), (entries, pick) => {
      const p = packEntries(entries);
      const all = packedNames(p);
      const at = all.map((_, i) => i).filter((i) => pick[i]);
      assert.deepEqual(
        packedNamesAt(p, at),
        at.map((i) => all[i]),
      );
    }),
  );
});
