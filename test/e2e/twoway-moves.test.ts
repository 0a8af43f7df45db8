/**
 * Moves in two-way sync (issue 5), end to end through the built CLI on real directories: a
 * rename on one side is one rename on the other, with no byte copied (S24: the final state is
 * the one a deletion plus a creation gives), counted as a move and never as a deletion by the
 * mass-delete guard (S20); whatever changed on the other side is never lost (S7, S9).
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { syncTwoWayLocal } from '../../src/twoway-local.ts';
import {
  cli,
  contents,
  counts,
  events,
  type Roots,
  readTree,
  roots,
  type Spec,
  summaryOf,
  synced,
  trashed,
  ZERO,
} from './helpers.ts';

async function sync(r: Roots, ...more: string[]) {
  const res = await cli(['sync', r.A, r.B, '--json', ...more]);
  assert.equal(res.code, 0, `exit ${res.code}: ${res.stderr}`);
  return res;
}

async function planOps(r: Roots) {
  const res = await cli(['plan', r.A, r.B, '--json']);
  assert.equal(res.code, 0, res.stderr);
  const doc = JSON.parse(res.stdout) as {
    operations: { side: string; op: string; path: string; from?: string; reason: string }[];
  };
  return doc.operations;
}

/** Both roots hold the same names, kinds and contents; and a next run has nothing to do (S12). */
async function assertInSync(r: Roots): Promise<void> {
  assert.deepEqual(contents(r.B), contents(r.A), 'A and B differ');
  const again = await sync(r);
  assert.deepEqual(counts(again), ZERO, 'S12: the next run does something');
  assert.deepEqual(await planOps(r), [], 'S12: the next plan is not empty');
}

const ino = (p: string) => statSync(p).ino;

/** `n` files of distinct contents under `dir/`, as a fixture spec. */
function many(dir: string, n: number): Spec {
  const out: Spec = {};
  for (let i = 0; i < n; i++) out[`${dir}/${i % 5}/f${i}.txt`] = `file ${i} `.repeat(20);
  return out;
}

describe('two-way moves (S24)', () => {
  test('S24: a file renamed on A is one rename on B: plan shows `move`, nothing copied, B keeps its inode', async (t) => {
    const r = await synced(t, { 'old.txt': 'the content', 'other.txt': 'x' });
    const inode = ino(join(r.B, 'old.txt'));
    renameSync(join(r.A, 'old.txt'), join(r.A, 'new.txt'));

    const text = await cli(['plan', r.A, r.B]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /on B: move old\.txt -> new\.txt: moved on A since the last sync/);
    const ops = await planOps(r);
    assert.deepEqual(
      ops.map((o) => `${o.side} ${o.op} ${o.from} -> ${o.path} ${o.reason}`),
      ['B move old.txt -> new.txt moved'],
    );

    const res = await sync(r);
    assert.deepEqual(counts(res), { ...ZERO, moved: 1 });
    assert.equal(ino(join(r.B, 'new.txt')), inode, 'B renamed its own copy');
    assert.deepEqual(trashed(r.B), {}, 'nothing went to the trash');
    await assertInSync(r);
  });

  test('S24: a directory of 200 files renamed on B is ONE move on A, with 0 bytes copied', async (t) => {
    const r = await synced(t, { ...many('photos', 200), 'keep.txt': 'k' });
    const inode = ino(join(r.A, 'photos/3/f8.txt'));
    renameSync(join(r.B, 'photos'), join(r.B, 'pictures'));

    const ops = await planOps(r);
    const shown = ops.filter((o) => o.reason !== 'dir-times');
    assert.deepEqual(
      shown.map((o) => `${o.side} ${o.op} ${o.from} -> ${o.path}`),
      ['A move photos -> pictures'],
    );

    const res = await sync(r);
    assert.deepEqual(counts(res), { ...ZERO, moved: 1 });
    assert.equal(ino(join(r.A, 'pictures/3/f8.txt')), inode);
    assert.deepEqual(trashed(r.A), {});
    await assertInSync(r);
  });

  test('S24: a file moved across parents into a new parent: the parent is made first, then the rename', async (t) => {
    const r = await synced(t, { 'a/f.txt': 'payload', 'a/g.txt': 'g' });
    mkdirSync(join(r.A, 'new/deeper'), { recursive: true });
    renameSync(join(r.A, 'a/f.txt'), join(r.A, 'new/deeper/f.txt'));

    const ops = (await planOps(r)).filter((o) => o.reason !== 'dir-times');
    assert.deepEqual(
      ops.map((o) => `${o.side} ${o.op} ${o.from ?? ''} -> ${o.path}`),
      ['B mkdir  -> new', 'B mkdir  -> new/deeper', 'B move a/f.txt -> new/deeper/f.txt'],
    );
    const res = await sync(r);
    assert.deepEqual(counts(res), { ...ZERO, created: 2, moved: 1 });
    assert.equal(readFileSync(join(r.B, 'new/deeper/f.txt'), 'utf8'), 'payload');
    await assertInSync(r);
  });

  test('S24: a directory renamed on A and edited inside on A: one move, then only the edits travel', async (t) => {
    const r = await synced(t, { ...many('d', 20), 'd/sub/x.txt': 'x' });
    renameSync(join(r.A, 'd'), join(r.A, 'e'));
    writeFileSync(join(r.A, 'e/sub/x.txt'), 'x edited after the rename');
    unlinkSync(join(r.A, 'e/0/f0.txt'));
    writeFileSync(join(r.A, 'e/new.txt'), 'new');
    renameSync(join(r.A, 'e/1'), join(r.A, 'e/one'));

    const res = await sync(r);
    // The inner rename is found by the second look at `e`: a move too.
    assert.deepEqual(counts(res), {
      ...ZERO,
      moved: 2,
      updated: 1,
      deleted: 1,
      created: 1,
      bytesCopied: 'x edited after the rename'.length + 'new'.length,
    });
    assert.deepEqual(trashed(r.B), { 'e/0/f0.txt': 'file 0 '.repeat(20), 'e/sub/x.txt': 'x' });
    await assertInSync(r);
  });

  test("S24: a folder renamed on A while B changed the mode of a folder inside it: no move (a rename would carry B's mode along); the outcome of a deletion plus a creation, A's modes at the new name", async (t) => {
    const r = await synced(t, { 'a/a/f.txt': 'f', 'a/a': { dir: true, mode: 0o755 } });
    renameSync(join(r.A, 'a'), join(r.A, 'b'));
    chmodSync(join(r.B, 'a', 'a'), 0o700);
    const ops = await planOps(r);
    // The folder is not renamed whole (its files still may be, one by one).
    assert.ok(
      !ops.some((o) => o.op === 'move' && o.path === 'b'),
      ops.map((o) => `${o.op} ${o.path}`).join(),
    );
    const res = await sync(r);
    assert.equal(res.code, 0, res.stderr);
    for (const root of [r.A, r.B]) {
      assert.equal(lstatSync(join(root, 'b', 'a')).mode & 0o777, 0o755, root);
      assert.equal(readFileSync(join(root, 'b', 'a', 'f.txt'), 'utf8'), 'f');
    }
    await assertInSync(r);
  });

  test('S9 S24: a file renamed on A and edited on B: no move, both versions on both sides', async (t) => {
    const r = await synced(t, { 'f.txt': 'v1' });
    renameSync(join(r.A, 'f.txt'), join(r.A, 'g.txt'));
    writeFileSync(join(r.B, 'f.txt'), 'v2 edited on B');
    const res = await sync(r);
    assert.equal(counts(res).moved, 0);
    for (const root of [r.A, r.B]) {
      assert.equal(readFileSync(join(root, 'g.txt'), 'utf8'), 'v1');
      assert.equal(readFileSync(join(root, 'f.txt'), 'utf8'), 'v2 edited on B');
    }
    await assertInSync(r);
  });

  test('S10 S24: a directory renamed on A while B edited a file inside: no directory move, the edit kept, the unchanged file moved', async (t) => {
    const r = await synced(t, { 'd/a.txt': 'a', 'd/b.txt': 'b' });
    renameSync(join(r.A, 'd'), join(r.A, 'e'));
    writeFileSync(join(r.B, 'd/b.txt'), 'b edited on B');
    const res = await sync(r);
    // As a deletion of d plus a creation of e gives (S10 keeps d/b.txt, made again on A): only
    // a.txt moves; created are e/ and e/b.txt on B, d/ and d/b.txt on A.
    assert.deepEqual(counts(res), {
      ...ZERO,
      moved: 1,
      created: 4,
      bytesCopied: 'b'.length + 'b edited on B'.length,
    });
    const want = {
      'd/': { kind: 'dir' },
      'd/b.txt': { kind: 'file', content: 'b edited on B' },
      'e/': { kind: 'dir' },
      'e/a.txt': { kind: 'file', content: 'a' },
      'e/b.txt': { kind: 'file', content: 'b' },
    };
    assert.deepEqual(contents(r.A), want);
    assert.deepEqual(contents(r.B), want);
    await assertInSync(r);
  });

  test('S6 S7: a file moved on both sides to different names is a conflict: both names on both sides', async (t) => {
    const r = await synced(t, { 'f.txt': 'shared content' });
    renameSync(join(r.A, 'f.txt'), join(r.A, 'by-a.txt'));
    renameSync(join(r.B, 'f.txt'), join(r.B, 'by-b.txt'));

    const text = await cli(['plan', r.A, r.B]);
    assert.match(
      text.stdout,
      /f\.txt: moved on both sides \(to by-a\.txt on A, to by-b\.txt on B\): both names kept/,
    );
    const res = await sync(r);
    assert.equal(counts(res).conflicts, 1);
    const listed = events(res).filter((e) => e.type === 'conflict');
    assert.deepEqual(
      listed.map((e) => [e.path, e.movedTo]),
      [['f.txt', { a: 'by-a.txt', b: 'by-b.txt' }]],
    );
    for (const root of [r.A, r.B])
      assert.deepEqual(contents(root), {
        'by-a.txt': { kind: 'file', content: 'shared content' },
        'by-b.txt': { kind: 'file', content: 'shared content' },
      });
    await assertInSync(r);
  });

  test('S6 S7: a directory moved on both sides to different names: both names on both sides, a conflict', async (t) => {
    const r = await synced(t, { 'd/x.txt': 'x', 'd/y.txt': 'y' });
    renameSync(join(r.A, 'd'), join(r.A, 'da'));
    renameSync(join(r.B, 'd'), join(r.B, 'db'));
    const res = await sync(r);
    assert.equal(counts(res).conflicts, 1);
    for (const root of [r.A, r.B])
      assert.deepEqual(Object.keys(contents(root)).sort(), [
        'da/',
        'da/x.txt',
        'da/y.txt',
        'db/',
        'db/x.txt',
        'db/y.txt',
      ]);
    await assertInSync(r);
  });

  test('S24: a move whose target is taken on the other side falls back: nothing replaced, both kept', async (t) => {
    const r = await synced(t, { 'f.txt': 'from the ancestor' });
    renameSync(join(r.A, 'f.txt'), join(r.A, 'g.txt'));
    writeFileSync(join(r.B, 'g.txt'), 'B made its own g.txt');
    const res = await sync(r);
    assert.equal(counts(res).moved, 0);
    const all = (root: string) =>
      Object.values(readTree(root, { meta: false }))
        .map((s) => s.content)
        .sort();
    for (const root of [r.A, r.B])
      assert.deepEqual(all(root), ['B made its own g.txt', 'from the ancestor']);
    // The ancestor's f.txt went to B's trash, as a deletion; its bytes are at g.* as well.
    assert.deepEqual(trashed(r.B), { 'f.txt': 'from the ancestor' });
    await assertInSync(r);
  });

  test('S24: inode reuse: a deleted file and a new one of the same size on that inode is no move unless the content matches', async (t) => {
    const r = await synced(t, { 'old.txt': 'AAAA' });
    const before = ino(join(r.A, 'old.txt'));
    unlinkSync(join(r.A, 'old.txt'));
    writeFileSync(join(r.A, 'new.txt'), 'BBBB');
    const now = ino(join(r.A, 'new.txt'));
    // ext4 hands the freed inode out again; where it did not, the ancestor is told it did.
    if (now !== before) {
      const db = new Database(join(process.env.CONCORD_HOME as string, 'state.db'));
      const n = db
        .prepare("UPDATE ancestors SET a_ino = ?, b_ino = b_ino WHERE name = 'old.txt'")
        .run(now).changes;
      db.close();
      assert.ok(n >= 1);
    }
    const ops = await planOps(r);
    assert.deepEqual(ops.map((o) => `${o.side} ${o.op} ${o.path} ${o.reason}`).sort(), [
      'B copy new.txt new',
      'B delete old.txt deleted',
    ]);
    const res = await sync(r);
    assert.deepEqual(counts(res), { ...ZERO, created: 1, deleted: 1, bytesCopied: 4 });
    assert.deepEqual(trashed(r.B), { 'old.txt': 'AAAA' });
    assert.equal(readFileSync(join(r.B, 'new.txt'), 'utf8'), 'BBBB');
    await assertInSync(r);
  });

  test('S21 S24: a directory renamed on A whose copy on B holds an excluded entry is not moved whole: the excluded entry stays where it was, as delete + create leaves it', async (t) => {
    const r = await synced(t, { ...many('d', 20), 'keep.txt': 'k' });
    writeFileSync(join(r.B, 'd/notes.log'), 'only on B, excluded');
    renameSync(join(r.A, 'd'), join(r.A, 'e'));
    const res = await cli(['sync', r.A, r.B, '--json', '--exclude', '*.log']);
    // As after a deletion of d on A: B's d cannot go, it holds an excluded entry (exit 3, named).
    assert.equal(res.code, 3, res.stderr);
    const problems = summaryOf(res).problems as { path: string; side?: string; message: string }[];
    assert.deepEqual(
      problems.map((p) => `${p.side} ${p.path}`),
      ['B d'],
    );
    assert.match(problems[0]?.message ?? '', /not empty/);
    // Each file is still renamed (e is made on B by this run, so d's subfolders don't move
    // whole into it either): nothing is copied.
    assert.equal(counts(res).moved, 20);
    assert.equal(summaryOf(res).bytesCopied, 0);
    assert.equal(readFileSync(join(r.B, 'd/notes.log'), 'utf8'), 'only on B, excluded');
    const b = contents(r.B);
    assert.equal(b['e/notes.log'], undefined, 'the excluded entry was not carried along');
    delete b['d/'];
    delete b['d/notes.log'];
    assert.deepEqual(b, contents(r.A));
  });

  test('S20 S24: renaming a directory of 50 files in a 60-file tree is no mass deletion: no guard', async (t) => {
    const spec = many('big', 50);
    for (let i = 0; i < 10; i++) spec[`rest/r${i}.txt`] = `rest ${i}`;
    const r = await synced(t, spec);
    renameSync(join(r.A, 'big'), join(r.A, 'large'));
    const res = await sync(r);
    assert.deepEqual(counts(res), { ...ZERO, moved: 1 });
    await assertInSync(r);

    // The same tree with the directory deleted instead: the guard refuses (it is on).
    rmSync(join(r.A, 'large'), { recursive: true });
    const refused = await cli(['sync', r.A, r.B]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /more than half/);
  });
});

describe('two-way moves racing with edits (S15, S16, S24)', () => {
  test('S16 S15: B edits its copy between the scan and the rename: the rename is refused, the edit kept, the next run keeps both', async (t) => {
    const { A, B } = roots(t, { 'f.txt': 'v1' });
    await syncTwoWayLocal(A, B, { workers: false });
    renameSync(join(A, 'f.txt'), join(A, 'g.txt'));
    const r = await syncTwoWayLocal(A, B, {
      workers: false,
      onEvent: (e) => {
        if (e.type === 'phase' && e.phase === 'apply')
          writeFileSync(join(B, 'f.txt'), 'written on B during the sync');
      },
    });
    assert.deepEqual(
      r.summary.problems.map((p) => [p.path, p.code, p.side]),
      [['g.txt', 'changed-during-sync', 'B']],
    );
    assert.equal(readFileSync(join(B, 'f.txt'), 'utf8'), 'written on B during the sync');
    // S15: the ancestor still knows f.txt, so B's edit beats A's deletion of it (S9).
    const next = await syncTwoWayLocal(A, B, { workers: false });
    assert.deepEqual(next.summary.problems, []);
    for (const root of [A, B])
      assert.deepEqual(contents(root), {
        'f.txt': { kind: 'file', content: 'written on B during the sync' },
        'g.txt': { kind: 'file', content: 'v1' },
      });
  });

  test('S24 S15: B edits a file inside the directory A renamed, during the run: the directory moves, and the edit reaches A at the new name', async (t) => {
    const { A, B } = roots(t, { 'd/x.txt': 'x', 'd/y.txt': 'y' });
    await syncTwoWayLocal(A, B, { workers: false });
    renameSync(join(A, 'd'), join(A, 'e'));
    const r = await syncTwoWayLocal(A, B, {
      workers: false,
      onEvent: (e) => {
        if (e.type === 'phase' && e.phase === 'apply')
          writeFileSync(join(B, 'd/x.txt'), 'x written on B during the sync');
      },
    });
    assert.deepEqual(r.summary.problems, []);
    assert.equal(r.summary.moved, 1);
    for (const root of [A, B])
      assert.deepEqual(contents(root), {
        'e/': { kind: 'dir' },
        'e/x.txt': { kind: 'file', content: 'x written on B during the sync' },
        'e/y.txt': { kind: 'file', content: 'y' },
      });
    const again = await syncTwoWayLocal(A, B, { workers: false });
    assert.equal(again.plan.ops.length, 0, 'S12');
  });
});
