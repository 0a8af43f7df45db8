import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Entry } from '../../src/core/entry.ts';
import {
  diffOneWay,
  diffOneWayInSync,
  type OneWayDir,
  type OneWayInput,
} from '../../src/core/oneway.ts';
import { packEntries } from '../../src/core/packed.ts';
import { compareNames } from '../../src/core/path.ts';

// Few values of each field, so that both sides agree often and differ in every way.
const names = ['a', 'b', 'Z', 'é', '\u{1F600}'];
const mtime = fc.constantFrom(
  1_000n,
  1_003n,
  2_000n,
  -1_500_000_000n, // before 1970
  1_700_000_000_123_456_789n,
  1_700_000_000_123_457_000n, // 211 ns later: within a microsecond
  1_700_000_001_123_456_789n, // a second later
);
const kind = fc.constantFrom('file' as const, 'dir' as const, 'symlink' as const);

const entry = (name: string): fc.Arbitrary<Entry> =>
  fc
    .record({
      kind,
      size: fc.constantFrom(0, 1, 2 ** 32 + 1),
      mtimeNs: mtime,
      ctimeNs: mtime,
      mode: fc.constantFrom(0o644, 0o600, 0o755),
      ino: fc.constantFrom(1n, 2n ** 40n),
      target: fc.constantFrom('a', 'b'),
    })
    .map(({ target, ...e }): Entry => {
      const base = { ...e, name, size: e.kind === 'file' ? e.size : 0 };
      return e.kind === 'symlink' ? { ...base, mode: 0, target } : base;
    });

const listing = fc
  .subarray(names)
  .chain((ns) => fc.tuple(...[...ns].sort(compareNames).map(entry)))
  .map((es) => es as Entry[]);

/** B mostly A's copy: each entry kept, dropped, or one of its fields changed; some extras. */
const nearCopy = (src: Entry[]): fc.Arbitrary<Entry[]> =>
  fc
    .tuple(
      fc.array(fc.nat(9), { minLength: src.length, maxLength: src.length }),
      fc.array(entry('extra'), { maxLength: 1 }),
      mtime,
    )
    .map(([picks, extra, t]) => {
      const out: Entry[] = [];
      src.forEach((e, i) => {
        const p = picks[i] as number;
        if (p === 0) return; // dropped
        const c = { ...e, ino: e.ino + 1n, ctimeNs: e.ctimeNs + 7n }; // B's are not compared
        if (p === 1) c.mtimeNs = t;
        if (p === 2) c.mode = c.mode === 0o600 ? 0o644 : 0o600;
        if (p === 3 && e.kind === 'file') c.size = e.size + 1;
        if (p === 4 && e.kind === 'symlink') c.target = `${e.target}x`;
        out.push(c);
      });
      return [...out, ...extra].sort((a, b) => compareNames(a.name, b.name));
    });

const self = fc.option(entry(''), { nil: undefined });

const input = fc
  .record({
    src: listing,
    srcSelf: self,
    dstSelf: self,
    dir: fc.constantFrom('', 'd', 'd/e'),
    mode: fc.constantFrom('replica' as const, 'mirror' as const),
    checksum: fc.nat(4).map((n) => n === 0),
    tolerance: fc.constantFrom(0n, 1000n, 5n, 2_000_000_000n, 2n ** 60n),
    // Before, between and after the ctimes the entries take (they take mtime's values).
    racySince: fc.constantFrom(undefined, 0n, 1_700_000_000_123_457_000n, 2n ** 62n),
    protectedNames: fc.subarray([...names, 'extra']),
    removing: fc.constantFrom(undefined, undefined, undefined, 'extra' as const),
    sameSelf: fc.boolean(),
  })
  .chain((r) => nearCopy(r.src).map((dst) => ({ ...r, dst })))
  .map((r): OneWayInput & { src: Entry[]; dst: Entry[] } => ({
    dir: r.dir,
    srcSelf: r.srcSelf,
    dstSelf: r.sameSelf ? r.srcSelf : r.dstSelf,
    src: r.src,
    dst: r.dst,
    protectedNames: new Set(r.protectedNames),
    mode: r.mode,
    opts: { checksum: r.checksum, mtimeToleranceNs: r.tolerance, racySinceNs: r.racySince },
    removing: r.removing,
  }));

const isEmpty = (d: OneWayDir) =>
  d.ops.length === 0 && d.needsHash.length === 0 && d.problems.length === 0;

test('diffOneWayInSync answers exactly as diffOneWay, and answers whenever nothing is to do', () => {
  let answered = 0;
  fc.assert(
    fc.property(input, (x) => {
      const fast = diffOneWayInSync({ ...x, src: packEntries(x.src), dst: packEntries(x.dst) });
      const full = diffOneWay(x);
      if (fast) {
        answered++;
        assert.deepEqual(fast, full);
      }
      // Same names and nothing to do: the fast path must not miss it (it is the point).
      const sameNames = x.src.map((e) => e.name).join('/') === x.dst.map((e) => e.name).join('/');
      if (isEmpty(full) && sameNames && !x.removing) assert.ok(fast, 'in sync, not answered');
    }),
    { numRuns: 5000 },
  );
  assert.ok(answered > 500, `only ${answered} of 5000 answered`);
});
