import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  lstatSync,
  readFileSync,
  realpathSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { openStateDb } from '../../src/index/state-db.ts';
import { runDirName } from '../../src/trash/layout.ts';
import { CLI } from '../helpers/tree.ts';
import {
  cli,
  contents,
  counts,
  fingerprint,
  makeTree,
  onlyTrash,
  prepareForNobody,
  readTree,
  rootMeta,
  roots,
  type Spec,
  summaryOf,
  T1,
  T2,
  T3,
  tempFiles,
  trashStamps,
  ZERO,
} from './helpers.ts';

/** A source with every kind of entry and metadata worth keeping. */
const RICH: Spec = {
  'top.txt': { content: 'top\n', mtime: T1, mode: 0o644 },
  'script.sh': { content: '#!/bin/sh\necho hi\n', mtime: T2, mode: 0o755 },
  'secret.key': { content: 'k3y', mtime: T1, mode: 0o600 },
  'readonly.txt': { content: 'ro', mtime: T2, mode: 0o444 },
  'empty-file': { content: '', mtime: T1 },
  'sub/a.txt': { content: 'aaa', mtime: T1 },
  'sub/deep/b.txt': { content: 'bbbb', mtime: T2, mode: 0o640 },
  'sub/deep': { dir: true, mode: 0o750, mtime: T2 },
  sub: { dir: true, mode: 0o755, mtime: T1 },
  empty: { dir: true, mode: 0o700, mtime: T3 },
  'ro/f1': { content: 'one', mtime: T1 },
  'ro/f2': { content: 'two', mtime: T2 },
  ro: { dir: true, mode: 0o555, mtime: T3 },
  'links/rel': { link: '../sub/a.txt', mtime: T1 },
  'links/dangling': { link: 'no/such/file', mtime: T2 },
  'links/outside': { link: '../../outside', mtime: T3 },
  'links/absolute': { link: '/etc', mtime: T1 },
  'links/to-dir': { link: '../sub' },
  links: { dir: true, mtime: T2 },
};

/** The RICH tree's kinds, contents and link targets, spelled out. */
const RICH_CONTENTS = {
  'empty-file': { kind: 'file', content: '' },
  'empty/': { kind: 'dir' },
  'links/absolute': { kind: 'symlink', target: '/etc' },
  'links/dangling': { kind: 'symlink', target: 'no/such/file' },
  'links/outside': { kind: 'symlink', target: '../../outside' },
  'links/rel': { kind: 'symlink', target: '../sub/a.txt' },
  'links/to-dir': { kind: 'symlink', target: '../sub' },
  'links/': { kind: 'dir' },
  'readonly.txt': { kind: 'file', content: 'ro' },
  'ro/f1': { kind: 'file', content: 'one' },
  'ro/f2': { kind: 'file', content: 'two' },
  'ro/': { kind: 'dir' },
  'script.sh': { kind: 'file', content: '#!/bin/sh\necho hi\n' },
  'secret.key': { kind: 'file', content: 'k3y' },
  'sub/a.txt': { kind: 'file', content: 'aaa' },
  'sub/deep/b.txt': { kind: 'file', content: 'bbbb' },
  'sub/deep/': { kind: 'dir' },
  'sub/': { kind: 'dir' },
  'top.txt': { kind: 'file', content: 'top\n' },
};

function withOutside(dir: string): void {
  // What links/outside points at (from B too): it must never be copied or written through.
  makeTree(join(dir, 'outside'), { 'loot.txt': 'not yours' });
}

describe('concord mirror A B', () => {
  test('into a missing B (its parent exists): B is created with the exact tree, metadata and all', async (t) => {
    const { dir, A, B } = roots(t, RICH);
    withOutside(dir);
    const before = fingerprint(A);
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(contents(B), RICH_CONTENTS);
    assert.deepEqual(readTree(B), readTree(A), 'modes, mtimes and links as on A');
    assert.deepEqual(rootMeta(B), rootMeta(A), "B's root takes A's mode and mtime");
    assert.equal(existsSync(join(B, '.concord')), false, 'nothing to keep: no .concord/ in B');
    // 14 files and links, 5 directories.
    assert.deepEqual(counts(r), { ...ZERO, created: 19, bytesCopied: 40 });
    assert.deepEqual(fingerprint(A), before, 'S25: the source is never touched');
  });

  test('S5 symlinks are copied as links, never followed (outside the root, dangling, to a directory)', async (t) => {
    const { dir, A, B } = roots(t, {
      out: { link: '../outside', mtime: T1 },
      outfile: { link: '../outside/loot.txt', mtime: T1 },
      dangling: { link: 'missing', mtime: T2 },
      dirlink: { link: 'real', mtime: T2 },
      'real/x': 'x',
    });
    withOutside(dir);
    const r = await cli(['mirror', A, B]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(contents(B), {
      dangling: { kind: 'symlink', target: 'missing' },
      dirlink: { kind: 'symlink', target: 'real' },
      out: { kind: 'symlink', target: '../outside' },
      outfile: { kind: 'symlink', target: '../outside/loot.txt' },
      'real/x': { kind: 'file', content: 'x' },
      'real/': { kind: 'dir' },
    });
    assert.deepEqual(readTree(B), readTree(A), 'link mtimes kept');
    assert.deepEqual(contents(join(dir, 'outside')), {
      'loot.txt': { kind: 'file', content: 'not yours' },
    });
  });

  test('S5 a symlink on B is replaced, deleted or overwritten as a link: nothing is written through it', async (t) => {
    const { dir, A, B } = roots(
      t,
      { 'lnk-file': 'mine', 'lnk-dir/f': 'inside', 'keep.txt': 'k' },
      {
        'lnk-file': { link: '../victim/file.txt' },
        'lnk-dir': { link: '../victim' },
        'extra-link': { link: '../victim' },
        'keep.txt': 'k',
      },
    );
    makeTree(join(dir, 'victim'), { 'file.txt': { content: 'precious', mtime: T1 } });
    const victim = readTree(join(dir, 'victim'));
    const r = await cli(['mirror', A, B]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    assert.deepEqual(readTree(join(dir, 'victim')), victim, 'the link targets were not touched');
    assert.deepEqual(contents(onlyTrash(B)), {
      'extra-link': { kind: 'symlink', target: '../victim' },
      'lnk-dir': { kind: 'symlink', target: '../victim' },
      'lnk-file': { kind: 'symlink', target: '../victim/file.txt' },
    });
  });

  test('names with spaces, quotes, newlines, dashes and Unicode (NFC and NFD kept apart) go through', async (t) => {
    const names = ['a b.txt', 'quo\'te"s', 'new\nline', '-dash', '日本語', '\u00e9', 'e\u0301'];
    const spec: Spec = {};
    for (const n of names) {
      spec[n] = { content: `content of ${n}`, mtime: T1 };
      spec[`ünï/${n}`] = { content: `inner ${n}`, mtime: T2 };
    }
    const { A, B } = roots(t, spec, { 'ünï/zzz extra': 'x', '\u00e9': 'old' });
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    assert.equal(Object.keys(contents(B)).length, 2 * names.length + 1);
    const again = await cli(['mirror', A, B, '--json']);
    assert.deepEqual(counts(again), ZERO);
  });

  test('S7 into an existing B: extras go to B/.concord/trash/<stamp>/path with content, mode and mtime kept', async (t) => {
    const { A, B } = roots(
      t,
      {
        'keep.txt': { content: 'keep', mtime: T1 },
        'sub/k': { content: 'k', mtime: T1 },
        sub: { dir: true, mtime: T1 },
      },
      {
        'keep.txt': { content: 'keep', mtime: T1 },
        'sub/k': { content: 'k', mtime: T1 },
        sub: { dir: true, mtime: T1 },
        'extra.txt': { content: 'extra content', mtime: T2, mode: 0o600 },
        'sub/extra2': { content: 'second', mtime: T3, mode: 0o755 },
        'olddir/a': { content: 'a in olddir', mtime: T1 },
        'olddir/nested/b': { content: 'b nested', mtime: T2 },
        'olddir/empty': { dir: true },
        oldlink: { link: 'keep.txt' },
      },
    );
    const old = readTree(B);
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    const trash = onlyTrash(B);
    assert.deepEqual(contents(trash), {
      'extra.txt': { kind: 'file', content: 'extra content' },
      'olddir/a': { kind: 'file', content: 'a in olddir' },
      'olddir/empty/': { kind: 'dir' },
      'olddir/nested/b': { kind: 'file', content: 'b nested' },
      'olddir/nested/': { kind: 'dir' },
      'olddir/': { kind: 'dir' },
      oldlink: { kind: 'symlink', target: 'keep.txt' },
      'sub/extra2': { kind: 'file', content: 'second' },
      'sub/': { kind: 'dir' },
    });
    const kept = readTree(trash);
    for (const p of ['extra.txt', 'sub/extra2', 'olddir/a', 'olddir/nested/b', 'oldlink'])
      assert.deepEqual(kept[p], old[p], `${p} kept exactly as it was on B`);
    // Deleted: 4 files, 1 link, 3 directories.
    assert.deepEqual(counts(r), { ...ZERO, deleted: 8 });
  });

  test('S7 updates: the new version lands, the old one is kept in the trash', async (t) => {
    const { A, B } = roots(
      t,
      {
        'f.txt': { content: 'new version, longer', mtime: T2, mode: 0o640 },
        'sub/g': { content: 'G2', mtime: T3 },
        sub: { dir: true, mtime: T1 },
        link: { link: 'new-target' },
      },
      {
        'f.txt': { content: 'old', mtime: T1, mode: 0o644 },
        'sub/g': { content: 'G1', mtime: T1 },
        sub: { dir: true, mtime: T1 },
        link: { link: 'old-target', mtime: T1 },
      },
    );
    const old = readTree(B);
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    const trash = onlyTrash(B);
    assert.deepEqual(contents(trash), {
      'f.txt': { kind: 'file', content: 'old' },
      link: { kind: 'symlink', target: 'old-target' },
      'sub/g': { kind: 'file', content: 'G1' },
      'sub/': { kind: 'dir' },
    });
    const kept = readTree(trash);
    for (const p of ['f.txt', 'sub/g']) assert.deepEqual(kept[p], old[p]);
    assert.deepEqual(counts(r), { ...ZERO, updated: 3, bytesCopied: 21 });
  });

  test('S7 kind changes file -> dir and dir -> file: the old entry goes to the trash', async (t) => {
    const { A, B } = roots(
      t,
      {
        'was-file/inner.txt': { content: 'now a dir', mtime: T2 },
        'was-dir': { content: 'now a file', mtime: T2 },
        'was-link/x': 'x',
      },
      {
        'was-file': { content: 'I was a file', mtime: T1 },
        'was-dir/child.txt': { content: 'child', mtime: T1 },
        'was-dir/deeper/c2': { content: 'c2', mtime: T1 },
        'was-link': { link: 'somewhere' },
      },
    );
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    assert.deepEqual(contents(B), {
      'was-dir': { kind: 'file', content: 'now a file' },
      'was-file/inner.txt': { kind: 'file', content: 'now a dir' },
      'was-file/': { kind: 'dir' },
      'was-link/x': { kind: 'file', content: 'x' },
      'was-link/': { kind: 'dir' },
    });
    assert.deepEqual(contents(onlyTrash(B)), {
      'was-dir/child.txt': { kind: 'file', content: 'child' },
      'was-dir/deeper/c2': { kind: 'file', content: 'c2' },
      'was-dir/deeper/': { kind: 'dir' },
      'was-dir/': { kind: 'dir' },
      'was-file': { kind: 'file', content: 'I was a file' },
      'was-link': { kind: 'symlink', target: 'somewhere' },
    });
  });

  test('directory mtimes and modes are set on an existing B too, read-only directories included', async (t) => {
    const { A, B } = roots(
      t,
      {
        'ro/f': { content: 'new f', mtime: T2 },
        ro: { dir: true, mode: 0o555, mtime: T1 },
        priv: { dir: true, mode: 0o700, mtime: T2 },
        'open/x': { content: 'x', mtime: T1 },
        open: { dir: true, mode: 0o777, mtime: T3 },
      },
      {
        'ro/f': { content: 'old', mtime: T1 },
        'ro/gone': 'extra in a read-only dir',
        ro: { dir: true, mode: 0o555, mtime: T3 },
        priv: { dir: true, mode: 0o755, mtime: T1 },
        'open/x': { content: 'x', mtime: T1 },
        open: { dir: true, mode: 0o755, mtime: T3 },
      },
    );
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    assert.equal(readTree(B)['ro/']?.mode, 0o555);
    const c = counts(r);
    assert.equal(c.updated, 1, 'ro/f');
    assert.equal(c.deleted, 1, 'ro/gone');
    assert.equal(c.metadataUpdated, 3, 'ro/ (mtime), priv/ and open/ (mode)');
  });

  test('directories B keeps closed to their owner (no u+w) are filled and emptied in one run by a non-root user', async (t) => {
    const { dir, A, B } = roots(
      t,
      {
        'opened/new': 'new in a directory A opened',
        opened: { dir: true, mode: 0o755, mtime: T1 },
        'closed/new': 'new in a directory closed on both sides',
        'closed/f': { content: 'changed', mtime: T2 },
        closed: { dir: true, mode: 0o555, mtime: T2 },
      },
      {
        opened: { dir: true, mode: 0o555, mtime: T1 },
        'closed/f': { content: 'old', mtime: T1 },
        'closed/extra': 'extra',
        closed: { dir: true, mode: 0o555, mtime: T2 },
        'gone/x': 'in an extra directory closed on B',
        gone: { dir: true, mode: 0o555, mtime: T1 },
      },
    );
    makeTree(B, { '.': { dir: true, mode: 0o555, mtime: T1 } } as Spec);
    writeFileSync(join(A, 'top'), 'new at the top of a closed B');
    utimesSync(A, T1, T1);
    const as = prepareForNobody(dir);
    const r = await cli(['mirror', A, B, '--json'], as);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    assert.equal(readTree(B)['closed/']?.mode, 0o555, 'closed again once filled');
    assert.equal(rootMeta(B).mode, rootMeta(A).mode);
    const c = counts(r);
    assert.deepEqual([c.created, c.updated, c.deleted], [3, 1, 3]);
    assert.equal(c.metadataUpdated, 2, "opened/ and B's root (modes); none for opening closed/");
    const again = await cli(['mirror', A, B, '--json'], as);
    assert.deepEqual(counts(again), ZERO);
  });

  test('kind changes in and of directories B keeps closed to their owner: one run by a non-root user', async (t) => {
    const { dir, A, B } = roots(
      t,
      {
        'swap/k': 'a file where B has a folder',
        swap: { dir: true, mode: 0o555, mtime: T1 },
        tofile: 'a file where B has a closed folder',
      },
      {
        'swap/k/inner': 'inside',
        swap: { dir: true, mode: 0o555, mtime: T1 },
        'tofile/inner': 'inside',
        tofile: { dir: true, mode: 0o555, mtime: T1 },
      },
    );
    const as = prepareForNobody(dir);
    const r = await cli(['mirror', A, B, '--json'], as);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    assert.equal(readTree(B)['swap/']?.mode, 0o555);
    const again = await cli(['mirror', A, B, '--json'], as);
    assert.deepEqual(counts(again), ZERO);
  });

  test("B's root directory takes A's root mode and mtime when B exists", async (t) => {
    const { A, B } = roots(
      t,
      { f: { content: 'f', mtime: T1 } },
      { f: { content: 'f', mtime: T1 } },
    );
    makeTree(A, { '.': { dir: true, mode: 0o750, mtime: T2 } } as Spec);
    const r = await cli(['mirror', A, B]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(rootMeta(B), rootMeta(A));
  });

  test('S12 a second run changes nothing: summary counts all zero, not a byte or inode touched', async (t) => {
    const { dir, A, B } = roots(t, RICH, {
      'top.txt': 'stale',
      'extra/x': 'x',
      'sub/a.txt': { content: 'aaa', mtime: T3 },
      ro: { dir: true, mode: 0o700 },
    });
    withOutside(dir);
    const first = await cli(['mirror', A, B, '--json']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    const before = fingerprint(dir);
    const second = await cli(['mirror', A, B, '--json']);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(counts(second), ZERO);
    assert.deepEqual(summaryOf(second).problems, []);
    assert.deepEqual(fingerprint(dir), before);
    assert.equal(trashStamps(B).length, 1, 'the second run made no trash directory');
  });

  test('S25 a same-size edit within --modify-window of the copied mtime is copied by the next run (A changed after the last clean run began); the run after plans nothing and reads nothing', async (t) => {
    const { A, B } = roots(t, {
      'f.txt': { content: 'aaaa', mtime: T1 + 0.2 },
      'g.txt': { content: 'keep', mtime: T1 },
    });
    const first = await cli(['mirror', A, B, '--modify-window', '1', '--json']);
    assert.equal(first.code, 0, first.stderr);
    // Within the window of what B holds, same size: the quick check alone calls it unchanged.
    writeFileSync(join(A, 'f.txt'), 'bbbb');
    utimesSync(join(A, 'f.txt'), T1 + 0.7, T1 + 0.7);
    const second = await cli(['mirror', A, B, '--modify-window', '1', '--json']);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(counts(second), { ...ZERO, updated: 1, bytesCopied: 4 });
    assert.equal(readFileSync(join(B, 'f.txt'), 'utf8'), 'bbbb');
    const third = await cli(['mirror', A, B, '--modify-window', '1', '--json']);
    assert.deepEqual(counts(third), ZERO);
    assert.equal(summaryOf(third).hashed, 0, 'nothing changed since the last clean run began');
  });

  test('the start of a run is remembered for the racy check only after a real run that left no file behind (not a dry run)', async (t) => {
    const { A, B } = roots(t, { 'f.txt': 'x' });
    const recorded = () => {
      const db = openStateDb(process.env.CONCORD_HOME as string);
      try {
        return db
          .prepare('SELECT clean_started_ms FROM oneway_runs WHERE src = ? AND dst = ?')
          .pluck()
          .get(`path:${realpathSync(A)}`, `path:${join(realpathSync(dirname(B)), 'B')}`) as
          | number
          | undefined;
      } finally {
        db.close();
      }
    };
    assert.equal((await cli(['mirror', A, B, '--dry-run'])).code, 0);
    assert.equal(recorded(), undefined);
    const before = Date.now();
    assert.equal((await cli(['mirror', A, B])).code, 0);
    const first = recorded();
    assert.ok(first !== undefined && first >= before && first <= Date.now(), `${first}`);
    assert.equal((await cli(['mirror', A, B])).code, 0);
    assert.ok((recorded() as number) >= first);
  });

  test("S12 a run that only deletes deep inside B leaves B's root in sync for the next run", async (t) => {
    const { A, B } = roots(t, { 'sub/keep': { content: 'k', mtime: T1 } });
    const first = await cli(['mirror', A, B]);
    assert.equal(first.code, 0, first.stderr);
    writeFileSync(join(B, 'sub', 'extra'), 'extra');
    const second = await cli(['mirror', A, B, '--json']);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(counts(second), { ...ZERO, deleted: 1, metadataUpdated: 1 }, 'sub/ mtime');
    assert.deepEqual(readTree(B), readTree(A));
    const third = await cli(['mirror', A, B, '--json']);
    assert.equal(third.code, 0, third.stderr);
    assert.deepEqual(
      counts(third),
      ZERO,
      'creating B/.concord/trash must not leave B/ out of sync',
    );
    assert.deepEqual(rootMeta(B), rootMeta(A));
  });

  test(".concord/ in A is never copied, and B's .concord/ is never deleted", async (t) => {
    // A day old: a run's trash older than 30 days expires after the run (README, Trash).
    const kept = runDirName(new Date(Date.now() - 86_400_000));
    const { A, B } = roots(
      t,
      {
        f: 'f',
        '.concord/trash/20200101-000000/old': 'A trash',
        '.concord/state.db': 'A state',
      },
      {
        gone: 'gone',
        '.concord/keep.txt': { content: 'B state', mtime: T1 },
        [`.concord/trash/${kept}/older`]: { content: 'older trash', mtime: T1 },
      },
    );
    const r = await cli(['mirror', A, B]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(contents(B), { f: { kind: 'file', content: 'f' } });
    const state = readTree(join(B, '.concord'));
    const stamps = trashStamps(B);
    assert.equal(stamps.length, 2, 'the old run and this one');
    const fresh = `trash/${stamps[1]}/`;
    assert.deepEqual(
      Object.keys(state).filter((p) => !p.startsWith(fresh)),
      ['keep.txt', `trash/${kept}/older`, `trash/${kept}/`, 'trash/'],
    );
    assert.equal(state[`${fresh}gone`]?.content, 'gone');
    assert.equal(readFileSync(join(B, '.concord', 'keep.txt'), 'utf8'), 'B state');
    assert.equal(state['keep.txt']?.mtimeUs, BigInt(T1) * 1_000_000n);
    assert.deepEqual(contents(join(A, '.concord')), {
      'state.db': { kind: 'file', content: 'A state' },
      'trash/20200101-000000/old': { kind: 'file', content: 'A trash' },
      'trash/20200101-000000/': { kind: 'dir' },
      'trash/': { kind: 'dir' },
    });
  });

  test('S14 leftover .concord-tmp-* files in B are removed on the next run; those in A are never copied', async (t) => {
    const { A, B } = roots(
      t,
      {
        f: { content: 'f', mtime: T1 },
        '.concord-tmp-1a2b3c4d-f': 'half-written in A',
        'sub/.concord-tmp-deadbeef-g': 'half-written in A/sub',
        'sub/g': { content: 'g', mtime: T1 },
      },
      {
        f: { content: 'f', mtime: T1 },
        '.concord-tmp-00000000-f': 'torn copy',
        'sub/.concord-tmp-11111111-g': 'torn copy',
      },
    );
    const r = await cli(['mirror', A, B]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(contents(B), {
      f: { kind: 'file', content: 'f' },
      'sub/g': { kind: 'file', content: 'g' },
      'sub/': { kind: 'dir' },
    });
    assert.deepEqual(tempFiles(B), []);
    assert.deepEqual(tempFiles(A).sort(), [
      '.concord-tmp-1a2b3c4d-f',
      'sub/.concord-tmp-deadbeef-g',
    ]);
  });

  test("S4 a user's own files named like our temporary ones are copied like any other; one only on B goes to the trash, never deleted for good", async (t) => {
    const { A, B } = roots(
      t,
      { '.concord-tmp-notes': 'my notes', 'sub/.concord-tmp-': 'just the prefix' },
      { '.concord-tmp-mine': 'mine on B' },
    );
    const r = await cli(['mirror', A, B]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(contents(B), {
      '.concord-tmp-notes': { kind: 'file', content: 'my notes' },
      'sub/': { kind: 'dir' },
      'sub/.concord-tmp-': { kind: 'file', content: 'just the prefix' },
    });
    assert.deepEqual(contents(onlyTrash(B)), {
      '.concord-tmp-mine': { kind: 'file', content: 'mine on B' },
    });
  });

  test('S14 after a normal run no .concord-tmp-* file remains anywhere (small, large, updated files)', async (t) => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'x');
    const spec: Spec = { 'big.bin': { content: big, mtime: T1 }, 'big2.bin': { content: big } };
    for (let i = 0; i < 40; i++) spec[`many/f${i}`] = `file ${i}`;
    const { dir, A, B } = roots(t, spec, {
      'big.bin': { content: Buffer.alloc(100, 'y') },
      'many/f1': 'old',
      'many/f2': 'old',
    });
    const r = await cli(['mirror', A, B, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readTree(B), readTree(A));
    assert.deepEqual(tempFiles(dir), []);
    assert.equal(lstatSync(join(B, 'big.bin')).size, big.length);
  });
});

test('S17 paths longer than the system takes (4,096 bytes): mirror and backup report the directory they cannot list and finish with a summary, exit 3, the rest copied', async (t) => {
  const { dir, A } = roots(t, { top: 'top' });
  // Made one relative step at a time (python3's os.chdir): no path could name the deepest one.
  const made = spawnSync('python3', [
    '-c',
    `import os, sys
os.chdir(sys.argv[1])
for i in range(25):
    n = 'd%02d' % i + 'y' * 200
    os.mkdir(n)
    os.chdir(n)
open('leaf', 'w').write('leaf')`,
    A,
  ]);
  assert.equal(made.status, 0, String(made.stderr));
  try {
    for (const cmd of ['mirror', 'backup']) {
      const B = join(dir, `to-${cmd}`);
      const r = await cli([cmd, A, B]);
      assert.equal(r.code, 3, `${cmd}: ${r.stderr}`);
      assert.match(r.stdout, /created/, `${cmd}: a summary`);
      assert.doesNotMatch(r.stderr, /internal error/);
      assert.match(
        r.stderr,
        /name too long \(ENAMETOOLONG\) \(its path is longer than the system takes/,
      );
      assert.equal(readFileSync(join(B, 'top'), 'utf8'), 'top');
    }
  } finally {
    // rmSync (the temporary folder's cleanup) cannot name it either: rmtree goes by descriptor.
    const deep = join(A, `d00${'y'.repeat(200)}`);
    spawnSync('python3', ['-c', 'import shutil, sys; shutil.rmtree(sys.argv[1])', deep]);
  }
});

test('a destination inside the source is let in when the source leaves it out (--exclude, .concordignore), as rsync --exclude does; without the rule it is refused naming the rule', async (t) => {
  const { A } = roots(t, { 'a.txt': 'a', 'docs/d.txt': 'd' });
  const B = join(A, 'backup');
  const refused = await cli(['mirror', A, B]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /lies inside the source .*--exclude \/backup\)\n$/);
  assert.equal(existsSync(B), false, 'nothing made');

  for (const args of [
    ['mirror', A, B, '--exclude', '/backup'],
    ['mirror', A, B, '--exclude', '/backup'],
    ['mirror', '--checksum', A, B, '--exclude', 'backup/'],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  const outsideB = Object.entries(contents(A)).filter(([k]) => !/^backup(\/|$)/.test(k));
  assert.deepEqual(contents(B), Object.fromEntries(outsideB), 'A without its backup, once');
  assert.equal(existsSync(join(B, 'backup')), false, 'never a copy of B inside B');

  // The rule in A's .concordignore does the same, for backup too; a rule taken back is no rule.
  writeFileSync(join(A, '.concordignore'), '/history/\n');
  const H = join(A, 'history');
  for (let i = 0; i < 2; i++) assert.equal((await cli(['backup', A, H])).code, 0);
  assert.equal(existsSync(join(H, 'history')), false);
  assert.equal(readFileSync(join(H, 'docs', 'd.txt'), 'utf8'), 'd');
  const back = await cli([
    'mirror',
    A,
    join(A, 'again'),
    '--exclude',
    '/again',
    '--include',
    '/again',
  ]);
  assert.equal(back.code, 2);
  assert.match(back.stderr, /lies inside the source/);
  // Two-way has no such way out: A's changes and B's would meet in one tree.
  const tw = await cli(['sync', A, join(A, 'tw'), '--exclude', '/tw']);
  assert.equal(tw.code, 2);
  assert.match(
    tw.stderr,
    /lies inside the source .*\(choose a destination outside the source\)\n$/,
  );
});

test('a reader that goes away (| head -1): the run goes on to its end, exit 0, no stack trace', async (t) => {
  const files: Spec = {};
  for (let i = 0; i < 300; i++) files[`d${i % 10}/f${i}.txt`] = `file ${i}`;
  const { A, B } = roots(t, files);
  // stdout is a pipe whose reader closes it at once, as `head -1` does after one line.
  const child = spawn(process.execPath, [CLI, 'mirror', '--json', A, B], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const [code] = await once(child, 'exit');
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.deepEqual(contents(B), contents(A));
});
