/**
 * Concord's own state directory inside a root: the default ~/.local/share/concord when a home
 * directory is backed up, mirrored or synced. It is left out as if excluded: not copied (its
 * database changes while the run reads it), not deleted or overwritten where it lies in the
 * destination (the run has it open), and not listed by index or status.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTree, runCli, tempDir } from '../helpers/tree.ts';

const STATE = join('.local', 'share', 'concord');

test('a state directory inside the source is not synced: mirror, --checksum and two-way runs end clean, and index and status do not list it', async (t) => {
  const dir = tempDir(t);
  const A = join(dir, 'home');
  makeTree(A, { 'notes.txt': 'n', 'docs/a.txt': 'a', '.local/share/other/keep.txt': 'k' });
  const env = { CONCORD_HOME: join(A, STATE) };
  const B = join(dir, 'B');
  for (const args of [
    ['mirror', A, B],
    ['mirror', '--checksum', A, B],
    ['mirror', '--checksum', A, B],
  ]) {
    const r = await runCli(args, { env });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, '');
  }
  assert.ok(existsSync(join(A, STATE, 'state.db')), 'the state was where it was asked to be');
  assert.equal(existsSync(join(B, STATE)), false, 'not copied');
  assert.equal(readFileSync(join(B, '.local/share/other/keep.txt'), 'utf8'), 'k');

  const C = join(dir, 'C');
  for (let i = 0; i < 2; i++) {
    const r = await runCli(['sync', A, C], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  }
  assert.equal(existsSync(join(C, STATE)), false, 'not carried to the other side');
  assert.equal(readFileSync(join(C, 'docs/a.txt'), 'utf8'), 'a');

  const index = await runCli(['index', A], { env });
  assert.equal(index.code, 0, index.stderr);
  assert.match(index.stdout, /^Indexed .*: 3 files /);
  const status = await runCli(['status', A], { env });
  assert.equal(status.code, 0, status.stderr);
  assert.equal(status.stdout, '', 'the database written meanwhile is no change of the root');
});

test('a state directory inside the destination is left alone by mirror: not deleted, not trashed, while the run has it open', async (t) => {
  const dir = tempDir(t);
  const A = join(dir, 'A');
  makeTree(A, { 'a.txt': 'a', '.local/share/x.txt': 'x' });
  const B = join(dir, 'home');
  makeTree(B, { 'old.txt': 'o' });
  const env = { CONCORD_HOME: join(B, STATE) };
  const r = await runCli(['mirror', A, B], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(B, STATE, 'state.db')), 'the state database is still there');
  assert.deepEqual(readdirSync(join(B, '.local', 'share')).sort(), ['concord', 'x.txt']);
  assert.equal(existsSync(join(B, 'old.txt')), false, 'the rest is mirrored as ever');
  const again = await runCli(['mirror', A, B], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, / 0 created, 0 updated, 0 deleted/);
});

test('S21 a folder that becomes the state directory of a two-way pair is untracked, never deleted, on either side', async (t) => {
  const dir = tempDir(t);
  const A = join(dir, 'A');
  const C = join(dir, 'C');
  makeTree(A, { 'notes.txt': 'n', [`${STATE}/old.txt`]: 'synced before' });
  const outside = join(dir, 'home');
  const first = await runCli(['sync', A, C], { env: { CONCORD_HOME: outside } });
  assert.equal(first.code, 0, first.stderr);
  assert.equal(readFileSync(join(C, STATE, 'old.txt'), 'utf8'), 'synced before');
  // The same state (the pair's ancestors) now kept in that folder: it is left out from here on.
  cpSync(outside, join(A, STATE), { recursive: true });
  for (let i = 0; i < 2; i++) {
    const r = await runCli(['sync', A, C], { env: { CONCORD_HOME: join(A, STATE) } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, / 0 deleted/);
  }
  assert.equal(readFileSync(join(C, STATE, 'old.txt'), 'utf8'), 'synced before', 'kept on C');
  assert.equal(readFileSync(join(A, STATE, 'old.txt'), 'utf8'), 'synced before', 'kept on A');
  assert.equal(existsSync(join(C, STATE, 'state.db')), false, 'the database not carried over');
});
