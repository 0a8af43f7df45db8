/**
 * S27: a root restored from a backup (or a copy of it made with its .concord/ folder) carries
 * the same root id but is older than the pair's ancestor. Synced against that ancestor, what
 * was added since would look deleted there and what was edited since would look edited back.
 * Each run gives both roots a token; a root without the pair's token makes the run a first
 * sync (S13): a merge that deletes and reverts nothing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI } from '../helpers/tree.ts';
import {
  cli,
  contents,
  counts,
  fingerprint,
  put,
  synced,
  T1,
  T2,
  T3,
  trashStamps,
  ZERO,
} from './helpers.ts';

const NOTICE =
  /B is not as the last sync of this pair left it \(restored from a backup, or a copy\?\): this sync is a first sync, a merge that deletes nothing/;

/** A pair synced, B saved aside, then A's changes synced: B's saved copy is a run behind. */
async function restoredB(t: Parameters<typeof synced>[0]) {
  const r = await synced(t, {
    'doc.txt': { content: 'first draft', mtime: T1 },
    'keep.txt': { content: 'unchanged', mtime: T1 },
  });
  const saved = join(r.dir, 'B-saved');
  cpSync(r.B, saved, { recursive: true, preserveTimestamps: true });
  put(r.A, 'doc.txt', 'second draft, written after the backup', T2);
  put(r.A, 'new.txt', 'added after the backup', T2);
  const second = await cli(['sync', r.A, r.B]);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(contents(r.B)['new.txt']?.content, 'added after the backup');
  // B's disk is restored from the backup taken before the second sync.
  rmSync(r.B, { recursive: true });
  cpSync(saved, r.B, { recursive: true, preserveTimestamps: true });
  return r;
}

test('S27 a root restored from an older backup: the sync is a first sync (S13), nothing deleted or reverted on the other side, and it says so', async (t) => {
  const { A, B } = await restoredB(t);
  const r = await cli(['sync', A, B, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, NOTICE);
  assert.equal(counts(r).deleted, 0, 'S13: nothing deleted');
  // Without the check, new.txt looked deleted on B (deleted on A) and doc.txt looked edited
  // back on B (the first draft replaced the second on A).
  assert.equal(contents(A)['new.txt']?.content, 'added after the backup');
  assert.equal(contents(A)['doc.txt']?.content, 'second draft, written after the backup');
  assert.equal(contents(B)['new.txt']?.content, 'added after the backup');
  // The two drafts differ with no ancestor: a conflict, both kept (keep-both), A's newer one
  // under the name.
  assert.equal(contents(B)['doc.txt']?.content, 'second draft, written after the backup');
  const copies = Object.entries(contents(A)).filter(([p]) => p.startsWith('doc.conflict-B-'));
  assert.deepEqual(
    copies.map(([, s]) => s.content),
    ['first draft'],
  );
  assert.deepEqual(contents(A), contents(B));
  assert.deepEqual(trashStamps(A), [], 'nothing of A went to the trash');

  const again = await cli(['sync', A, B, '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stderr, /not as the last sync/, 'the tokens agree again');
  assert.deepEqual(counts(again), ZERO, 'S12: then in sync');
});

test('S27 a dry run on a restored root plans the first sync and forgets nothing: the real run after it still finds B restored', async (t) => {
  const { A, B } = await restoredB(t);
  const dry = await cli(['sync', A, B, '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, NOTICE);
  assert.equal(counts(dry).deleted, 0);
  assert.equal(contents(A)['new.txt']?.content, 'added after the backup', 'nothing written');
  const r = await cli(['sync', A, B]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, NOTICE);
  assert.equal(contents(A)['doc.txt']?.content, 'second draft, written after the backup');
  assert.equal(contents(A)['new.txt']?.content, 'added after the backup');
});

test('S27 a copy of a root taken right after a sync is that root as the ancestor knows it: syncing the copy is an ordinary sync, and then the original is the stale one', async (t) => {
  const { dir, A, B } = await synced(t, { 'a.txt': { content: 'a', mtime: T1 } });
  const copy = join(dir, 'B-copy');
  cpSync(B, copy, { recursive: true, preserveTimestamps: true });
  put(A, 'b.txt', 'b', T3);
  rmSync(join(A, 'a.txt'));
  const r = await cli(['sync', A, copy, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /not as the last sync/);
  assert.equal(counts(r).deleted, 1, 'the deletion on A is carried to the copy');
  assert.deepEqual(contents(copy), contents(A));
  // B itself is now a run behind: it holds a.txt, which the last sync deleted.
  const back = await cli(['sync', A, B, '--json']);
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stderr, NOTICE);
  assert.equal(counts(back).deleted, 0);
  assert.equal(contents(A)['a.txt']?.content, 'a', 'merged back, not deleted from B');
});

test('a token path that is a folder on a new pair: refused before the run, one line naming it, exit 2, nothing written', async (t) => {
  const { dir, A } = await synced(t, { 'a.txt': { content: 'a', mtime: T1 } });
  const C = join(dir, 'C');
  mkdirSync(C);
  put(C, 'c.txt', 'c', T1);
  // C is new to A: the pair A-C has no token yet, and A's token path for C is a folder.
  const index = await cli(['index', C]);
  assert.equal(index.code, 0, index.stderr);
  const idC = readFileSync(join(C, '.concord', 'root-id'), 'utf8').trim();
  mkdirSync(join(A, '.concord', 'synced', idC), { recursive: true });
  const before = fingerprint(dir);
  const r = await cli(['sync', A, C]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^concord: .*synced\/[0-9a-f]+: cannot read the pair's sync token/m);
  assert.deepEqual(fingerprint(dir), before);
});

test('S27 with S15: a sync killed between giving A its new token and giving B its own is no restored root: the next sync is an ordinary one and carries a deletion', async (t) => {
  const { A, B } = await synced(t, {
    'keep.txt': { content: 'k', mtime: T1 },
    'gone.txt': { content: 'g', mtime: T1 },
  });
  const idA = readFileSync(join(A, '.concord', 'root-id'), 'utf8').trim();
  const idB = readFileSync(join(B, '.concord', 'root-id'), 'utf8').trim();
  const tokenOfB = join(B, '.concord', 'synced', idA);
  const old = readFileSync(tokenOfB, 'utf8');
  rmSync(join(A, 'gone.txt'));
  // strace kills the run at its second rename: with only a deletion to carry, and no trash,
  // its renames are the two tokens', A's then B's (the assertions below check it was so).
  const killed = spawnSync(
    'strace',
    [
      '-f',
      '-qq',
      '-o',
      '/dev/null',
      '-e',
      'trace=rename,renameat,renameat2',
      '-e',
      'inject=rename,renameat,renameat2:signal=KILL:when=2',
      process.execPath,
      CLI,
      'sync',
      A,
      B,
      '--no-trash',
    ],
    { encoding: 'utf8' },
  );
  assert.equal(killed.signal ?? killed.status, killed.signal ? 'SIGKILL' : 137, killed.stderr);
  assert.equal(readFileSync(tokenOfB, 'utf8'), old, "B still holds the pair's last token");
  assert.notEqual(
    readFileSync(join(A, '.concord', 'synced', idB), 'utf8'),
    old,
    'A holds the one the run was giving',
  );
  const r = await cli(['sync', A, B, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /not as the last sync/);
  assert.equal(contents(B)['gone.txt'], undefined, 'the deletion on A reached B: no first sync');
  assert.equal(contents(A)['gone.txt'], undefined, 'and was not merged back');
  assert.deepEqual(contents(A), contents(B));
});
