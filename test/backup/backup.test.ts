/**
 * Backup mode through the library, with injected backup times: where displaced versions go,
 * what the catalog records, restores of files, directories and metadata, in place and into a
 * directory, and retention after each backup and by prune.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import { Catalog } from '../../src/backup/catalog.ts';
import { prune } from '../../src/backup/prune.ts';
import { RecordingEndpoint } from '../../src/backup/recording-endpoint.ts';
import { restore, restorePoint } from '../../src/backup/restore.ts';
import { type BackupOptions, backupLocal } from '../../src/backup/run.ts';
import { settle } from '../../src/backup/settle.ts';
import { listVersions } from '../../src/backup/versions.ts';
import type { Entry } from '../../src/core/entry.ts';
import { ANY_DIR, same } from '../../src/core/plan.ts';
import type { RetentionPolicy } from '../../src/core/retention.ts';
import { LocalEndpoint } from '../../src/endpoint/local/local.ts';
import { contents, put, readTree, rootMeta, roots, T1, T2, T3 } from '../e2e/helpers.ts';

const DAY = 86_400_000;
/** Backup times: t(1), t(2), ... one day apart. */
const t = (i: number) => Date.UTC(2026, 10, 1, 8, 0, 0) + (i - 1) * DAY;

function backup(A: string, B: string, i: number, o: Partial<BackupOptions> = {}) {
  return backupLocal(A, B, { now: () => t(i), workers: false, ...o });
}

function withCatalog<T>(B: string, fn: (c: Catalog) => T): T {
  const c = Catalog.open(B, B, { create: false });
  try {
    return fn(c);
  } finally {
    c.close();
  }
}

async function restoreTo(B: string, path: string, atMs: number | undefined, to: string) {
  const c = Catalog.open(B, B, { create: false });
  try {
    return await restore(c, B, B, path, restorePoint(c, B, atMs), { to });
  } finally {
    c.close();
  }
}

function versionsOf(B: string, path = '') {
  return withCatalog(B, (c) => listVersions(c, path));
}

/** Every file under B/.concord/history/ but the catalog: path below its run folder -> content. */
function historyFiles(B: string): Record<string, string> {
  const h = join(B, '.concord', 'history');
  const out: Record<string, string> = {};
  for (const run of readdirSync(h)) {
    if (run.startsWith('catalog.db')) continue;
    for (const [rel, seen] of Object.entries(contents(join(h, run))))
      if (seen.kind === 'file') out[`${run}/${rel}`] = seen.content as string;
  }
  return out;
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('backup runs', () => {
  test('S25: an overwritten and a deleted file land in history by a rename (same inode, no copy); B mirrors A', async (t0: TestContext) => {
    const { A, B } = roots(t0, {
      'a.txt': { content: 'one', mtime: T1 },
      'd/b.txt': { content: 'bee', mtime: T1 },
    });
    await backup(A, B, 1);
    const inoA = lstatSync(join(B, 'a.txt')).ino;
    const inoB = lstatSync(join(B, 'd/b.txt')).ino;
    put(A, 'a.txt', 'two', T2);
    rmSync(join(A, 'd/b.txt'));
    const r = await backup(A, B, 2);
    assert.equal(r.summary.mode, 'backup');
    assert.deepEqual(contents(B), contents(A));
    const h = join(B, '.concord', 'history', '20261102-080000');
    assert.equal(lstatSync(join(h, 'a.txt')).ino, inoA, 'the overwritten version, by inode');
    assert.equal(lstatSync(join(h, 'd/b.txt')).ino, inoB, 'the deleted file, by inode');
    assert.deepEqual(historyFiles(B), {
      '20261102-080000/a.txt': 'one',
      '20261102-080000/d/b.txt': 'bee',
    });
    assert.deepEqual(versionsOf(B), [
      { path: 'a.txt', versionTime: iso(t(1)), size: 3, state: 'kept' },
      { path: 'a.txt', versionTime: iso(t(2)), size: 3, state: 'current' },
      { path: 'd/b.txt', versionTime: iso(t(1)), size: 3, state: 'deleted' },
    ]);
  });

  test('S25: a metadata-only change keeps the old mtime and mode restorable without copying the bytes', async (t0) => {
    const { dir, A, B } = roots(t0, { 'f.txt': { content: 'same', mtime: T1, mode: 0o644 } });
    await backup(A, B, 1);
    chmodSync(join(A, 'f.txt'), 0o600);
    utimesSync(join(A, 'f.txt'), T2, T2);
    const r = await backup(A, B, 2);
    assert.equal(r.summary.metadataUpdated, 1);
    assert.equal(r.summary.bytesCopied, 0);
    assert.deepEqual(historyFiles(B), {}, 'no copy in history');
    await restoreTo(B, 'f.txt', t(1), join(dir, 'R1'));
    await restoreTo(B, 'f.txt', t(2), join(dir, 'R2'));
    const f1 = readTree(join(dir, 'R1'))['f.txt'];
    const f2 = readTree(join(dir, 'R2'))['f.txt'];
    assert.deepEqual(f1, {
      kind: 'file',
      content: 'same',
      mode: 0o644,
      mtimeUs: BigInt(T1) * 1_000_000n,
    });
    assert.deepEqual(f2, {
      kind: 'file',
      content: 'same',
      mode: 0o600,
      mtimeUs: BigInt(T2) * 1_000_000n,
    });
    // Later overwritten: both metadata versions follow the bytes into history.
    put(A, 'f.txt', 'new!', T3);
    await backup(A, B, 3);
    await restoreTo(B, 'f.txt', t(1), join(dir, 'R3'));
    assert.deepEqual(readTree(join(dir, 'R3'))['f.txt'], f1);
  });

  test('what B held before its first backup counts as captured by it: extras go to history as deleted versions', async (t0) => {
    const { A, B } = roots(
      t0,
      { 'keep.txt': { content: 'k', mtime: T1 } },
      { 'keep.txt': { content: 'k', mtime: T1 }, 'extra.txt': { content: 'x', mtime: T1 } },
    );
    await backup(A, B, 1);
    assert.deepEqual(contents(B), contents(A));
    assert.deepEqual(versionsOf(B), [
      { path: 'extra.txt', versionTime: iso(t(1)), size: 1, state: 'deleted' },
      { path: 'keep.txt', versionTime: iso(t(1)), size: 1, state: 'current' },
    ]);
    assert.deepEqual(Object.values(historyFiles(B)), ['x']);
  });

  test('S24, S25: moves on B (Endpoint.move, as move detection does them) share the old bytes; the catalog still matches B', async (t0) => {
    const { dir, A, B } = roots(t0, {
      'd/x.txt': { content: 'x', mtime: T1 },
      'd/y.txt': { content: 'y', mtime: T1 },
    });
    await backup(A, B, 1);
    const c = Catalog.open(B, B, { create: false });
    try {
      const run = c.startRun('backup', t(2), 'moves');
      const inner = new LocalEndpoint({ root: B, trashDir: join(c.historyDir, 'moves') });
      const ep = new RecordingEndpoint(inner, c, run, 'moves');
      const top = (await ep.stat('')) as Entry;
      const d = (await ep.stat('d')) as Entry;
      await ep.move('d', 'e', ANY_DIR);
      await ep.move('e/x.txt', 'z.txt', same((await ep.stat('e/x.txt')) as Entry));
      // As a run does after its writes: the directories' times put back (recorded too).
      await ep.setMeta('e', 'dir', d, ANY_DIR);
      await ep.setMeta('', 'dir', top, ANY_DIR);
      c.finishRun(run, 'complete');
      assert.equal(settle(c, B, run, 'moves'), 0, 'the catalog matches B');
    } finally {
      c.close();
    }
    assert.deepEqual(historyFiles(B), {}, 'nothing copied');
    await restoreTo(B, '', t(1), join(dir, 'R1'));
    assert.deepEqual(Object.keys(contents(join(dir, 'R1'))).sort(), ['d/', 'd/x.txt', 'd/y.txt']);
    await restoreTo(B, '', t(2), join(dir, 'R2'));
    assert.deepEqual(contents(join(dir, 'R2')), {
      'e/': { kind: 'dir' },
      'e/y.txt': { kind: 'file', content: 'y' },
      'z.txt': { kind: 'file', content: 'x' },
    });
    // Overwritten later, the moved bytes go to history once, for both paths' versions.
    put(A, 'z.txt', 'x2', T2);
    rmSync(join(A, 'd'), { recursive: true });
    put(A, 'e/y.txt', 'y', T1);
    utimesSync(join(A, 'e'), T1, T1);
    await backup(A, B, 3);
    await restoreTo(B, '', t(1), join(dir, 'R3'));
    assert.deepEqual(contents(join(dir, 'R3'))['d/x.txt'], { kind: 'file', content: 'x' });
  });

  test('a dry run writes nothing into B: no catalog, no history', async (t0) => {
    const { A, B } = roots(t0, { 'a.txt': 'a' }, {});
    const r = await backup(A, B, 1, { dryRun: true });
    assert.equal(r.summary.created, 1);
    assert.equal(existsSync(join(B, '.concord')), false);
  });
});

describe('restore', () => {
  async function threeBackups(t0: TestContext) {
    const r = roots(t0, {
      'docs/a.txt': { content: 'a1', mtime: T1 },
      'docs/sub/b.txt': { content: 'b1', mtime: T1 },
      'top.txt': { content: 'top1', mtime: T1 },
    });
    await backup(r.A, r.B, 1);
    put(r.A, 'docs/a.txt', 'a2', T2);
    rmSync(join(r.A, 'docs/sub'), { recursive: true });
    await backup(r.A, r.B, 2);
    put(r.A, 'docs/a.txt', 'a3', T3);
    put(r.A, 'docs/sub', 'now a file', T3);
    await backup(r.A, r.B, 3);
    return r;
  }

  test('a file, a directory and the whole tree into DIR keep their paths below it; a time between backups takes the earlier one', async (t0) => {
    const { dir, B } = await threeBackups(t0);
    await restoreTo(B, 'docs/a.txt', t(1) + 5 * 3_600_000, join(dir, 'F'));
    assert.deepEqual(contents(join(dir, 'F')), {
      'docs/': { kind: 'dir' },
      'docs/a.txt': { kind: 'file', content: 'a1' },
    });
    await restoreTo(B, 'docs', t(2), join(dir, 'D'));
    assert.deepEqual(contents(join(dir, 'D')), {
      'docs/': { kind: 'dir' },
      'docs/a.txt': { kind: 'file', content: 'a2' },
    });
    await restoreTo(B, '', t(1), join(dir, 'W'));
    assert.deepEqual(Object.keys(contents(join(dir, 'W'))).sort(), [
      'docs/',
      'docs/a.txt',
      'docs/sub/',
      'docs/sub/b.txt',
      'top.txt',
    ]);
    await restoreTo(B, 'docs/sub', undefined, join(dir, 'K'));
    assert.deepEqual(contents(join(dir, 'K'))['docs/sub'], { kind: 'file', content: 'now a file' });
  });

  test('in place, the directories above PATH keep their times (B stays in sync for the next backup)', async (t0) => {
    const { A, B } = await threeBackups(t0);
    put(A, 'top.txt', 'top2', T2);
    await backup(A, B, 4);
    const above = [rootMeta(B), rootMeta(join(B, 'docs'))];
    const c = Catalog.open(B, B, { create: false });
    try {
      await restore(c, B, B, 'top.txt', restorePoint(c, B, t(1)), { now: () => t(4) + 1 });
      await restore(c, B, B, 'docs/sub', restorePoint(c, B, t(1)), { now: () => t(4) + 2 });
    } finally {
      c.close();
    }
    assert.equal(readFileSync(join(B, 'top.txt'), 'utf8'), 'top1');
    assert.deepEqual([rootMeta(B), rootMeta(join(B, 'docs'))], above);
  });

  test('a version whose history file was removed by hand is a problem for its path; the rest is restored', async (t0) => {
    const { dir, B } = await threeBackups(t0);
    rmSync(join(B, '.concord', 'history', '20261102-080000', 'docs', 'a.txt'));
    const r = await restoreTo(B, '', t(1), join(dir, 'W'));
    assert.deepEqual(
      r.problems.map((p) => [p.path, p.code]),
      [['docs/a.txt', 'write-failed']],
    );
    assert.match(r.problems[0]?.message ?? '', /missing from the history/);
    assert.equal(readFileSync(join(dir, 'W', 'docs/sub/b.txt'), 'utf8'), 'b1');
  });

  test('S7: in place, what the restore replaces is kept in history first; the next backup brings back the source', async (t0) => {
    const { A, B, dir } = await threeBackups(t0);
    const c = Catalog.open(B, B, { create: false });
    try {
      const r = await restore(c, B, B, 'docs', restorePoint(c, B, t(1)), {
        now: () => t(3) + 1000,
      });
      assert.deepEqual(r.problems, []);
    } finally {
      c.close();
    }
    assert.deepEqual(contents(join(B, 'docs')), {
      'a.txt': { kind: 'file', content: 'a1' },
      'sub/': { kind: 'dir' },
      'sub/b.txt': { kind: 'file', content: 'b1' },
    });
    assert.equal(readFileSync(join(B, 'top.txt'), 'utf8'), 'top1', 'outside PATH: untouched');
    const held = Object.values(historyFiles(B));
    assert.ok(
      held.includes('a3') && held.includes('now a file'),
      `replaced versions kept: ${held}`,
    );
    // Restore points are backups only: the latest is still backup 3.
    await restoreTo(B, '', undefined, join(dir, 'L'));
    assert.deepEqual(contents(join(dir, 'L')), contents(A));
    await backup(A, B, 4);
    assert.deepEqual(readTree(B), readTree(A));
    await restoreTo(B, '', t(2), join(dir, 'R2'));
    assert.deepEqual(contents(join(dir, 'R2'))['docs/a.txt'], { kind: 'file', content: 'a2' });
  });
});

describe('retention', () => {
  async function edits(t0: TestContext, n: number, retention?: RetentionPolicy) {
    const r = roots(t0, {
      'f.txt': { content: 'v1', mtime: T1 },
      'gone.txt': { content: 'g', mtime: T1 },
    });
    await backup(r.A, r.B, 1, { retention });
    for (let i = 2; i <= n; i++) {
      put(r.A, 'f.txt', `v${i}`, T1 + i);
      if (i === 2) rmSync(join(r.A, 'gone.txt'));
      await backup(r.A, r.B, i, { retention });
    }
    return r;
  }

  test('S26: --keep-last 1 after each backup: one older version of f.txt, the deleted file keeps its last one, history files go too', async (t0) => {
    const { B } = await edits(t0, 5, { keepLast: 1 });
    assert.deepEqual(versionsOf(B), [
      { path: 'f.txt', versionTime: iso(t(4)), size: 2, state: 'kept' },
      { path: 'f.txt', versionTime: iso(t(5)), size: 2, state: 'current' },
      { path: 'gone.txt', versionTime: iso(t(1)), size: 1, state: 'deleted' },
    ]);
    assert.deepEqual(Object.values(historyFiles(B)).sort(), ['g', 'v4']);
  });

  test('the policy is remembered in the catalog: prune without flags applies it; flags replace it', async (t0) => {
    const { A, B } = await edits(t0, 4);
    assert.equal(versionsOf(B)?.length, 5, 'no policy: everything kept');
    withCatalog(B, (c) => c.setPolicy({ keepLast: 2 }));
    const r1 = withCatalog(B, (c) => prune(c, B, c.policy() ?? {}, t(4)));
    assert.equal(r1.versions, 1);
    assert.equal(versionsOf(B)?.filter((v) => v.path === 'f.txt').length, 3);
    // A later backup with other flags replaces the remembered policy.
    put(A, 'f.txt', 'v9', T3);
    await backup(A, B, 5, { retention: { keepLast: 0 } });
    assert.deepEqual(
      withCatalog(B, (c) => c.policy()),
      { keepLast: 0 },
    );
    assert.deepEqual(
      versionsOf(B)?.map((v) => `${v.path} ${v.state}`),
      ['f.txt current', 'gone.txt deleted'],
    );
  });

  test('S26: staggered retention keeps one version per bucket, and restores still work at the kept times', async (t0) => {
    const r = roots(t0, { 'f.txt': { content: 'v0', mtime: T1 } });
    const base = Date.UTC(2026, 10, 1, 8, 0, 0);
    // Six backups 10 s apart: versions replaced in the same 30 s bucket.
    for (let i = 0; i < 6; i++) {
      put(r.A, 'f.txt', `v${i}`, T1 + i);
      await backupLocal(r.A, r.B, {
        now: () => base + i * 10_000,
        workers: false,
        retention: { keepStaggered: true },
      });
    }
    // Pruned after each backup as the buckets slide: v1, v2 and v4 each met an older version
    // in their bucket; v0 (40 s old: bucket 1) and v3 (10 s: bucket 0) stay.
    const kept = versionsOf(r.B)?.filter((v) => v.state === 'kept');
    assert.deepEqual(
      kept?.map((v) => v.versionTime),
      [iso(base), iso(base + 30_000)],
    );
    assert.deepEqual(Object.values(historyFiles(r.B)).sort(), ['v0', 'v3']);
    await restoreTo(r.B, '', undefined, join(r.dir, 'L'));
    assert.equal(readFileSync(join(r.dir, 'L', 'f.txt'), 'utf8'), 'v5');
  });
});
