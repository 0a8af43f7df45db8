/**
 * One-way moves through the real CLI on real directories: a rename on A becomes a rename on B
 * (no byte copied, the same inode), counted as a move and never as a deletion (S24, S20); a
 * move that cannot be done falls back to the copy and deletion it stood for (S24, S16).
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { openLocalRun } from '../../src/api.ts';
import { execute } from '../../src/apply/execute.ts';
import { planOneWay, runOneWay } from '../../src/engine/oneway.ts';
import {
  assertRefused,
  cli,
  contents,
  counts,
  HAS_FIX,
  problemsOf,
  readTree,
  roots,
  type Spec,
  T1,
  T2,
  T3,
  trashed,
  ZERO,
} from './helpers.ts';

/** Content that is not tiny, so that a copy would show in bytesCopied. */
const body = (id: string, kib = 4) => `${id}:`.padEnd(kib * 1024, id);

const PHOTOS: Spec = {
  'photos/2020/a.jpg': { content: body('a'), mtime: T1 },
  'photos/2020/b.jpg': { content: body('b', 8), mtime: T2, mode: 0o600 },
  'photos/2021/c.jpg': { content: body('c'), mtime: T3 },
  'photos/2021/link': { link: '../2020/a.jpg', mtime: T1 },
  'photos/empty': { dir: true, mtime: T2 },
  'photos/2020': { dir: true, mode: 0o750, mtime: T1 },
  'docs/notes.txt': { content: body('n', 1), mtime: T1 },
};

const ino = (p: string) => lstatSync(p).ino;

/** `dir/A` from `spec` and B its mirror, made by a first run. */
async function mirrored(t: Parameters<typeof roots>[0], spec: Spec = PHOTOS) {
  const r = roots(t, spec);
  const first = await cli(['mirror', r.A, r.B, '--json']);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(readTree(r.B), readTree(r.A));
  return r;
}

/** The operations of `concord plan --json`, as `op path [<- from]`. */
async function planOps(A: string, B: string, ...more: string[]): Promise<string[]> {
  const r = await cli(['plan', A, B, '--mode', 'mirror', '--json', ...more]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { operations: { op: string; path: string; from?: string }[] };
  return doc.operations
    .filter((o) => o.op !== 'set-meta')
    .map((o) => `${o.op} ${o.path}${o.from !== undefined ? ` <- ${o.from}` : ''}`);
}

describe('mirror: a rename on A is a rename on B (S24)', () => {
  test('S24: a renamed file is moved on B: no byte copied, same inode, nothing deleted', async (t) => {
    const { A, B } = await mirrored(t);
    const before = ino(join(B, 'docs/notes.txt'));
    renameSync(join(A, 'docs/notes.txt'), join(A, 'docs/renamed.txt'));
    assert.deepEqual(await planOps(A, B), ['move docs/renamed.txt <- docs/notes.txt']);
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    // The directory's mtime moved with the rename: set again.
    assert.deepEqual(counts(r), { ...ZERO, moved: 1, metadataUpdated: 1 });
    assert.equal(ino(join(B, 'docs/renamed.txt')), before);
    assert.deepEqual(readTree(B), readTree(A));
    assert.deepEqual(trashed(B), {}, 'nothing went to the trash');
  });

  test('S24: a renamed directory is ONE move: no child operation, zero bytes copied', async (t) => {
    const { A, B } = await mirrored(t);
    const before = ino(join(B, 'photos/2020/b.jpg'));
    renameSync(join(A, 'photos'), join(A, 'pictures'));
    assert.deepEqual(await planOps(A, B), ['move pictures <- photos']);
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const c = counts(r);
    assert.equal(c.moved, 1);
    assert.equal(c.bytesCopied, 0);
    assert.deepEqual({ ...c, metadataUpdated: 0 }, { ...ZERO, moved: 1 });
    assert.equal(ino(join(B, 'pictures/2020/b.jpg')), before);
    assert.deepEqual(readTree(B), readTree(A), 'modes, mtimes and the link as A has them');
    assert.deepEqual(trashed(B), {});
    // S12: and the next run has nothing to do.
    assert.deepEqual(await planOps(A, B), []);
  });

  test('S24: the plan names the move; the human summary counts it', async (t) => {
    const { A, B } = await mirrored(t);
    renameSync(join(A, 'photos'), join(A, 'pictures'));
    const plan = await cli(['plan', A, B, '--mode', 'mirror']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /Move \(no bytes copied\) \(1\):\n {2}> move photos\/ -> pictures\//);
    assert.doesNotMatch(plan.stdout, /Delete|Create/);
    const r = await cli(['mirror', A, B]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /0 created, 0 updated, 0 deleted, 1 moved/);
  });

  test('S24: across parents into a new parent: the parent is made first, then the file moves', async (t) => {
    const { A, B } = await mirrored(t);
    const before = ino(join(B, 'photos/2021/c.jpg'));
    mkdirSync(join(A, 'new/deep'), { recursive: true });
    renameSync(join(A, 'photos/2021/c.jpg'), join(A, 'new/deep/c.jpg'));
    assert.deepEqual(await planOps(A, B), [
      'mkdir new',
      'mkdir new/deep',
      'move new/deep/c.jpg <- photos/2021/c.jpg',
    ]);
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const c = counts(r);
    assert.deepEqual([c.moved, c.created, c.deleted, c.bytesCopied], [1, 2, 0, 0]);
    assert.equal(ino(join(B, 'new/deep/c.jpg')), before);
    assert.deepEqual(readTree(B), readTree(A));
  });

  test('S23 S24: a case-only rename (file and directory) is a rename, never a loss', async (t) => {
    const { A, B } = await mirrored(t);
    renameSync(join(A, 'photos/2020/a.jpg'), join(A, 'photos/2020/A.JPG'));
    renameSync(join(A, 'docs'), join(A, 'Docs'));
    assert.deepEqual((await planOps(A, B)).sort(), [
      'move Docs <- docs',
      'move photos/2020/A.JPG <- photos/2020/a.jpg',
    ]);
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([counts(r).moved, counts(r).bytesCopied, counts(r).deleted], [2, 0, 0]);
    assert.deepEqual(readTree(B), readTree(A));
  });

  test('S24: moved and edited: the untouched subfolder moves whole, other files move, the edited one is copied; its old version is kept in the trash', async (t) => {
    const { A, B } = await mirrored(t);
    renameSync(join(A, 'photos'), join(A, 'pictures'));
    writeFileSync(join(A, 'pictures/2020/a.jpg'), body('A', 5));
    const ops = await planOps(A, B);
    assert.deepEqual(ops.sort(), [
      'copy pictures/2020/a.jpg',
      'delete photos',
      'delete photos/2020',
      'delete photos/2020/a.jpg',
      'delete photos/empty',
      'mkdir pictures',
      'mkdir pictures/2020',
      'mkdir pictures/empty',
      'move pictures/2020/b.jpg <- photos/2020/b.jpg',
      'move pictures/2021 <- photos/2021',
    ]);
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const c = counts(r);
    assert.deepEqual([c.moved, c.created, c.deleted], [2, 4, 4]);
    assert.equal(c.bytesCopied, 5 * 1024, 'only the edited file is copied');
    assert.deepEqual(readTree(B), readTree(A));
    assert.deepEqual(trashed(B), { 'photos/2020/a.jpg': body('a') }, 'nothing lost');
  });

  test('S24: with --checksum a renamed directory is confirmed by hash, then moved', async (t) => {
    const { A, B } = await mirrored(t);
    renameSync(join(A, 'photos'), join(A, 'pictures'));
    const r = await cli(['mirror', A, B, '--json', '--checksum']);
    assert.equal(r.code, 0, r.stderr);
    const c = counts(r);
    assert.deepEqual([c.moved, c.bytesCopied, c.deleted, c.created], [1, 0, 0, 0]);
    assert.deepEqual(readTree(B), readTree(A));
  });

  test('S21 S24: an excluded file inside never moves with its directory: the files move one by one, it stays', async (t) => {
    const { A, B } = await mirrored(t);
    writeFileSync(join(B, 'photos/2021/keep.log'), 'B only, excluded');
    renameSync(join(A, 'photos'), join(A, 'pictures'));
    const r = await cli(['mirror', A, B, '--json', '--exclude', '*.log']);
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(problemsOf(r), [
      { path: 'photos/2021', code: 'not-empty', side: 'B' },
      { path: 'photos', code: 'not-empty', side: 'B' },
    ]);
    const c = counts(r);
    // 2021 holds the log: its file moves alone (the link is made again); 2020 moves whole.
    assert.deepEqual([c.moved, c.bytesCopied, c.deleted], [2, 0, 2]);
    assert.equal(contents(B)['photos/2021/keep.log']?.content, 'B only, excluded');
    const { 'photos/2021/keep.log': _, 'photos/2021/': __, 'photos/': ___, ...rest } = readTree(B);
    assert.deepEqual(rest, readTree(A));
  });

  test('S25: replica never moves (a move deletes on B): the renamed file is copied, the old one kept', async (t) => {
    const { A, B } = await mirrored(t);
    renameSync(join(A, 'docs/notes.txt'), join(A, 'docs/renamed.txt'));
    const r = await cli(['copy', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([counts(r).moved, counts(r).created, counts(r).deleted], [0, 1, 0]);
    assert.equal(contents(B)['docs/notes.txt']?.content, body('n', 1));
    assert.equal(contents(B)['docs/renamed.txt']?.content, body('n', 1));
  });
});

describe('--max-delete counts moves as moves, not deletions (S20, S24)', () => {
  test('S24: a renamed directory passes --max-delete 0', async (t) => {
    const { A, B } = await mirrored(t);
    renameSync(join(A, 'photos'), join(A, 'pictures'));
    const r = await cli(['mirror', A, B, '--json', '--max-delete', '0']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([counts(r).moved, counts(r).deleted, counts(r).bytesCopied], [1, 0, 0]);
    assert.deepEqual(readTree(B), readTree(A));
  });

  test('S20: a rename and one real deletion: --max-delete 0 refuses, counting the one deletion only', async (t) => {
    const { A, B } = await mirrored(t);
    renameSync(join(A, 'photos'), join(A, 'pictures'));
    rmSync(join(A, 'docs/notes.txt'));
    const before = readTree(B);
    const r = await cli(['mirror', A, B, '--max-delete', '0']);
    assertRefused(r, '--max-delete 0', 'delete 1 entry', HAS_FIX);
    assert.deepEqual(readTree(B), before, 'nothing changed');
  });
});

/** Plans a mirror over B, lets `meddle` change the roots, executes the plan with its fallbacks. */
async function planMeddleExecute(A: string, B: string, meddle: () => void) {
  const run = await openLocalRun(A, B, { mode: 'mirror', workers: false });
  try {
    const planned = await planOneWay(run.src, run.dst, run.opts, run.deps);
    assert.deepEqual(planned.problems, []);
    assert.ok(planned.ops.some((o) => o.op === 'move'));
    meddle();
    return await execute(
      planned.ops,
      run.src,
      run.dst,
      { concurrency: 4, now: run.deps.now, fallback: (op) => planned.fallbacks.get(op) },
      run.deps.emit,
      run.deps.jobId,
    );
  } finally {
    await run.close();
  }
}

const problemLines = (r: { problems: { side?: string; path: string; code: string }[] }) =>
  r.problems.map((p) => `${p.side} ${p.path} ${p.code}`);

describe('a move that cannot be done falls back to copy + delete, never to a loss (S24, S16)', () => {
  test('S24 S16: target taken after planning: the file there is kept, the old one goes to the trash', async (t) => {
    const { A, B } = await mirrored(t);
    renameSync(join(A, 'docs/notes.txt'), join(A, 'docs/renamed.txt'));
    const result = await planMeddleExecute(A, B, () => {
      writeFileSync(join(B, 'docs/renamed.txt'), 'written on B meanwhile');
    });
    assert.deepEqual(problemLines(result), ['B docs/renamed.txt changed-during-sync']);
    assert.equal(contents(B)['docs/renamed.txt']?.content, 'written on B meanwhile');
    assert.equal(contents(B)['docs/notes.txt'], undefined);
    assert.deepEqual(trashed(B), { 'docs/notes.txt': body('n', 1) });
  });

  test('S24 S16: source changed on B after planning: A is copied, the changed file stays', async (t) => {
    const { A, B } = await mirrored(t);
    renameSync(join(A, 'docs/notes.txt'), join(A, 'docs/renamed.txt'));
    const result = await planMeddleExecute(A, B, () => {
      writeFileSync(join(B, 'docs/notes.txt'), 'edited on B meanwhile');
      utimesSync(join(B, 'docs/notes.txt'), T3, T3);
    });
    assert.deepEqual(problemLines(result), ['B docs/notes.txt changed-during-sync']);
    assert.equal(contents(B)['docs/renamed.txt']?.content, body('n', 1), 'copied from A');
    assert.equal(contents(B)['docs/notes.txt']?.content, 'edited on B meanwhile', 'kept');
    assert.equal(result.counts.moved, 0);
    assert.equal(result.counts.created, 1);
    assert.equal(result.bytesCopied, 1024);
  });

  test('S24 S16: a directory whose target appeared: nothing is written into it, the old one goes to the trash whole', async (t) => {
    const { A, B } = await mirrored(t);
    renameSync(join(A, 'photos'), join(A, 'pictures'));
    const result = await planMeddleExecute(A, B, () => {
      mkdirSync(join(B, 'pictures'));
      writeFileSync(join(B, 'pictures/mine.txt'), 'made on B meanwhile');
    });
    assert.deepEqual(problemLines(result), ['B pictures changed-during-sync']);
    const c = contents(B);
    assert.equal(c['pictures/mine.txt']?.content, 'made on B meanwhile');
    assert.equal(c['pictures/2020/a.jpg'], undefined);
    assert.equal(c['photos/'], undefined);
    assert.deepEqual(trashed(B), {
      'photos/2020/a.jpg': body('a'),
      'photos/2020/b.jpg': body('b', 8),
      'photos/2021/c.jpg': body('c'),
    });
  });

  test('S24: a directory moved away meanwhile: its files are copied from A, nothing is lost', async (t) => {
    const { A, B } = await mirrored(t);
    renameSync(join(A, 'photos'), join(A, 'pictures'));
    const result = await planMeddleExecute(A, B, () => {
      renameSync(join(B, 'photos'), join(B, 'elsewhere'));
    });
    assert.deepEqual(
      problemLines(result).filter((l) => !l.includes('photos/')),
      ['B photos changed-during-sync'],
    );
    const c = contents(B);
    for (const [p, seen] of Object.entries(contents(A)))
      assert.deepEqual(c[p], seen, `${p} as on A`);
    assert.equal(c['elsewhere/2020/a.jpg']?.content, body('a'), 'what was moved away stays');
  });
});

describe('creations held back for move detection stay bounded', () => {
  test('S24: past the limit every held creation is applied at once, in order, and the run is still exact', async (t) => {
    const spec: Spec = { 'keep.txt': { content: body('k', 1), mtime: T1 } };
    for (let i = 0; i < 6; i++) spec[`d${i}/f${i}.txt`] = { content: body(`${i}`, 1), mtime: T2 };
    const { A, B } = roots(t, spec, { 'keep.txt': { content: body('k', 1), mtime: T1 } });
    utimesSync(B, T3, T3);
    const run = await openLocalRun(A, B, { mode: 'mirror', workers: false });
    try {
      const { summary } = await runOneWay(run.src, run.dst, { ...run.opts, holdMax: 3 }, run.deps);
      assert.deepEqual(summary.problems, []);
      assert.equal(summary.created, 12);
    } finally {
      await run.close();
    }
    assert.deepEqual(readTree(B), readTree(A));
  });
});
