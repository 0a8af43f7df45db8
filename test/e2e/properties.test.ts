/**
 * Property-based tests of the one-way modes on real temporary directories: hundreds of random
 * source trees A (files, directories, symlinks; random contents, modes and nanosecond mtimes)
 * against a random "B before" (absent, empty, unrelated, or A mutated), synced in process with
 * syncLocal. Each property names the safety property (SAFETY.md) it checks.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, type TestContext, test } from 'node:test';
import fc from 'fast-check';
// The built library, as a user runs it (npm test builds first): its worker threads start in
// ~60 ms, where the TypeScript sources need tsx registered in every thread (~0.4 s).
import { type LocalSyncOptions, syncLocal } from '../../dist/api.js';
import type { OneWayResult } from '../../dist/engine/oneway.js';
import { type Case, caseArb, describeCase, materialize, TimeSetter } from './arbitraries.ts';
import {
  COUNT_KEYS,
  type Counts,
  fingerprint,
  readTree,
  rootMeta,
  type Seen,
  tempDir,
} from './helpers.ts';

/** Cases per property; CONCORD_PROPERTY_RUNS raises it for a longer hunt. */
const NUM_RUNS = Math.max(300, Number(process.env.CONCORD_PROPERTY_RUNS ?? 0) || 0);

const times = new TimeSetter();
after(() => times.close());

type Tree = Record<string, Seen>;

interface Roots {
  dir: string;
  A: string;
  B: string;
}

/**
 * Writes the case to a fresh temporary directory (`A`, and `B` unless absent), runs `body`,
 * and removes the directory whatever happened (fast-check prints the case with describeCase).
 */
async function withCase(c: Case, body: (r: Roots) => Promise<void>): Promise<void> {
  const cleanups: (() => void)[] = [];
  try {
    const dir = tempDir({ after: (fn) => cleanups.push(fn) }, 'concord-prop-');
    const r = { dir, A: join(dir, 'A'), B: join(dir, 'B') };
    await materialize(r.A, c.a, times);
    if (c.b) await materialize(r.B, c.b, times);
    await body(r);
  } finally {
    for (const fn of cleanups) fn();
  }
}

function sync(r: Roots, c: Case, extra: Partial<LocalSyncOptions> = {}): Promise<OneWayResult> {
  // Both paths: the walker and copy threads, and everything on this thread.
  return syncLocal(r.A, r.B, {
    mode: c.mode,
    checksum: c.checksum,
    concurrency: c.concurrency,
    workers: c.workers ? 'at-once' : false,
    ...extra,
  });
}

function counts(res: OneWayResult): Counts {
  return Object.fromEntries(COUNT_KEYS.map((k) => [k, res.summary[k]])) as Counts;
}

function problemsOf(res: OneWayResult): string[] {
  return res.summary.problems.map((p) => `${p.code} ${p.path}`).sort();
}

const pathOf = (key: string) => (key.endsWith('/') ? key.slice(0, -1) : key);

/**
 * What a replica run must leave on B (S25): every entry of A with A's content and metadata,
 * except where B has a directory and A something else (B's directory stays, with all inside
 * it); every path of B that A lacks, untouched.
 */
function expectedReplica(a: Tree, b: Tree): { tree: Tree; conflicts: string[] } {
  const aPaths = new Set(Object.keys(a).map(pathOf));
  const tree: Tree = {};
  const conflicts: string[] = [];
  for (const [k, v] of Object.entries(b)) if (!aPaths.has(pathOf(k))) tree[k] = v;
  for (const [k, v] of Object.entries(a)) {
    const bDir = b[`${k}/`];
    if (v.kind !== 'dir' && bDir) {
      tree[`${k}/`] = bDir;
      conflicts.push(`kind-conflict ${k}`);
    } else tree[k] = v;
  }
  return { tree: sorted(tree), conflicts: conflicts.sort() };
}

function sorted(t: Tree): Tree {
  return Object.fromEntries(Object.entries(t).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

function property(t: TestContext, body: (c: Case) => Promise<void>, cases = caseArb) {
  if (!times.nanoseconds) t.diagnostic('no python3: mtimes are whole microseconds, not ns');
  return fc.assert(fc.asyncProperty(cases, body), {
    numRuns: NUM_RUNS,
    includeErrorInReport: true,
  });
}

const mirrorCases = caseArb.map((c) => withMode(c, 'mirror'));
const replicaCases = caseArb.map((c) => withMode(c, 'replica'));

function withMode(c: Case, mode: Case['mode']): Case {
  const out = { ...c, mode };
  Object.defineProperty(out, fc.toStringMethod, { value: () => describeCase(out) });
  return out;
}

test('S25 mirror: afterwards B equals A (names, kinds, contents, link targets, modes, mtimes to the µs, directories and the root included), and A is untouched', async (t) => {
  await property(
    t,
    (c) =>
      withCase(c, async (r) => {
        const source = fingerprint(r.A);
        const res = await sync(r, c);
        assert.deepEqual(fingerprint(r.A), source, 'the source was touched');
        assert.deepEqual(problemsOf(res), [], 'a mirror run reports no problems');
        assert.deepEqual(readTree(r.B), readTree(r.A));
        assert.deepEqual(rootMeta(r.B), rootMeta(r.A), 'root mode and mtime');
      }),
    mirrorCases,
  );
});

test('S25 copy (replica): every entry of A is on B with its content and metadata, except a directory of B where A has a non-directory (a kind-conflict problem); every path only on B is untouched; A is untouched', async (t) => {
  await property(
    t,
    (c) =>
      withCase(c, async (r) => {
        const before = c.b ? readTree(r.B) : {};
        const expected = expectedReplica(readTree(r.A), before);
        const source = fingerprint(r.A);
        const res = await sync(r, c);
        assert.deepEqual(fingerprint(r.A), source, 'the source was touched');
        assert.deepEqual(problemsOf(res), expected.conflicts);
        assert.deepEqual(readTree(r.B), expected.tree);
        assert.deepEqual(rootMeta(r.B), rootMeta(r.A), 'root mode and mtime');
      }),
    replicaCases,
  );
});

test('S12 idempotence (mirror and copy): a second run plans nothing and copies nothing', async (t) => {
  await property(t, (c) =>
    withCase(c, async (r) => {
      await sync(r, c);
      const tree = readTree(r.B);
      const second = await sync(r, c);
      assert.deepEqual(
        second.plan.map((op) => `${op.op} ${op.path} (${op.reason})`),
        [],
        'second plan',
      );
      const { created, updated, deleted, metadataUpdated, bytesCopied } = second.summary;
      assert.deepEqual(
        { created, updated, deleted, metadataUpdated, bytesCopied },
        { created: 0, updated: 0, deleted: 0, metadataUpdated: 0, bytesCopied: 0 },
      );
      assert.deepEqual(readTree(r.B), tree, 'the second run changed nothing');
    }),
  );
});

test('S7 nothing lost (mirror and copy): every file and symlink of B that was overwritten or deleted is in B/.concord/trash/', async (t) => {
  await property(t, (c) =>
    withCase(c, async (r) => {
      const before = c.b ? readTree(r.B, { meta: false }) : {};
      await sync(r, c);
      const afterRun = readTree(r.B, { meta: false });
      const trashDir = join(r.B, '.concord', 'trash');
      const trash = existsSync(trashDir) ? readTree(trashDir, { meta: false }) : {};
      const kept = new Map<string, number>();
      const key = (s: Seen) =>
        s.kind === 'file' ? `file ${s.content}` : s.kind === 'symlink' ? `link ${s.target}` : 'dir';
      for (const s of Object.values(trash)) {
        if (s.kind !== 'dir') kept.set(key(s), (kept.get(key(s)) ?? 0) + 1);
      }
      const lost: string[] = [];
      for (const [p, s] of Object.entries(before)) {
        if (s.kind === 'dir') continue;
        const now = afterRun[p];
        if (now && key(now) === key(s)) continue; // survived in place
        const n = kept.get(key(s)) ?? 0;
        if (n > 0) kept.set(key(s), n - 1);
        else lost.push(`${p}: ${JSON.stringify(key(s))}`);
      }
      assert.deepEqual(lost, [], 'versions of B neither in place nor in the trash');
    }),
  );
});

test('--dry-run (mirror and copy): dryRun changes nothing on either side (S25: the source least of all), and its counts equal the real run', async (t) => {
  await property(t, (c) =>
    withCase(c, async (r) => {
      const before = fingerprint(r.dir);
      const dry = await sync(r, c, { dryRun: true });
      assert.deepEqual(fingerprint(r.dir), before, 'the dry run changed the roots');
      assert.equal(dry.summary.dryRun, true);
      const real = await sync(r, c);
      assert.deepEqual(counts(dry), counts(real));
      assert.deepEqual(problemsOf(dry), problemsOf(real));
    }),
  );
});
