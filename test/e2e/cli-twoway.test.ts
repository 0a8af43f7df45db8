/**
 * `concord sync A B` (two-way) and `concord plan A B` end to end, through the built CLI on real
 * directories: conflict policies (S6, S7), the --json summary, the guard rails (S19, S20), an
 * interrupted run and its rerun (S15), and what plan prints.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { nativeLister } from '../../src/endpoint/local/native.ts';
import { openStateDb } from '../../src/index/state-db.ts';
import { CLI, makeTree, tempDir } from '../helpers/tree.ts';
import {
  COUNT_KEYS,
  cli,
  contents,
  counts,
  events,
  fingerprint,
  prepareForNobody,
  put,
  type Roots,
  readTree,
  roots,
  runCli,
  type Spec,
  summaryOf,
  synced,
  T1,
  T2,
  T3,
  tempFiles,
  trashed,
  trashStamps,
  ZERO,
} from './helpers.ts';

type Ctx = Parameters<typeof roots>[0];

/** `YYYYMMDD-HHMMSS` of a time in seconds, in UTC: the stamp of a conflict copy's name. */
function utcStamp(seconds: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/**
 * Both roots hold the same tree: kinds, contents, link targets, modes, file mtimes. Directory
 * mtimes are left out: two-way leaves a directory's times to its own side (core/reconcile.ts:
 * "only the mode is a directory's own"), and each side's are touched by what the run writes.
 */
function assertSameTrees(A: string, B: string): void {
  const strip = (root: string) =>
    Object.fromEntries(
      Object.entries(readTree(root)).map(([p, s]) => [
        p,
        s.kind === 'dir' ? { ...s, mtimeUs: undefined } : s,
      ]),
    );
  assert.deepEqual(strip(B), strip(A));
}

/** A run that finds nothing to do: exit 0, every count zero (S12). */
async function assertInSync(A: string, B: string): Promise<void> {
  const again = await cli(['sync', A, B, '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(counts(again), ZERO);
}

const BASE: Spec = {
  'doc.txt': { content: 'base version', mtime: T1 },
  'other.txt': { content: 'untouched', mtime: T1 },
};
/** The edit on A: the newer one, and the smaller. */
const A_TEXT = 'A: newer';
/** The edit on B: older, but larger. */
const B_TEXT = 'B: older, but longer';

/** A real conflict: both sides edited doc.txt after the first sync (A at T3, B at T2). */
async function conflicted(t: Ctx): Promise<Roots> {
  const r = await synced(t, BASE);
  put(r.A, 'doc.txt', A_TEXT, T3);
  put(r.B, 'doc.txt', B_TEXT, T2);
  return r;
}

describe('two-way conflicts through the CLI (S6, S7)', () => {
  test('keep-both is the default: the newer keeps the name, the older sits beside it on both roots, named by its mtime in UTC (S6)', async (t) => {
    const { A, B } = await conflicted(t);
    // A zone far from UTC: the name must carry the UTC time of the loser's mtime.
    const r = await runCli(['sync', A, B, '--json'], { env: { TZ: 'Asia/Kathmandu' } });
    assert.equal(r.code, 0, r.stderr);
    const aside = `doc.conflict-B-${utcStamp(T2)}.txt`;
    assert.equal(aside, 'doc.conflict-B-20220415-052000.txt');
    const want = {
      'doc.txt': { kind: 'file', content: A_TEXT },
      [aside]: { kind: 'file', content: B_TEXT },
      'other.txt': { kind: 'file', content: 'untouched' },
    };
    assert.deepEqual(contents(A), want);
    // Identical, mtimes and modes included: the copy keeps the loser's mtime.
    assertSameTrees(A, B);
    assert.equal(readTree(A)[aside]?.mtimeUs, BigInt(T2) * 1_000_000n);
    assert.deepEqual(counts(r), {
      ...ZERO,
      created: 1, // the conflict copy written into A (B renamed its own version aside)
      updated: 1, // doc.txt on B, which had the older version
      conflicts: 1,
      bytesCopied: A_TEXT.length + B_TEXT.length,
    });
    assert.deepEqual(summaryOf(r).problems, []);
    await assertInSync(A, B);
  });

  test('keep-both on a name of 244 bytes: the copy loses the end of its stem to fit in 255 bytes, and the conflict is settled for good (S6, S12)', async (t) => {
    const long = `${'é'.repeat(60)}${'n'.repeat(120)}.txt`; // 244 bytes of UTF-8
    const { A, B } = await synced(t, { [long]: { content: 'base', mtime: T1 } });
    put(A, long, A_TEXT, T3);
    put(B, long, B_TEXT, T2);
    const r = await cli(['sync', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(summaryOf(r).problems, []);
    assert.equal(counts(r).conflicts, 1);
    const aside = Object.keys(contents(A)).find((n) => n !== long) as string;
    assert.match(aside, new RegExp(`^é{60}n+\\.conflict-B-${utcStamp(T2)}\\.txt$`));
    assert.equal(Buffer.byteLength(aside), 255);
    assert.deepEqual(contents(A), {
      [long]: { kind: 'file', content: A_TEXT },
      [aside]: { kind: 'file', content: B_TEXT },
    });
    assertSameTrees(A, B);
    await assertInSync(A, B);
  });

  test("keep-both when B holds the newer version: A's goes aside as .conflict-A-", async (t) => {
    const { A, B } = await synced(t, BASE);
    put(A, 'doc.txt', A_TEXT, T2);
    put(B, 'doc.txt', B_TEXT, T3);
    const r = await cli(['sync', A, B, '--conflict', 'keep-both']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(contents(A), {
      [`doc.conflict-A-${utcStamp(T2)}.txt`]: { kind: 'file', content: A_TEXT },
      'doc.txt': { kind: 'file', content: B_TEXT },
      'other.txt': { kind: 'file', content: 'untouched' },
    });
    assertSameTrees(A, B);
    await assertInSync(A, B);
  });

  test('keep-both names: in a subdirectory, without an extension, a dotfile', async (t) => {
    const spec: Spec = {
      'notes/plan.md': { content: 'v0', mtime: T1 },
      Makefile: { content: 'v0', mtime: T1 },
      '.bashrc': { content: 'v0', mtime: T1 },
    };
    const { A, B } = await synced(t, spec);
    put(A, 'notes/plan.md', 'plan on A', T3);
    put(B, 'notes/plan.md', 'plan on B', T2);
    put(A, 'Makefile', 'make on A', T1 + 1);
    put(B, 'Makefile', 'make on B', T3 + 61);
    put(A, '.bashrc', 'rc on A', T2 + 7);
    put(B, '.bashrc', 'rc on B', T3);
    const r = await cli(['sync', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(counts(r).conflicts, 3);
    assert.deepEqual(contents(A), {
      '.bashrc': { kind: 'file', content: 'rc on B' },
      [`.bashrc.conflict-A-${utcStamp(T2 + 7)}`]: { kind: 'file', content: 'rc on A' },
      Makefile: { kind: 'file', content: 'make on B' },
      [`Makefile.conflict-A-${utcStamp(T1 + 1)}`]: { kind: 'file', content: 'make on A' },
      'notes/': { kind: 'dir' },
      [`notes/plan.conflict-B-${utcStamp(T2)}.md`]: { kind: 'file', content: 'plan on B' },
      'notes/plan.md': { kind: 'file', content: 'plan on A' },
    });
    assertSameTrees(A, B);
    await assertInSync(A, B);
  });

  const WINNERS = [
    { policy: 'keep-source', winner: 'A', why: 'A is the source' },
    { policy: 'keep-destination', winner: 'B', why: 'B is the destination' },
    { policy: 'keep-newer', winner: 'A', why: "A's mtime (T3) is later than B's (T2)" },
    { policy: 'keep-larger', winner: 'B', why: "B's version has more bytes" },
  ] as const;
  for (const { policy, winner, why } of WINNERS) {
    test(`--conflict ${policy}: ${winner} wins (${why}); the loser is in the loser root's trash (S7)`, async (t) => {
      const { A, B } = await conflicted(t);
      const r = await cli(['sync', A, B, '--conflict', policy, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const [winText, loseText, loserRoot, winnerRoot] =
        winner === 'A' ? [A_TEXT, B_TEXT, B, A] : [B_TEXT, A_TEXT, A, B];
      const want = {
        'doc.txt': { kind: 'file', content: winText },
        'other.txt': { kind: 'file', content: 'untouched' },
      };
      assert.deepEqual(contents(A), want);
      assertSameTrees(A, B);
      assert.deepEqual(trashed(loserRoot), { 'doc.txt': loseText }, 'the losing version is kept');
      assert.deepEqual(trashStamps(winnerRoot), [], 'nothing of the winner was thrown away');
      assert.deepEqual(counts(r), {
        ...ZERO,
        updated: 1,
        conflicts: 1,
        bytesCopied: winText.length,
      });
      await assertInSync(A, B);
    });
  }

  const TIES = [
    { policy: 'keep-larger', a: ['same size A', T2], b: ['same size B', T3] },
    { policy: 'keep-newer', a: ['short', T2], b: ['a bit longer', T2] },
  ] as const;
  for (const { policy, a, b } of TIES) {
    test(`${policy} on a tie keeps both: there is no winner to name`, async (t) => {
      const { A, B } = await synced(t, BASE);
      put(A, 'doc.txt', a[0], a[1]);
      put(B, 'doc.txt', b[0], b[1]);
      const r = await cli(['sync', A, B, '--conflict', policy, '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(counts(r).conflicts, 1);
      // The newer keeps the name; on equal mtimes, A's does.
      const aKeeps = a[1] >= b[1];
      const [named, aside] = aKeeps ? [a, b] : [b, a];
      assert.deepEqual(contents(A), {
        [`doc.conflict-${aKeeps ? 'B' : 'A'}-${utcStamp(aside[1])}.txt`]: {
          kind: 'file',
          content: aside[0],
        },
        'doc.txt': { kind: 'file', content: named[0] },
        'other.txt': { kind: 'file', content: 'untouched' },
      });
      assertSameTrees(A, B);
    });
  }

  test("the --json stream: every line an event with a type and the run's jobId, a conflict event, the summary last with the documented fields", async (t) => {
    const { A, B } = await conflicted(t);
    const r = await cli(['sync', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = events(r);
    const summary = lines.at(-1) as Record<string, unknown>;
    assert.equal(summary.type, 'summary');
    assert.equal(typeof summary.jobId, 'string');
    for (const e of lines) {
      assert.equal(typeof e.type, 'string', JSON.stringify(e));
      assert.equal(e.jobId, summary.jobId, JSON.stringify(e));
    }
    assert.equal(lines.filter((e) => e.type === 'summary').length, 1);
    assert.ok(lines.some((e) => e.type === 'op'));
    assert.ok(lines.some((e) => e.type === 'phase'));
    const conflictEvents = lines.filter((e) => e.type === 'conflict');
    assert.equal(conflictEvents.length, 1, 'one conflict event per conflict');
    assert.equal(conflictEvents[0]?.path, 'doc.txt');
    assert.equal(conflictEvents[0]?.choice, 'both');
    assert.equal(summary.mode, 'two-way');
    for (const k of [...COUNT_KEYS, 'durationMs'])
      assert.ok(Number.isInteger(summary[k]) && (summary[k] as number) >= 0, `${k}: ${summary[k]}`);
    assert.deepEqual(summary.problems, []);
    assert.equal(summary.conflicts, 1);
  });
});

describe('clock independence (S22)', () => {
  test('every mtime on B shifted by an hour (a FAT drive read across a DST change): content is checked by hash, nothing is copied, no conflict, nothing trashed; the shift is only a time, and the next run plans nothing', async (t) => {
    const spec: Spec = {
      'a.txt': { content: 'alpha', mtime: T1 },
      'sub/b.txt': { content: 'beta', mtime: T2 },
      'sub/c.bin': { content: 'gamma gamma', mtime: T3 },
    };
    const { A, B } = await synced(t, spec);
    for (const [rel, e] of Object.entries(spec)) {
      const mtime = (e as { mtime: number }).mtime + 3600;
      utimesSync(join(B, rel), mtime, mtime);
    }
    const r = await cli(['sync', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = summaryOf(r);
    assert.equal(s.bytesCopied, 0);
    assert.equal(s.conflicts, 0);
    assert.equal(s.created, 0);
    assert.equal(s.updated, 0);
    assert.equal(s.deleted, 0);
    assert.equal(s.hashed, 3, 'every shifted file read, none trusted by its time alone');
    assert.deepEqual(contents(A), contents(B));
    assert.deepEqual(trashStamps(A), []);
    assert.deepEqual(trashStamps(B), []);
    assertSameTrees(A, B);
    await assertInSync(A, B);
  });
});

describe('guard rails (S19, S20)', () => {
  /** Three files and a directory: the ancestor holds 4 entries after the first sync. */
  const TREE: Spec = {
    'a.txt': { content: 'a', mtime: T1 },
    'b.txt': { content: 'bb', mtime: T1 },
    'sub/c.txt': { content: 'ccc', mtime: T1 },
  };

  for (const gone of ['A', 'B'] as const) {
    test(`root ${gone} removed after a sync: exit 2 naming it and the entries the last sync saw; the other side untouched (S19)`, async (t) => {
      const r = await synced(t, TREE);
      const [missing, kept] = gone === 'A' ? [r.A, r.B] : [r.B, r.A];
      rmSync(missing, { recursive: true });
      const before = fingerprint(kept);
      const run = await cli(['sync', r.A, r.B]);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, '');
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, run.stderr);
      assert.match(lines[0] as string, /^concord: /);
      assert.ok(lines[0]?.includes(missing), lines[0]);
      assert.match(lines[0] as string, /missing/);
      assert.match(lines[0] as string, /last sync of this pair saw 4 entries/);
      assert.deepEqual(fingerprint(kept), before);
      assert.equal(existsSync(missing), false, 'the missing root was not made again');
    });
  }

  test('a root emptied (its .concord/ kept): exit 2 naming --force, nothing changed; with --force the deletions propagate to the trash (S19)', async (t) => {
    const { A, B } = await synced(t, TREE);
    rmSync(join(A, 'a.txt'));
    rmSync(join(A, 'b.txt'));
    rmSync(join(A, 'sub'), { recursive: true });
    assert.ok(existsSync(join(A, '.concord', 'root-id')));
    const beforeA = fingerprint(A);
    const beforeB = fingerprint(B);
    const refused = await cli(['sync', A, B]);
    assert.equal(refused.code, 2, refused.stderr);
    const line = refused.stderr.trim();
    assert.equal(line.split('\n').length, 1, line);
    assert.ok(line.includes(A), line);
    assert.match(line, /is empty/);
    assert.match(line, /saw 4 entries/);
    assert.match(line, /--force/);
    assert.deepEqual(fingerprint(A), beforeA);
    assert.deepEqual(fingerprint(B), beforeB);

    const forced = await cli(['sync', A, B, '--force', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(contents(B), {});
    assert.deepEqual(contents(A), {});
    assert.deepEqual(trashed(B), { 'a.txt': 'a', 'b.txt': 'bb', 'sub/c.txt': 'ccc' });
    assert.ok(counts(forced).deleted >= 3, JSON.stringify(counts(forced)));
    await assertInSync(A, B);
  });

  test('a root whose marker is gone and whose tree is an empty directory (an unmounted mount point): exit 2, nothing written anywhere (S19)', async (t) => {
    const { A, B } = await synced(t, TREE);
    rmSync(A, { recursive: true });
    mkdirSync(A);
    const beforeB = fingerprint(B);
    const r = await cli(['sync', A, B]);
    assert.equal(r.code, 2, r.stderr);
    const line = r.stderr.trim();
    assert.equal(line.split('\n').length, 1, line);
    assert.ok(line.includes(A), line);
    assert.match(line, /\.concord\/root-id/);
    assert.match(line, /saw 4 entries/);
    assert.deepEqual(fingerprint(B), beforeB);
    assert.deepEqual(
      readTree(A, { withState: true }),
      {},
      'no marker written into the mount point',
    );
    // Even --force does not take an unmarked root for the pair's.
    const forced = await cli(['sync', A, B, '--force']);
    assert.equal(forced.code, 2, forced.stderr);
    assert.deepEqual(fingerprint(B), beforeB);
  });

  test('the unmarked-root refusal names a way to start over that works, for a one-off pair and a named one (S19, S13)', async (t) => {
    // One-off: the hint cannot be "pair remove", which needs a name such a pair lacks.
    const one = await synced(t, TREE);
    rmSync(one.A, { recursive: true });
    mkdirSync(one.A);
    const refused = await cli(['sync', one.A, one.B]);
    assert.equal(refused.code, 2, refused.stderr);
    const m =
      /to start over with this root: (concord pair add NAME (\S+) OTHER-ROOT), then concord sync NAME/.exec(
        refused.stderr,
      );
    assert.ok(m, refused.stderr);
    assert.equal(m[2], one.A);
    const name = `fresh-${process.pid}-${Date.now()}`;
    const add = await cli(['pair', 'add', name, one.A, one.B]);
    assert.equal(add.code, 0, add.stderr);
    const merged = await cli(['sync', name, '--json']);
    assert.equal(merged.code, 0, merged.stderr);
    assert.equal(counts(merged).deleted, 0, 'a first sync: a merge');
    assert.deepEqual(contents(one.A), contents(one.B));
    assert.equal(Object.keys(contents(one.B)).length, 4, "B's files all kept");

    // Named: the hint names it.
    const two = await synced(t, TREE);
    const pairName = `named-${process.pid}-${Date.now()}`;
    assert.equal((await cli(['pair', 'add', pairName, two.A, two.B])).code, 0);
    rmSync(two.B, { recursive: true });
    mkdirSync(two.B);
    const refused2 = await cli(['sync', pairName]);
    assert.equal(refused2.code, 2, refused2.stderr);
    assert.ok(refused2.stderr.includes(`concord pair remove ${pairName}`), refused2.stderr);
    assert.equal((await cli(['pair', 'remove', pairName])).code, 0);
    const again = await cli(['sync', two.A, two.B, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(counts(again).deleted, 0);
    assert.deepEqual(contents(two.B), contents(two.A));
    assert.equal(Object.keys(contents(two.A)).length, 4, "A's files all kept");
  });

  test('a root replaced by a file: exit 2, the other side untouched (S19)', async (t) => {
    const { A, B } = await synced(t, TREE);
    rmSync(B, { recursive: true });
    writeFileSync(B, 'not a directory');
    const beforeA = fingerprint(A);
    const r = await cli(['sync', A, B]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.includes(B), r.stderr);
    assert.deepEqual(fingerprint(A), beforeA);
  });

  /** Twenty files, f00 .. f19. */
  const TWENTY: Spec = {};
  for (let i = 0; i < 20; i++)
    TWENTY[`f${String(i).padStart(2, '0')}`] = { content: `file ${i}`, mtime: T1 };
  const names = (n: number) => Object.keys(TWENTY).slice(0, n);

  test("deleting 11 of 20 files on A: exit 2 naming --force, nothing changed; with --force it goes through, to B's trash (S20)", async (t) => {
    const { A, B } = await synced(t, TWENTY);
    for (const n of names(11)) unlinkSync(join(A, n));
    const beforeA = fingerprint(A);
    const beforeB = fingerprint(B);
    const refused = await cli(['sync', A, B]);
    assert.equal(refused.code, 2, refused.stderr);
    const line = refused.stderr.trim();
    assert.equal(line.split('\n').length, 1, line);
    assert.match(line, /^concord: /);
    assert.match(line, /11 of the 20 files on B/);
    assert.match(line, /--force/);
    assert.ok(line.includes(B), line);
    assert.deepEqual(fingerprint(A), beforeA);
    assert.deepEqual(fingerprint(B), beforeB);

    const forced = await cli(['sync', A, B, '--force', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(counts(forced).deleted, 11);
    assert.deepEqual(contents(B), contents(A));
    assert.equal(Object.keys(contents(B)).length, 9);
    assert.deepEqual(Object.keys(trashed(B)).sort(), names(11));
    await assertInSync(A, B);
  });

  test('the default guard stops at more than half: 10 of 20 go through, and so does most of a side with 10 files or fewer (S20)', async (t) => {
    const { A, B } = await synced(t, TWENTY);
    for (const n of names(10)) unlinkSync(join(A, n));
    const half = await cli(['sync', A, B, '--json']);
    assert.equal(half.code, 0, half.stderr);
    assert.equal(counts(half).deleted, 10);
    // Now 10 files: the percentage guard is off for so few (deleting 9 on B this time).
    for (const n of Object.keys(contents(B)).slice(0, 9)) unlinkSync(join(B, n));
    const small = await cli(['sync', A, B, '--json']);
    assert.equal(small.code, 0, small.stderr);
    assert.equal(counts(small).deleted, 9);
    assert.equal(Object.keys(contents(A)).length, 1);
    assert.deepEqual(contents(A), contents(B));
  });

  test('--max-delete N refuses a run deleting more than N, nothing changed, and allows N (S20)', async (t) => {
    const { A, B } = await synced(t, TWENTY);
    for (const n of names(3)) unlinkSync(join(A, n));
    const beforeA = fingerprint(A);
    const beforeB = fingerprint(B);
    const refused = await cli(['sync', A, B, '--max-delete', '2']);
    assert.equal(refused.code, 2, refused.stderr);
    const line = refused.stderr.trim();
    assert.equal(line.split('\n').length, 1, line);
    assert.match(line, /would delete 3 entries, more than --max-delete 2/);
    assert.deepEqual(fingerprint(A), beforeA);
    assert.deepEqual(fingerprint(B), beforeB);
    // --max-delete is a limit of its own: --force does not lift it.
    const forced = await cli(['sync', A, B, '--max-delete', '2', '--force']);
    assert.equal(forced.code, 2, forced.stderr);
    assert.deepEqual(fingerprint(B), beforeB);
    const ok = await cli(['sync', A, B, '--max-delete', '3', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(counts(ok).deleted, 3);
    assert.deepEqual(contents(B), contents(A));
  });
});

describe('an interrupted two-way run (S15)', () => {
  /**
   * A synced base of 200 files, then changes on both sides: 1,500 new files on each, 40 base
   * files modified on A, 30 deleted on A and 30 others deleted on B. `expected` is what both
   * roots must hold once the sync has finished, whatever happened in between.
   */
  async function busyPair(t: Ctx) {
    const base: Spec = {};
    for (let i = 0; i < 200; i++)
      base[`base/d${i % 10}/f${i}`] = { content: `base ${i}`, mtime: T1 };
    const r = await synced(t, base);
    const expected: Record<string, string> = {};
    for (let i = 0; i < 200; i++) expected[`base/d${i % 10}/f${i}`] = `base ${i}`;
    for (let i = 0; i < 1500; i++) {
      put(r.A, `fromA/d${i % 30}/a${i}`, `new on A ${i} `.repeat(20), T2 + i);
      expected[`fromA/d${i % 30}/a${i}`] = `new on A ${i} `.repeat(20);
      put(r.B, `fromB/d${i % 30}/b${i}`, `new on B ${i} `.repeat(20), T2 + i);
      expected[`fromB/d${i % 30}/b${i}`] = `new on B ${i} `.repeat(20);
    }
    for (let i = 0; i < 40; i++) {
      put(r.A, `base/d${i % 10}/f${i}`, `modified on A ${i}`, T3);
      expected[`base/d${i % 10}/f${i}`] = `modified on A ${i}`;
    }
    for (let i = 100; i < 130; i++) {
      unlinkSync(join(r.A, `base/d${i % 10}/f${i}`));
      delete expected[`base/d${i % 10}/f${i}`];
    }
    for (let i = 150; i < 180; i++) {
      unlinkSync(join(r.B, `base/d${i % 10}/f${i}`));
      delete expected[`base/d${i % 10}/f${i}`];
    }
    return { ...r, expected };
  }

  /** The files of a root (directories aside): path -> content. */
  function files(root: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [p, s] of Object.entries(contents(root)))
      if (s.kind === 'file') out[p] = s.content as string;
    return out;
  }

  /**
   * Starts `concord sync A B --json` and sends `signal` on its first `op` event (a file has
   * been written): synchronised on the run's own output, not on a sleep.
   */
  function interrupt(A: string, B: string, signal: NodeJS.Signals) {
    return new Promise<{ code: number | null; signal: string | null; stdout: string }>(
      (done, fail) => {
        const child = spawn(process.execPath, [CLI, 'sync', A, B, '--json', '--concurrency', '1'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let sent = false;
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (!sent && stdout.includes('"type":"op"')) {
            sent = true;
            child.kill(signal);
          }
        });
        child.on('error', fail);
        child.on('close', (code, sig) => done({ code, signal: sig, stdout }));
      },
    );
  }

  async function assertConverges(
    dir: string,
    A: string,
    B: string,
    expected: Record<string, string>,
  ) {
    const again = await cli(['sync', A, B, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(summaryOf(again).problems, []);
    assert.equal(summaryOf(again).conflicts, 0, 'no false conflict is left over');
    assert.deepEqual(files(A), expected, 'nothing lost, nothing resurrected');
    assert.deepEqual(tempFiles(dir), [], 'no leftover temporary files');
    assertSameTrees(A, B);
    // A third run has nothing to do: the plan is empty, the sync changes nothing (S12).
    const plan = await cli(['plan', A, B, '--json']);
    assert.equal(plan.code, 0, plan.stderr);
    const doc = JSON.parse(plan.stdout) as { operations: unknown[]; conflicts: unknown[] };
    assert.deepEqual(doc.operations, []);
    assert.deepEqual(doc.conflicts, []);
    await assertInSync(A, B);
  }

  test('a leftover temporary file of a crashed run is removed by the next run, on either side, and never synced (S14)', async (t) => {
    const { dir, A, B } = await synced(t, { 'sub/x.txt': { content: 'x', mtime: T1 } });
    put(A, 'sub/.concord-tmp-1a2b3c4d-x.txt', 'half a file', T2);
    put(B, '.concord-tmp-5e6f7a8b-y.txt', 'half another', T2);
    const r = await cli(['sync', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(counts(r).created, 0, 'a leftover is not an entry to sync');
    assert.deepEqual(tempFiles(dir), []);
  });

  test("S4 a user's own files named like our temporary ones (.concord-tmp-notes, the bare prefix) are synced both ways like any other, never removed as leftovers", async (t) => {
    const { A, B } = await synced(t, { 'sub/x.txt': { content: 'x', mtime: T1 } });
    const mine: [string, string, string][] = [
      [A, '.concord-tmp-notes', 'my notes'],
      [A, 'sub/.concord-tmp-', 'just the prefix'],
      [B, '.concord-tmp-mine-too', 'mine'],
      [B, 'sub/.concord-tmp-probe-x', 'also mine'],
    ];
    for (const [root, rel, content] of mine) put(root, rel, content, T2);
    const r = await cli(['sync', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(counts(r).created, 4);
    assert.equal(counts(r).deleted, 0);
    for (const root of [A, B])
      for (const [, rel, content] of mine)
        assert.equal(readFileSync(join(root, rel), 'utf8'), content, `${root}/${rel}`);
    await assertInSync(A, B);
  });

  test('SIGKILL after the first op, then a plain rerun: both roots identical, nothing lost, a third run plans nothing', async (t) => {
    const { dir, A, B, expected } = await busyPair(t);
    const r = await interrupt(A, B, 'SIGKILL');
    assert.equal(r.signal, 'SIGKILL');
    assert.notDeepEqual(files(B), expected, 'killed before the end');
    await assertConverges(dir, A, B, expected);
  });

  test('SIGINT mid-run: exit 130 with a summary line; the rerun converges', async (t) => {
    const { dir, A, B, expected } = await busyPair(t);
    const r = await interrupt(A, B, 'SIGINT');
    assert.equal(r.code, 130);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { type: string };
    assert.equal(last.type, 'summary');
    assert.notDeepEqual(files(B), expected, 'stopped before the end');
    assert.deepEqual(tempFiles(dir), [], 'an orderly stop leaves no temporary file');
    await assertConverges(dir, A, B, expected);
  });
});

describe('concord plan A B (two-way)', () => {
  test('a first plan: a merge, each decision with its reason; nothing written, no marker, B not made', async (t) => {
    const { dir, A, B } = roots(t, { 'only-a.txt': { content: 'a', mtime: T1 } });
    const before = fingerprint(dir);
    const r = await cli(['plan', A, B]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], `Plan: two-way ${A} <-> ${B} (first sync: a merge, nothing is deleted)`);
    assert.ok(lines.includes('  on B: copy only-a.txt from A (1 B): new on A'), r.stdout);
    assert.deepEqual(fingerprint(dir), before);
    assert.equal(existsSync(B), false);
    assert.equal(existsSync(join(A, '.concord')), false, 'no marker on a first plan');
    // A dry run is the same: its summary counts what would be made, nothing is.
    const dry = await cli(['sync', A, B, '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(counts(dry).created, 1);
    assert.deepEqual(fingerprint(dir), before);
    assert.equal(existsSync(B), false);

    // Both roots there, each with its own files: still nothing written.
    makeB(B);
    const before2 = fingerprint(dir);
    const r2 = await cli(['plan', A, B, '--json']);
    assert.equal(r2.code, 0, r2.stderr);
    const doc = JSON.parse(r2.stdout) as {
      type: string;
      mode: string;
      firstRun: boolean;
      operations: { side: string; op: string; path: string; why: string }[];
    };
    assert.equal(doc.type, 'plan');
    assert.equal(doc.mode, 'two-way');
    assert.equal(doc.firstRun, true);
    const ops = doc.operations
      .filter((o) => o.op === 'copy')
      .map((o) => `${o.side} ${o.op} ${o.path}: ${o.why}`)
      .sort();
    assert.deepEqual(ops, ['A copy only-b.txt: new on B', 'B copy only-a.txt: new on A']);
    assert.deepEqual(fingerprint(dir), before2);
    assert.equal(existsSync(join(A, '.concord')), false);
    assert.equal(existsSync(join(B, '.concord')), false);
  });

  function makeB(B: string): void {
    mkdirSync(B);
    put(B, 'only-b.txt', 'b', T1);
  }

  test('after a sync: modified, deleted, new, and deleted-on-one-side-changed-on-the-other, each with its reason; changes nothing, and the sync then does just that', async (t) => {
    const { dir, A, B } = await synced(t, {
      'edited.txt': { content: 'v1', mtime: T1 },
      'gone.txt': { content: 'gone', mtime: T1 },
      'kept.txt': { content: 'old', mtime: T1 },
      'still.txt': { content: 'still', mtime: T1 },
    });
    put(A, 'edited.txt', 'v2 on A', T2);
    unlinkSync(join(A, 'gone.txt'));
    unlinkSync(join(B, 'kept.txt'));
    put(A, 'kept.txt', 'changed on A', T2);
    put(B, 'new-on-b.txt', 'hello', T2);
    const before = fingerprint(dir);
    const r = await cli(['plan', A, B]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n')[0], `Plan: two-way ${A} <-> ${B}`);
    for (const want of [
      '  on B: copy edited.txt from A (7 B): modified on A since the last sync',
      '  on B: delete gone.txt: deleted on A since the last sync',
      "  on B: copy kept.txt from A (12 B): deleted on B, changed on A: keeping A's version",
      '  on A: copy new-on-b.txt from B (5 B): new on B',
    ])
      assert.ok(r.stdout.split('\n').includes(want), `missing line '${want}' in:\n${r.stdout}`);
    assert.doesNotMatch(r.stdout, /still\.txt/);
    assert.deepEqual(fingerprint(dir), before, 'plan changed nothing');

    // The ancestor was not touched either: the sync does what the plan said.
    const s = await cli(['sync', A, B, '--json']);
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(counts(s), {
      ...ZERO,
      created: 2,
      updated: 1,
      deleted: 1,
      bytesCopied: 7 + 12 + 5,
    });
    assert.deepEqual(contents(A), {
      'edited.txt': { kind: 'file', content: 'v2 on A' },
      'kept.txt': { kind: 'file', content: 'changed on A' },
      'new-on-b.txt': { kind: 'file', content: 'hello' },
      'still.txt': { kind: 'file', content: 'still' },
    });
    assertSameTrees(A, B);
  });

  test('sync --dry-run reports the summary of what the sync would do (dryRun: true) and changes nothing', async (t) => {
    const { dir, A, B } = await synced(t, BASE);
    put(A, 'doc.txt', 'edited on A', T2);
    put(B, 'new.txt', 'new on B', T2);
    unlinkSync(join(B, 'other.txt'));
    const before = fingerprint(dir);
    const dry = await cli(['sync', A, B, '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(summaryOf(dry).dryRun, true);
    assert.deepEqual(fingerprint(dir), before);
    const text = await cli(['sync', A, B, '--dry-run']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /dry run: nothing changed/);
    assert.deepEqual(fingerprint(dir), before);
    const real = await cli(['sync', A, B, '--json']);
    assert.equal(real.code, 0, real.stderr);
    const { durationMs: _a, jobId: _b, dryRun: _c, ...would } = summaryOf(dry);
    const { durationMs: _d, jobId: _e, dryRun: _f, ...did } = summaryOf(real);
    assert.deepEqual(would, did, 'the dry run counted what the run then did');
  });

  test('a conflict in the plan says what the policy would do', async (t) => {
    const { dir, A, B } = await conflicted(t);
    const before = fingerprint(dir);
    const both = await cli(['plan', A, B]);
    assert.equal(both.code, 0, both.stderr);
    assert.ok(
      both.stdout.includes('  doc.txt: changed on both sides: both versions kept'),
      both.stdout,
    );
    const src = await cli(['plan', A, B, '--conflict', 'keep-source']);
    assert.ok(
      src.stdout.includes("  doc.txt: changed on both sides: A's version wins"),
      src.stdout,
    );
    assert.deepEqual(fingerprint(dir), before);
  });
});

describe('permissions', () => {
  test('a directory closed to its owner (no u+w) on both sides takes a new file and a deletion in one run by a non-root user, and stays closed', async (t) => {
    const { dir, A, B } = roots(t, {
      'closed/keep': { content: 'keep', mtime: T1 },
      'closed/gone': { content: 'to delete on B', mtime: T1 },
      closed: { dir: true, mode: 0o555, mtime: T1 },
    });
    const as = prepareForNobody(dir);
    const first = await cli(['sync', A, B, '--json'], as);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(readTree(B)['closed/']?.mode, 0o555);
    // The user opens the directory, edits inside, and closes it again, on each side.
    for (const [root, edit] of [
      [A, () => writeFileSync(join(A, 'closed', 'new'), 'new on A')],
      [B, () => rmSync(join(B, 'closed', 'gone'))],
    ] as const) {
      chmodSync(join(root, 'closed'), 0o755);
      edit();
      chmodSync(join(root, 'closed'), 0o555);
    }
    prepareForNobody(dir);
    const r = await cli(['sync', A, B, '--json'], as);
    assert.equal(r.code, 0, r.stderr);
    assertSameTrees(A, B);
    assert.deepEqual(
      Object.keys(readTree(A))
        .filter((p) => p.startsWith('closed/'))
        .sort(),
      ['closed/', 'closed/keep', 'closed/new'],
    );
    for (const root of [A, B]) assert.equal(readTree(root)['closed/']?.mode, 0o555, root);
    const c = counts(r);
    assert.deepEqual([c.created, c.deleted, c.metadataUpdated], [1, 1, 0]);
    const again = await cli(['sync', A, B, '--json'], as);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(counts(again), ZERO);
  });
});

describe('permissions: closed folders', () => {
  test("S14 a crashed run's temporary file left in a closed folder is removed by a non-root user's next run, and the folder is closed again on both sides", async (t) => {
    const { dir, A, B } = roots(t, {
      'ro/doc': { content: 'v1', mtime: T1 },
      ro: { dir: true, mode: 0o555, mtime: T1 },
    });
    const as = prepareForNobody(dir);
    const first = await cli(['sync', A, B], as);
    assert.equal(first.code, 0, first.stderr);
    for (const root of [A, B]) {
      chmodSync(join(root, 'ro'), 0o755);
      writeFileSync(join(root, 'ro', '.concord-tmp-0123abcd7-doc'), 'half a copy');
      chmodSync(join(root, 'ro'), 0o555);
    }
    prepareForNobody(dir);
    const r = await cli(['sync', A, B], as);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(tempFiles(dir), []);
    for (const root of [A, B]) assert.equal(readTree(root)['ro/']?.mode, 0o555, root);
    assertSameTrees(A, B);
  });

  test('a closed folder (no u+w) replaced by a file, a file renamed out of a closed folder and a conflict inside one all land in one run by a non-root user; problems name the side they happened on', async (t) => {
    const { dir, A, B } = roots(t, {
      'gone/f': { content: 'in a folder B turns into a file', mtime: T1 },
      'gone/sub/g': { content: 'deeper', mtime: T1 },
      'gone/sub': { dir: true, mode: 0o555, mtime: T1 },
      gone: { dir: true, mode: 0o555, mtime: T1 },
      'ro/x': { content: 'renamed out on B', mtime: T1 },
      'ro/doc': { content: 'v1', mtime: T1 },
      ro: { dir: true, mode: 0o555, mtime: T1 },
    });
    const as = prepareForNobody(dir);
    const first = await cli(['sync', A, B], as);
    assert.equal(first.code, 0, first.stderr);
    // As the user would: open, change, close again.
    const inside = (root: string, folder: string, edit: () => void) => {
      chmodSync(join(root, folder), 0o755);
      edit();
      chmodSync(join(root, folder), 0o555);
    };
    chmodSync(join(B, 'gone'), 0o755);
    chmodSync(join(B, 'gone', 'sub'), 0o755);
    rmSync(join(B, 'gone'), { recursive: true });
    writeFileSync(join(B, 'gone'), 'a file now');
    inside(B, 'ro', () => renameSync(join(B, 'ro', 'x'), join(B, 'x')));
    inside(A, 'ro', () => put(A, 'ro/doc', 'A edits', T2));
    inside(B, 'ro', () => put(B, 'ro/doc', 'B edits, later', T3));
    prepareForNobody(dir);
    const r = await cli(['sync', A, B, '--json'], as);
    assert.equal(r.code, 0, r.stderr);
    assertSameTrees(A, B);
    const tree = readTree(A);
    assert.equal(tree.gone?.kind, 'file');
    assert.equal(tree.gone?.content, 'a file now');
    assert.equal(tree.x?.content, 'renamed out on B');
    assert.equal(tree['ro/x'], undefined);
    assert.equal(tree['ro/doc']?.content, 'B edits, later');
    const copies = Object.keys(tree).filter((p) => p.startsWith('ro/doc.conflict-A-'));
    assert.equal(copies.length, 1, Object.keys(tree).join(' '));
    for (const root of [A, B]) assert.equal(readTree(root)['ro/']?.mode, 0o555, root);
    const c = counts(r);
    assert.equal(c.moved, 1);
    assert.equal(c.conflicts, 1);
    // A's folder went to A's trash whole (S7).
    assert.deepEqual(trashed(A), {
      'gone/f': 'in a folder B turns into a file',
      'gone/sub/g': 'deeper',
    });
    const again = await cli(['sync', A, B, '--json'], as);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(counts(again), ZERO);

    // A file B cannot read is B's problem, live on stderr and in the summary alike.
    put(B, 'unreadable.txt', 'secret', T2);
    chmodSync(join(B, 'unreadable.txt'), 0o000);
    prepareForNobody(dir);
    const failed = await cli(['sync', A, B], as);
    assert.equal(failed.code, 3, failed.stderr);
    const live = failed.stderr.split('\n').filter((l) => l.startsWith('concord: '));
    assert.deepEqual(
      live.map((l) => l.slice(0, 'concord: B unreadable.txt: '.length)),
      ['concord: B unreadable.txt: '],
      failed.stderr,
    );
    assert.match(failed.stdout, /^ {4}B unreadable\.txt: /m, failed.stdout);
  });
});

/**
 * A folder `name` closed to its owner (0555), synced by nobody; 3,000 files put into it on A;
 * then a sync as nobody killed once its first file is in, which leaves B's folder open.
 */
async function crashedWithFolderOpen(t: Ctx, name: string) {
  const { dir, A, B } = roots(t, {
    [`${name}/keep`]: { content: 'keep', mtime: T1 },
    [name]: { dir: true, mode: 0o555, mtime: T1 },
  });
  const as = prepareForNobody(dir);
  const first = await cli(['sync', A, B], as);
  assert.equal(first.code, 0, first.stderr);
  chmodSync(join(A, name), 0o755);
  for (let i = 0; i < 3000; i++) writeFileSync(join(A, name, `f${i}`), `file ${i}`);
  chmodSync(join(A, name), 0o555);
  prepareForNobody(dir);
  // Killed once the first file is in: B's folder is open, and stays open.
  const crashed = await cli(['sync', A, B, '--json', '--concurrency', '1'], {
    ...as,
    killWhen: (out) => out.includes('"type":"op"'),
  });
  assert.notEqual(crashed.code, 0);
  assert.equal(readTree(B)[`${name}/`]?.mode, 0o755, 'the crash left the folder open');
  return { A, B, as };
}

describe('permissions: a crash with a folder opened', () => {
  test('S15: a run killed while a closed folder is open leaves it open; the next run gives it its mode back instead of carrying the opened mode to the other side', async (t) => {
    const { A, B, as } = await crashedWithFolderOpen(t, 'closed');
    const r = await cli(['sync', A, B, '--json'], as);
    assert.equal(r.code, 0, r.stderr);
    assertSameTrees(A, B);
    for (const root of [A, B]) assert.equal(readTree(root)['closed/']?.mode, 0o555, root);
    assert.equal(counts(r).metadataUpdated, 0);
  });

  test('S15: a folder the crash left open but the user gave another mode since keeps that mode, and it travels', async (t) => {
    const { A, B, as } = await crashedWithFolderOpen(t, 'mine');
    chmodSync(join(B, 'mine'), 0o700);
    const r = await cli(['sync', A, B, '--json'], as);
    assert.equal(r.code, 0, r.stderr);
    assertSameTrees(A, B);
    for (const root of [A, B]) assert.equal(readTree(root)['mine/']?.mode, 0o700, root);
  });
});

describe('quiet folders', () => {
  test('S1: a same-size rewrite with its mtime put back, in a folder the last run settled by its digests, is found by its ctime', async (t) => {
    const { A, B } = await synced(t, {
      's1-settled/f.txt': { content: 'version 1', mtime: T1 },
      's1-settled/g.txt': { content: 'g', mtime: T1 },
    });
    // Settled: the next run decides the folder by the digests of its two listings alone, taken
    // on the thread that lists it when the addon is built ('n' + hex), SHA-1 otherwise.
    const db = openStateDb(process.env.CONCORD_HOME as string);
    const digests = db
      .prepare('SELECT a_digest, b_digest FROM ancestor_dirs WHERE dir = ?')
      .raw(true)
      .all('s1-settled') as [string, string][];
    db.close();
    assert.equal(digests.length, 1, 'the folder was settled');
    if (nativeLister()) for (const d of digests[0] ?? []) assert.match(d, /^n[0-9a-f]{32}$/);
    await assertInSync(A, B);
    put(A, 's1-settled/f.txt', 'version 2', T1);
    const r = await cli(['sync', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(counts(r), { ...ZERO, updated: 1, bytesCopied: 9 });
    assert.equal(contents(B)['s1-settled/f.txt']?.content, 'version 2');
  });
});

describe('a full state directory', () => {
  test('the state database fills up mid-run: one line naming it, exit 1, no op it did reported as failed; once there is room the next run converges', async (t) => {
    const dir = tempDir(t);
    const home = join(dir, 'home');
    const A = join(dir, 'A');
    const B = join(dir, 'B');
    mkdirSync(home);
    const spec: Record<string, string> = {};
    for (let i = 0; i < 5000; i++) spec[`f${i}`] = `file ${i}`;
    makeTree(A, spec);
    // A file system of its own, nearly full: the database has room to open, not to commit the
    // first 4,096 ancestors, which happens mid-run (5,000 files).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=400k', 'tmpfs', home]);
    try {
      writeFileSync(join(home, 'filler'), Buffer.alloc(250_000));
      const env = { CONCORD_HOME: home };
      const r = await runCli(['sync', A, B], { env });
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /copy failed/);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /state\.db: cannot use the state database: database or disk is full/);
      execFileSync('mount', ['-o', 'remount,size=8m', home]);
      const again = await runCli(['sync', A, B], { env });
      assert.equal(again.code, 0, again.stderr);
      assertSameTrees(A, B);
    } finally {
      execFileSync('umount', [home]); // before the temporary folder is removed
    }
  });
});
